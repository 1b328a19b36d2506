"""`tools/list`: names, argument names, annotations, the size budget, filtering, and a schema
snapshot per tool (run with UPDATE_SNAPSHOTS=1 to accept a change on purpose)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import Tool

from server.app import build_server
from server.settings import Settings
from tests.server.conftest import Connect, with_settings

SNAPSHOTS = Path(__file__).with_name("snapshots")
SIZE_LIMIT = 7000  # the original 14 tools (the MCP server issue)
DEFAULT_LIST_LIMIT = 8500  # every tool offered by default
PULL_TOOLS = {"pull_status", "cancel_pull"}  # issue 16: outside the original 14 tools' budget

ARGUMENTS: dict[str, tuple[list[str], list[str]]] = {  # required, optional
    "list_models": ([], []),
    "show_model": (["name"], ["include"]),
    "list_running": ([], []),
    "pull_model": (["name"], ["insecure", "background"]),
    "pull_status": ([], ["name"]),
    "cancel_pull": (["name"], []),
    "push_model": (["name"], ["insecure"]),
    "copy_model": (["source", "destination"], []),
    "delete_model": (["name"], []),
    "create_model": (["name"], ["modelfile", "modelfile_path", "quantize"]),
    "generate_modelfile": (
        ["base_model"],
        ["adapter_path", "system_prompt", "template", "parameters", "messages", "license"],
    ),
    "package_adapter": (
        ["path", "name", "base_model"],
        ["system_prompt", "template", "parameters", "push", "quantize"],
    ),
    "generate": (
        ["model", "prompt"],
        ["system", "options", "format", "think", "images", "keep_alive"],
    ),
    "chat": (["model", "messages"], ["tools", "options", "format", "think", "keep_alive"]),
    "embed": (["model", "input"], []),
    "ollama_status": ([], []),
    "browse_library": ([], ["query", "local_only"]),
}
OPEN_WORLD = {"pull_model", "push_model", "browse_library"}
WRITES = {
    "pull_model",
    "cancel_pull",
    "push_model",
    "copy_model",
    "delete_model",
    "create_model",
    "package_adapter",
}


def published(tool: Tool) -> dict[str, Any]:
    return tool.model_dump(by_alias=True, exclude_none=True, mode="json")


async def tool_names(settings: Settings) -> set[str]:
    async with Client(build_server(settings)) as client:
        return {tool.name for tool in (await client.list_tools()).tools}


async def test_every_tool_with_its_fixed_arguments(connect: Connect) -> None:
    async with connect() as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == set(ARGUMENTS)
    for name, (required, optional) in ARGUMENTS.items():
        schema = tools[name].input_schema
        assert list(schema["properties"]) == required + optional, name
        assert schema.get("required", []) == required, name
        assert tools[name].title, name
        assert tools[name].output_schema is not None, name


async def test_annotations_are_honest(connect: Connect) -> None:
    async with connect() as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    for name, tool in tools.items():
        hints = tool.annotations
        assert hints is not None
        assert bool(hints.read_only_hint) is (name not in WRITES), name  # absent: false
        assert hints.open_world_hint is (name in OPEN_WORLD), name
    assert tools["delete_model"].annotations.destructive_hint is True  # type: ignore[union-attr]
    assert tools["create_model"].annotations.destructive_hint is True  # type: ignore[union-attr]
    assert tools["pull_model"].annotations.destructive_hint is False  # type: ignore[union-attr]


async def test_tools_list_without_output_schemas_fits_the_budget(connect: Connect) -> None:
    async with connect() as client:
        tools = (await client.list_tools()).tools
    # the original 14, pull_status, cancel_pull and browse_library; web tools are off by default
    assert len(tools) == 17
    # The budget holds for the original 14 tools; the whole default list has its own.
    originals = [t for t in tools if t.name != "browse_library" and t.name not in PULL_TOOLS]
    assert wire_size(originals) < SIZE_LIMIT, wire_size(originals)
    assert wire_size(tools) < DEFAULT_LIST_LIMIT, wire_size(tools)


def wire_size(tools: list[Tool]) -> int:
    """Characters of `tools` in `tools/list`, compact JSON, without output schemas."""
    wire = [{k: v for k, v in published(tool).items() if k != "outputSchema"} for tool in tools]
    return len(json.dumps(wire, separators=(",", ":")))


async def test_read_only_leaves_out_every_tool_that_changes_state(settings: Settings) -> None:
    names = await tool_names(with_settings(settings, read_only=True))
    assert names == set(ARGUMENTS) - WRITES


async def test_toolsets_pick_groups(settings: Settings) -> None:
    names = await tool_names(with_settings(settings, toolsets=("inference", "registry")))
    assert names == {
        "generate", "chat", "embed", "pull_model", "push_model", "pull_status", "cancel_pull"
    }  # fmt: skip


async def test_push_model_exists_only_with_allow_push(settings: Settings) -> None:
    names = await tool_names(with_settings(settings, allow_push=False))
    assert names == set(ARGUMENTS) - {"push_model"}


@pytest.mark.parametrize("name", sorted(ARGUMENTS))
async def test_published_schema_matches_its_snapshot(settings: Settings, name: str) -> None:
    async with Client(build_server(settings)) as client:
        tool = next(t for t in (await client.list_tools()).tools if t.name == name)
    current = {
        key: value
        for key, value in published(tool).items()
        if key in ("name", "title", "description", "inputSchema", "outputSchema", "annotations")
    }
    path = SNAPSHOTS / f"{name}.json"
    text = json.dumps(current, indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.write_text(text)
    assert path.exists(), f"no snapshot for {name}: run with UPDATE_SNAPSHOTS=1 to write it"
    assert json.loads(path.read_text()) == current, (
        f"the published schema of {name} changed; if on purpose, rerun with UPDATE_SNAPSHOTS=1 "
        "and commit tests/server/snapshots/"
    )
