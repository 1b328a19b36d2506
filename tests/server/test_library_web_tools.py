"""The `library` and `web` toolsets through the real client: browse_library against installed
models, web search and fetch through the user's Ollama, the `web` toolset off unless asked for,
each error's text, ollama://library, the cloud in ollama_status, and the choose_model prompt."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from mcp import Client, MCPError

from server.app import build_server
from server.settings import DEFAULT_TOOLSETS, TOOLSETS, Settings, parse_args
from server.toolsets.web import MAX_CONTENT_CHARS, MAX_LINKS
from tests.ollama_double.cloud import RECOMMENDATIONS, SIGNIN_URL
from tests.ollama_double.server import OllamaDouble
from tests.server.conftest import Connect, with_settings
from tests.server.test_tools_list import SNAPSHOTS, published

WEB_TOOLS = {"web_search", "web_fetch"}
NEW_TOOLS = {"browse_library", *WEB_TOOLS}
PER_TOOL_BUDGET = 450  # tools/list characters for each of these tools, output schema left out
PULL_HINT = (
    "to get one, call pull_model with its name (or run `ollama pull NAME`); cloud models run on "
    "ollama.com and need `ollama signin`"
)


def text(result: Any) -> str:
    return str(result.content[0].text)


@asynccontextmanager
async def web_client(settings: Settings) -> AsyncIterator[Client]:
    async with Client(build_server(with_settings(settings, toolsets=TOOLSETS))) as client:
        yield client


async def tool_names(settings: Settings) -> set[str]:
    async with Client(build_server(settings)) as client:
        return {tool.name for tool in (await client.list_tools()).tools}


# --- the web toolset is off unless asked for -------------------------------------------------


def test_default_toolsets_leave_out_web_and_all_takes_it_in() -> None:
    assert "web" not in parse_args([], env={}).toolsets
    assert parse_args([], env={}).toolsets == DEFAULT_TOOLSETS
    assert "library" in DEFAULT_TOOLSETS
    assert parse_args(["--toolsets", "all"], env={}).toolsets == TOOLSETS
    assert parse_args(["--toolsets", "default,web"], env={}).toolsets == (*DEFAULT_TOOLSETS, "web")
    assert parse_args([], env={"OLLAMA_MCP_TOOLSETS": "web"}).toolsets == ("web",)


def test_an_unknown_toolset_names_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--toolsets", "webs"], env={})
    assert (
        "unknown toolset(s) webs; choose from models, registry, modelfile, packaging, "
        "inference, library, web (comma-separated), 'default' (all but web) or 'all'"
    ) in capsys.readouterr().err


async def test_web_tools_are_absent_by_default_and_offered_when_asked(
    settings: Settings, ollama_double: OllamaDouble
) -> None:
    default = await tool_names(with_settings(settings, toolsets=DEFAULT_TOOLSETS))
    assert "browse_library" in default and not WEB_TOOLS & default
    assert await tool_names(with_settings(settings, toolsets=("web",))) >= WEB_TOOLS
    assert await tool_names(with_settings(settings, toolsets=TOOLSETS)) >= WEB_TOOLS
    assert ollama_double.requests.count_prefix("POST", "/api/experimental/") == 0


async def test_new_tools_are_read_only_open_world_and_terse(settings: Settings) -> None:
    async with web_client(settings) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools if t.name in NEW_TOOLS}
    assert set(tools) == NEW_TOOLS
    for name, tool in tools.items():
        hints = tool.annotations
        assert hints is not None and hints.read_only_hint is True and hints.open_world_hint is True
        wire = {k: v for k, v in published(tool).items() if k != "outputSchema"}
        assert len(json.dumps(wire, separators=(",", ":"))) < PER_TOOL_BUDGET, name
    for name in WEB_TOOLS:
        assert "leaves the machine" in (tools[name].description or ""), name
    assert list(tools["web_search"].input_schema["properties"]) == ["query", "max_results"]
    assert tools["web_search"].input_schema["required"] == ["query"]
    assert list(tools["web_fetch"].input_schema["properties"]) == ["url"]


@pytest.mark.parametrize("name", sorted(WEB_TOOLS))
async def test_web_schema_matches_its_snapshot(settings: Settings, name: str) -> None:
    async with web_client(settings) as client:
        tool = next(t for t in (await client.list_tools()).tools if t.name == name)
    keys = ("name", "title", "description", "inputSchema", "outputSchema", "annotations")
    current = {key: value for key, value in published(tool).items() if key in keys}
    path = SNAPSHOTS / f"{name}.json"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    assert path.exists(), f"no snapshot for {name}: run with UPDATE_SNAPSHOTS=1 to write it"
    assert json.loads(path.read_text()) == current, f"the published schema of {name} changed"


# --- browse_library --------------------------------------------------------------------------


async def test_browse_library_marks_installed_models(connect: Connect) -> None:
    async with connect() as client:
        await client.call_tool("copy_model", {"source": "llama3.2", "destination": "gemma4"})
        result = await client.call_tool("browse_library", {})
    assert not result.is_error
    data = result.structured_content
    assert data is not None
    assert [m["name"] for m in data["models"]] == [r["model"] for r in RECOMMENDATIONS]
    assert (data["recommended"], data["installed_known"]) == (6, True)
    gemma = next(m for m in data["models"] if m["name"] == "gemma4")
    assert gemma == {
        "name": "gemma4",
        "description": "Reasoning and code generation locally",
        "runs_on": "local",
        "installed": True,
        "installed_as": "gemma4:latest",
        "context_length": None,
        "max_output_tokens": None,
        "vram_bytes": 12_000_000_000,
        "required_plan": None,
        "pull": "ollama pull gemma4",
    }
    assert [m["name"] for m in data["models"] if m["installed"]] == ["gemma4"]
    lines = text(result).splitlines()
    assert lines[0] == "6 of 6 recommended model(s), 1 installed"
    assert lines[1] == (
        "kimi-k2.6:cloud  cloud; context 262,144; not installed  - State-of-the-art coding, "
        "long-horizon execution, and multimodal agent swarm capability"
    )
    assert lines[5] == (
        "gemma4  local; needs 12.0 GB VRAM; installed as gemma4:latest  - Reasoning and code "
        "generation locally"
    )
    assert lines[-1] == PULL_HINT


async def test_browse_library_filters(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        coding = await client.call_tool("browse_library", {"query": "code", "local_only": True})
        none = await client.call_tool("browse_library", {"query": "quantum", "local_only": True})
    assert coding.structured_content is not None
    assert [m["name"] for m in coding.structured_content["models"]] == ["gemma4"]
    assert text(none).splitlines()[0] == (
        "none of the 6 recommended models matches 'quantum' and runs locally"
    )


async def test_a_refreshed_library_is_what_browse_library_shows(
    settings: Settings, ollama_double: OllamaDouble
) -> None:
    ollama_double.cloud.recommendations = [
        {"model": "tiny:cloud", "description": "d", "context_length": 8, "required_plan": "pro"}
    ]
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("browse_library", {})
    assert (
        text(result).splitlines()[1] == "tiny:cloud  cloud; context 8; plan pro; not installed  - d"
    )


async def test_browse_library_on_an_old_ollama_says_which_version_it_needs(
    settings: Settings, ollama_double: OllamaDouble
) -> None:
    ollama_double.faults.version = "0.22.0"
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("browse_library", {})
        with pytest.raises(MCPError) as caught:
            await client.read_resource("ollama://library")
    assert result.is_error
    expected = (
        "browse_library needs Ollama 0.22.1 or newer; Ollama 0.22.0 does not have it (404): "
        "upgrade Ollama (https://ollama.com/download)"
    )
    assert text(result) == f"Error executing tool browse_library: {expected}"
    assert "ollama://library needs Ollama 0.22.1 or newer" in caught.value.error.message


async def test_library_resource_lists_the_recommendations(connect: Connect) -> None:
    async with connect() as client:
        read = await client.read_resource("ollama://library")
    data = json.loads(read.contents[0].text)  # type: ignore[union-attr]
    assert [m["name"] for m in data["models"]] == [r["model"] for r in RECOMMENDATIONS]
    assert data["how_to_pull"] == PULL_HINT


# --- web_search and web_fetch ----------------------------------------------------------------


async def test_web_search_through_mcp(settings: Settings, ollama_double: OllamaDouble) -> None:
    async with web_client(settings) as client:
        result = await client.call_tool("web_search", {"query": "ollama", "max_results": 2})
    assert not result.is_error
    assert result.structured_content == {
        "query": "ollama",
        "results": [
            {
                "title": f"ollama - result {n}",
                "url": f"https://example.com/ollama/{n}",
                "content": f"Result {n} about ollama.",
            }
            for n in (1, 2)
        ],
    }
    assert text(result).splitlines()[:3] == [
        "2 result(s) for 'ollama'",
        "1. ollama - result 1 <https://example.com/ollama/1>",
        "   Result 1 about ollama.",
    ]
    body = ollama_double.requests.last_body("/api/experimental/web_search")
    assert body == {"query": "ollama", "max_results": 2}


async def test_web_search_max_results_out_of_range_is_refused(
    settings: Settings, ollama_double: OllamaDouble
) -> None:
    async with web_client(settings) as client:
        result = await client.call_tool("web_search", {"query": "q", "max_results": 11})
    assert result.is_error
    assert "max_results" in text(result) and "less than or equal to 10" in text(result)
    assert ollama_double.requests.count("POST", "/api/experimental/web_search") == 0


async def test_web_fetch_is_bounded_with_a_note(
    settings: Settings, ollama_double: OllamaDouble
) -> None:
    links = [f"https://a.example/{n}" for n in range(MAX_LINKS + 10)]
    ollama_double.cloud.add_page("https://a.example/", "Big", "x" * (MAX_CONTENT_CHARS + 5), links)
    ollama_double.cloud.add_page("https://b.example/", "Small", "short text")
    async with web_client(settings) as client:
        big = await client.call_tool("web_fetch", {"url": "https://a.example/"})
        small = await client.call_tool("web_fetch", {"url": "https://b.example/"})
    data = big.structured_content
    assert data is not None
    assert len(data["content"]) == MAX_CONTENT_CHARS and data["content_chars"] == 20_005
    assert (len(data["links"]), data["links_total"], data["truncated"]) == (50, 60, True)
    note = "text cut to the first 20,000 of 20,005 characters; links cut to the first 50 of 60"
    assert data["note"] == note
    assert text(big).split("\n\n")[:2] == ["Big <https://a.example/>", f"[{note}]"]
    assert small.structured_content is not None
    assert small.structured_content["truncated"] is False
    assert small.structured_content["note"] is None
    assert text(small) == "Small <https://b.example/>\n\nshort text"


async def test_web_fetch_refuses_a_url_that_is_not_http(
    settings: Settings, ollama_double: OllamaDouble
) -> None:
    async with web_client(settings) as client:
        result = await client.call_tool("web_fetch", {"url": "file:///etc/passwd"})
    assert text(result) == (
        "Error executing tool web_fetch: cannot fetch 'file:///etc/passwd': give an absolute "
        "http:// or https:// URL, e.g. https://ollama.com/blog"
    )
    assert ollama_double.requests.count("POST", "/api/experimental/web_fetch") == 0


WEB_CALLS = [
    ("web_search", {"query": "q"}, "web search"),
    ("web_fetch", {"url": "https://a.example"}, "web fetch"),
]


@pytest.mark.parametrize(("tool", "arguments", "what"), WEB_CALLS)
async def test_web_errors_say_what_to_do(
    settings: Settings,
    ollama_double: OllamaDouble,
    tool: str,
    arguments: dict[str, Any],
    what: str,
) -> None:
    faults = ollama_double.faults
    async with web_client(settings) as client:

        async def error() -> str:
            result = await client.call_tool(tool, arguments)
            assert result.is_error
            return text(result).removeprefix(f"Error executing tool {tool}: ")

        faults.cloud_disabled = "env"
        assert await error() == (
            f"{tool} needs Ollama's cloud features, which are disabled (ollama cloud is disabled: "
            f"{what} is unavailable): enable the cloud by unsetting OLLAMA_NO_CLOUD (and "
            '"disable_ollama_cloud" in ~/.ollama/server.json) where Ollama runs, then restart '
            "Ollama"
        )
        faults.reset()
        faults.signed_out = True
        assert await error() == (
            f"{tool} needs Ollama signed in to ollama.com (unauthorized): run `ollama signin` on "
            f"the machine Ollama runs on, or open {SIGNIN_URL}, then try again"
        )
        faults.reset()
        faults.upstream_down = True
        upstream = await error()
        assert upstream.startswith(f'Ollama could not reach ollama.com for {tool} (Post "https://')
        assert upstream.endswith(
            ": dial tcp: lookup ollama.com: no such host): check the internet connection (and "
            "any proxy) of the machine Ollama runs on, then try again"
        )
        faults.reset()
        faults.version = "0.17.7"
        assert await error() == (
            f"{tool} needs Ollama 0.17.8 or newer; Ollama 0.17.7 does not have it (404): upgrade "
            "Ollama (https://ollama.com/download)"
        )
        faults.reset()
        faults.upstream_error = (429, "rate limit exceeded")
        assert await error() == "Ollama error (HTTP 429): rate limit exceeded"


# --- ollama_status and choose_model ----------------------------------------------------------


async def test_ollama_status_reports_the_cloud(
    settings: Settings, ollama_double: OllamaDouble
) -> None:
    async with Client(build_server(settings)) as client:
        enabled = await client.call_tool("ollama_status", {})
        ollama_double.faults.cloud_disabled = "config"
        disabled = await client.call_tool("ollama_status", {})
    assert enabled.structured_content is not None and disabled.structured_content is not None
    assert enabled.structured_content["cloud_disabled"] is False
    assert enabled.structured_content["cloud_disabled_by"] is None
    assert text(enabled).splitlines()[-1] == "Ollama cloud: enabled"
    assert disabled.structured_content["cloud_disabled"] is True
    assert disabled.structured_content["cloud_disabled_by"] == "config"
    assert text(disabled).splitlines()[-1] == "Ollama cloud: disabled by config"


async def test_ollama_status_on_a_server_without_api_status(
    settings: Settings, ollama_double: OllamaDouble
) -> None:
    ollama_double.faults.version = "0.16.1"
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("ollama_status", {})
    assert not result.is_error
    assert result.structured_content is not None
    assert result.structured_content["cloud_disabled"] is None
    assert text(result).splitlines()[-1] == (
        "Ollama cloud: not reported (Ollama 0.16.2 or newer reports it)"
    )


async def test_choose_model_consults_installed_models_then_the_library(connect: Connect) -> None:
    async with connect() as client:
        prompt = await client.get_prompt("choose_model", {"task": "write Go code"})
    body = prompt.messages[0].content.text  # type: ignore[union-attr]
    assert "write Go code" in body
    assert body.index("Call list_models") < body.index("call browse_library")
    assert "ollama://library" in body and "pull_model" in body
