"""Several hosts through the real MCP client: one model list, routing, `host` on every change,
refusals that name the hosts, and a host that stops and comes back."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx2

from tests.adapter_factories import write_peft_dir
from tests.fleet.conftest import Hosts, serving
from tests.server.test_building_tools import LLAMA_HIDDEN


def text(result: Any) -> str:
    return str(result.content[0].text)


def data(result: Any) -> dict[str, Any]:
    assert result.structured_content is not None, text(result)
    return dict(result.structured_content)


def load(double: Any, model: str) -> None:
    """Make `model` loaded on that double, as another client of it would."""
    with httpx2.Client(base_url=double.url, timeout=30) as http:
        if "minilm" in model:  # an embedding model loads for /api/embed
            http.post("/api/embed", json={"model": model, "input": "hi"}).raise_for_status()
            return
        body = {"model": model, "prompt": "hi", "stream": False}
        http.post("/api/generate", json=body).raise_for_status()


async def test_one_model_list_over_three_hosts(hosts: Hosts, mode: str) -> None:
    async with serving(hosts.settings, mode) as (client, _):
        listed = await client.call_tool("list_models", {})
        resource = await client.read_resource("ollama://models")
    models = {m["name"]: m for m in data(listed)["models"]}
    assert {name: m["hosts"] for name, m in models.items()} == {
        "llama3.2:latest": ["a", "b"],
        "gemma2:2b": ["a"],
        "qwen3:latest": ["b"],
        "all-minilm:latest": ["c"],
    }
    assert models["llama3.2:latest"]["digests_agree"] is True
    assert [h["source"] for h in data(listed)["hosts"]] == ["live", "live", "live"]
    assert text(listed).splitlines()[0] == "4 model(s) on 3 hosts"
    assert "  on a, b" in text(listed)
    body = json.loads(resource.contents[0].text)  # type: ignore[union-attr]
    assert {m["name"]: m["hosts"] for m in body["models"]} == {
        name: m["hosts"] for name, m in models.items()
    }


async def test_calls_go_where_the_model_is_loaded_then_where_installed(
    hosts: Hosts, mode: str
) -> None:
    load(hosts["b"], "llama3.2")
    async with serving(hosts.settings, mode) as (client, _):
        on_loaded = await client.call_tool("generate", {"model": "llama3.2", "prompt": "hi"})
        on_installed = await client.call_tool("chat", {
            "model": "gemma2:2b", "messages": [{"role": "user", "content": "hi"}]
        })  # fmt: skip
        embedded = await client.call_tool("embed", {"model": "all-minilm", "input": "hi"})
        shown = await client.call_tool("show_model", {"name": "qwen3"})
    assert data(on_loaded)["host"] == "b"
    assert text(on_loaded).endswith("\n[host b]")
    assert data(on_installed)["host"] == "a"
    assert data(embedded)["host"] == "c"
    assert data(shown)["host"] == "b"
    assert hosts["a"].requests.count("POST", "/api/generate") == 0
    assert hosts["b"].requests.count("POST", "/api/chat") == 0


async def test_a_slow_first_load_sends_the_next_call_to_the_other_host(
    hosts: Hosts, mode: str
) -> None:
    """llama3.2 is on a and b, loaded on neither: the first call goes to a (first configured)
    and waits there for its model to load; the next goes to b, which has nothing in flight."""
    gate = hosts["a"].faults.gate("/api/generate")
    async with serving(hosts.settings, mode) as (client, state):
        answers: dict[str, Any] = {}

        async def first() -> None:
            answers["first"] = await client.call_tool(
                "generate", {"model": "llama3.2", "prompt": "slow"}
            )

        async with anyio.create_task_group() as group:
            group.start_soon(first)
            assert await gate.wait_held_async(lines=0)
            assert state.fleet.get("a").in_flight == 1
            answers["second"] = await client.call_tool(
                "generate", {"model": "llama3.2", "prompt": "quick"}
            )
            gate.open()
    assert data(answers["first"])["host"] == "a"
    assert data(answers["second"])["host"] == "b"


async def test_a_model_on_no_host_is_refused_with_the_hosts_named(hosts: Hosts, mode: str) -> None:
    async with serving(hosts.settings, mode) as (client, _):
        refused = await client.call_tool("generate", {"model": "mistral:7b", "prompt": "hi"})
    assert refused.is_error
    assert text(refused) == (
        "Error executing tool generate: model 'mistral:7b' is on no host that answers (not "
        'installed on a, b, c): pull it where it should run, e.g. pull_model name "mistral:7b" '
        'host "a"'
    )


async def test_a_host_that_is_not_configured_is_refused_with_the_names(
    hosts: Hosts, mode: str
) -> None:
    async with serving(hosts.settings, mode) as (client, _):
        refused = await client.call_tool(
            "generate", {"model": "llama3.2", "prompt": "hi", "host": "http://10.9.9.9:11434"}
        )
        misspelt = await client.call_tool("pull_model", {"name": "tinyllama", "host": "bb"})
    assert text(refused) == (
        "Error executing tool generate: no host is named 'http://10.9.9.9:11434': the "
        "configured hosts are a, b, c (hosts come only from --ollama-host or OLLAMA_MCP_HOSTS, "
        "never from a tool argument)"
    )
    assert text(misspelt).startswith("Error executing tool pull_model: no host is named 'bb'")
    assert all(d.requests.count("POST", "/api/pull") == 0 for d in hosts.doubles.values())


async def test_every_change_is_made_on_the_host_named(hosts: Hosts, mode: str) -> None:
    adapter = write_peft_dir(hosts.settings.allow_dirs[0] / "peft", hidden=LLAMA_HIDDEN)
    calls: list[tuple[str, dict[str, Any], str, str]] = [
        ("pull_model", {"name": "tinyllama"}, "c", "/api/pull"),
        ("copy_model", {"source": "llama3.2", "destination": "me/llama"}, "b", "/api/copy"),
        ("push_model", {"name": "me/llama"}, "b", "/api/push"),
        ("create_model", {"name": "brief", "modelfile": "FROM llama3.2\nSYSTEM Be brief."},
         "b", "/api/create"),
        ("package_adapter", {"path": str(adapter), "name": "tuned", "base_model": "llama3.2"},
         "b", "/api/create"),
        ("delete_model", {"name": "gemma2:2b"}, "a", "/api/delete"),
    ]  # fmt: skip
    async with serving(hosts.settings, mode) as (client, _):
        for tool, arguments, host, path in calls:
            method = "DELETE" if tool == "delete_model" else "POST"
            before = {n: d.requests.count(method, path) for n, d in hosts.doubles.items()}
            done = await client.call_tool(tool, {**arguments, "host": host})
            assert not done.is_error, (tool, text(done))
            assert data(done)["host"] == host, tool
            after = {n: d.requests.count(method, path) for n, d in hosts.doubles.items()}
            changed = [n for n in hosts.doubles if after[n] != before[n]]
            assert changed == [host], (tool, changed)
        cancelled = await client.call_tool("cancel_pull", {"name": "tinyllama", "host": "a"})
        pulled_on_c = await client.call_tool("pull_status", {"name": "tinyllama", "host": "c"})
        every_host = await client.call_tool("pull_status", {})
    assert "tinyllama:latest" in hosts["c"].installed_names()
    assert "tinyllama:latest" not in hosts["a"].installed_names()
    assert {"brief:latest", "tuned:latest", "me/llama:latest"} <= set(hosts["b"].installed_names())
    assert "gemma2:2b" not in hosts["a"].installed_names()
    assert text(cancelled) == (
        "Error executing tool cancel_pull: on host 'a': no pull of tinyllama is running or ended "
        "in the last 3600 s: pull_status lists the pulls"
    )  # the pull was on c
    assert [p["model"] for p in data(pulled_on_c)["pulls"]] == ["tinyllama:latest"]
    assert [p["model"] for p in data(every_host)["pulls"]] == ["tinyllama:latest"]


async def test_a_change_without_host_goes_to_the_default(hosts: Hosts, mode: str) -> None:
    async with serving(hosts.settings, mode) as (client, _):
        copied = await client.call_tool("copy_model", {"source": "gemma2:2b", "destination": "g2"})
    assert data(copied)["host"] == "a"
    assert "g2:latest" in hosts["a"].installed_names()


async def test_deleting_a_model_on_several_hosts_needs_a_host(hosts: Hosts, mode: str) -> None:
    async with serving(hosts.settings, mode) as (client, _):
        refused = await client.call_tool("delete_model", {"name": "llama3.2"})
    assert text(refused) == (
        "Error executing tool delete_model: model 'llama3.2' is on several hosts (a, b): say "
        'which with host, e.g. host "a" (call once per host to change each)'
    )
    assert all("llama3.2:latest" in hosts[n].installed_names() for n in ("a", "b"))


async def test_a_host_that_stops_is_skipped_and_used_again_when_back(
    hosts: Hosts, mode: str
) -> None:
    load(hosts["b"], "llama3.2")
    gate = hosts["b"].faults.gate("/api/generate")
    async with serving(hosts.settings, mode) as (client, state):
        answers: dict[str, Any] = {}

        async def on_b() -> None:
            answers["cut"] = await client.call_tool(
                "generate", {"model": "llama3.2", "prompt": "x"}
            )

        async with anyio.create_task_group() as group:
            group.start_soon(on_b)
            assert await gate.wait_held_async(lines=0)
            hosts["b"].faults.refuse_connections()  # b stops with a call on it
        with anyio.fail_after(10):
            await state.fleet.wait_for("b", up=False)
        assert text(answers["cut"]).startswith(
            f"Error executing tool generate: host 'b' ({hosts['b'].url}) stopped answering ("
        )
        assert text(answers["cut"]).endswith(
            "it is now marked down and left out of routing until it answers again; call again "
            "without host to use another host, or start Ollama on b"
        )
        skipped = await client.call_tool("generate", {"model": "llama3.2", "prompt": "y"})
        listed = await client.call_tool("list_models", {})
        status = await client.call_tool("ollama_status", {})
        hosts_now = json.loads(
            (await client.read_resource("ollama://hosts")).contents[0].text  # type: ignore[union-attr]
        )
        explicit = await client.call_tool("show_model", {"name": "qwen3", "host": "b"})
        gate.open()
        hosts["b"].faults.accept_connections()
        with anyio.fail_after(10):
            await state.fleet.wait_for("b", up=True)  # the background probe found it
        back = await client.call_tool("show_model", {"name": "qwen3"})
    assert data(skipped)["host"] == "a"
    assert [h["reachable"] for h in data(listed)["hosts"]] == [True, False, True]
    assert "b: unreachable, models as last known (" in text(listed)
    assert [h["reachable"] for h in data(status)["hosts"]] == [True, False, True]
    assert "b: unreachable at" in text(status)
    assert [(h["name"], h["reachable"]) for h in hosts_now["hosts"]] == [
        ("a", True), ("b", False), ("c", True)
    ]  # fmt: skip
    assert text(explicit).startswith(
        f"Error executing tool show_model: host 'b' ({hosts['b'].url}) is down"
    )
    assert data(back)["host"] == "b"


async def test_hosts_resource_and_running_per_host(hosts: Hosts, mode: str) -> None:
    load(hosts["c"], "all-minilm")
    async with serving(hosts.settings, mode) as (client, _):
        running = await client.call_tool("list_running", {})
        body = json.loads(
            (await client.read_resource("ollama://hosts")).contents[0].text  # type: ignore[union-attr]
        )
    assert [(h["host"], [m["name"] for m in h["models"]]) for h in data(running)["hosts"]] == [
        ("a", []), ("b", []), ("c", ["all-minilm:latest"])
    ]  # fmt: skip
    by_name = {h["name"]: h for h in body["hosts"]}
    assert by_name["a"]["default"] is True and by_name["b"]["default"] is False
    assert by_name["c"]["loaded"] == ["all-minilm:latest"] and by_name["c"]["vram_bytes"] > 0
    assert [by_name[n]["model_count"] for n in "abc"] == [2, 2, 1]
    assert by_name["a"]["version"] == "0.33.0-rc2"


async def test_the_host_argument_is_published_only_with_several_hosts(
    hosts: Hosts, mode: str
) -> None:
    async with serving(hosts.settings, mode) as (client, _):
        tools = {t.name: t for t in (await client.list_tools()).tools}
        prompt = await client.get_prompt("choose_model", {"task": "code"})
    assert tools["generate"].input_schema["properties"]["host"] == {
        "description": "One of a, b, c; default: where the model is loaded, else installed",
        "type": "string",
    }
    assert tools["delete_model"].input_schema["properties"]["host"]["description"] == (
        "One of a, b, c; default a"
    )
    assert "host" not in tools["list_models"].input_schema["properties"]
    assert tools["generate"].output_schema["properties"]["host"] == {  # type: ignore[index]
        "type": "string",
        "description": "The host that answered",
    }
    assert "Several Ollama hosts" in prompt.messages[0].content.text  # type: ignore[union-attr]


async def test_each_host_is_held_to_its_own_version(hosts: Hosts, mode: str) -> None:
    hosts["c"].faults.version = "0.5.4"  # too old for the JSON create request
    modelfile = "FROM all-minilm\nSYSTEM Be brief."
    async with serving(hosts.settings, mode) as (client, _):
        old = await client.call_tool("create_model", {
            "name": "brief", "modelfile": modelfile, "host": "c"
        })  # fmt: skip
        current = await client.call_tool("create_model", {
            "name": "brief", "modelfile": "FROM llama3.2\nSYSTEM Be brief.", "host": "b"
        })  # fmt: skip
    assert text(old) == (
        "Error executing tool create_model: on host 'c': Ollama 0.5.4 is too old for "
        "create_model: upgrade Ollama to 0.5.5 or newer"
    )
    assert not current.is_error and data(current)["host"] == "b"


async def test_a_host_that_comes_back_older_is_held_to_its_new_version(
    hosts: Hosts, mode: str
) -> None:
    create = {"name": "brief", "modelfile": "FROM llama3.2\nSYSTEM Be brief.", "host": "b"}
    async with serving(hosts.settings, mode) as (client, state):
        first = await client.call_tool("create_model", create)
        hosts["b"].faults.refuse_connections()
        await client.call_tool("list_running", {})  # finds b down
        with anyio.fail_after(10):
            await state.fleet.wait_for("b", up=False)
        hosts["b"].faults.version = "0.5.4"  # downgraded while it was away
        hosts["b"].faults.accept_connections()
        with anyio.fail_after(10):
            await state.fleet.wait_for("b", up=True)
        again = await client.call_tool("create_model", create)
    assert not first.is_error, text(first)
    assert text(again) == (
        "Error executing tool create_model: on host 'b': Ollama 0.5.4 is too old for "
        "create_model: upgrade Ollama to 0.5.5 or newer"
    )
