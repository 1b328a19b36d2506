"""The model library App's view with several hosts: which host has each model, runs each
loaded model and makes each pull, so that the page can name the host in every call."""

from __future__ import annotations

from typing import Any

from mcp import Client
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID

from server.app import build_server
from tests.adapter_factories import write_peft_dir
from tests.fleet.conftest import Hosts
from tests.fleet.test_hosts_mcp import data, load
from tests.server.test_building_tools import LLAMA_HIDDEN

APPS = [advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})]


async def view_of(client: Client) -> dict[str, Any]:
    return data(await client.call_tool("library_view", {}))


async def test_the_view_names_the_hosts_of_models_loads_and_pulls(hosts: Hosts) -> None:
    load(hosts["b"], "qwen3")
    async with Client(build_server(hosts.settings), extensions=APPS) as client:
        pulled = await client.call_tool("pull_model", {"name": "tinyllama", "host": "c"})
        assert not pulled.is_error
        view = await view_of(client)
    installed = {m["name"]: m for m in view["installed"]}
    assert {name: m["hosts"] for name, m in installed.items()} == {
        "llama3.2:latest": ["a", "b"],
        "gemma2:2b": ["a"],
        "qwen3:latest": ["b"],
        "all-minilm:latest": ["c"],
        "tinyllama:latest": ["c"],
    }
    assert installed["llama3.2:latest"]["digests_agree"] is True
    assert installed["all-minilm:latest"]["context_length"] == 512  # asked of c, which has it
    assert [(h["host"], h["reachable"], h["source"]) for h in view["hosts"]] == [
        ("a", True, "live"),
        ("b", True, "live"),
        ("c", True, "live"),
    ]
    assert view["source"] is None  # each host has its own, in `hosts`
    assert [(m["name"], m["host"]) for m in view["running"]] == [("qwen3:latest", "b")]
    assert [(p["model"], p["host"], p["status"]) for p in view["pulls"]] == [
        ("tinyllama:latest", "c", "success")
    ]


async def test_a_host_that_is_down_is_shown_down_and_the_rest_still_stands(
    hosts: Hosts,
) -> None:
    async with Client(build_server(hosts.settings), extensions=APPS) as client:
        hosts["c"].faults.refuse_connections()
        view = await view_of(client)
    answers = {h["host"]: h for h in view["hosts"]}
    assert answers["c"]["reachable"] is False
    assert answers["a"]["reachable"] and answers["b"]["reachable"]
    assert answers["c"]["source"] is None  # nothing cached of c: its models are not known
    assert answers["c"]["error"].startswith(f"cannot reach Ollama at {hosts['c'].url}")
    assert {m["name"] for m in view["installed"]} == {
        "llama3.2:latest",
        "gemma2:2b",
        "qwen3:latest",
    }
    assert view["running"] == []  # a and b run nothing; c is not asked twice


async def test_the_last_packaging_report_names_its_host(hosts: Hosts) -> None:
    adapter = write_peft_dir(hosts.settings.allow_dirs[0] / "peft", hidden=LLAMA_HIDDEN)
    arguments = {"path": str(adapter), "name": "tuned", "base_model": "llama3.2", "host": "b"}
    async with Client(build_server(hosts.settings), extensions=APPS) as client:
        packaged = await client.call_tool("package_adapter", arguments)
        view = await view_of(client)
    assert data(packaged)["host"] == "b"
    assert view["last_package"]["host"] == "b"
    assert view["last_package"]["model"] == "tuned:latest"
