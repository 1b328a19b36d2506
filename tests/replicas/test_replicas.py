"""Three replicas on one Ollama double and one real Redis: they start only with Redis, share the
metadata cache, see each other's changes at once, and tell each other's clients."""

from __future__ import annotations

import sys
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import ResourceUpdatedNotification

from tests.ollama_double.server import OllamaDouble
from tests.replicas.conftest import StartReplicas
from tests.replicas.processes import LoggedProcess, free_port
from tests.server.reliability.helpers import structured, text


def names(listed: dict[str, Any]) -> set[str]:
    return {m["name"] for m in listed["models"]}


def test_a_replica_refuses_to_start_without_its_redis() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    command = [sys.executable, "-m", "server", "--transport", "streamable-http",
               "--port", str(free_port()), "--state-url", url]  # fmt: skip
    process = LoggedProcess(command)
    assert process.stop_when_done() == 1
    port = url.split(":")[2].split("/")[0]
    assert process.log() == (
        f"ollama-mcp: cannot reach the shared state store at {url} (Error 111 connecting to "
        f"127.0.0.1:{port}. Connection refused.); replicas that asked for shared state must not "
        "fall back to state of their own. Start Redis there, fix --state-url / "
        "OLLAMA_MCP_STATE_URL (and OLLAMA_MCP_STATE_PASSWORD), or leave --state-url out to keep "
        "state on this machine"
    )


async def test_replicas_share_the_metadata_cache(
    start_replicas: StartReplicas, ollama_double: OllamaDouble
) -> None:
    replicas = start_replicas(3)
    for replica in replicas:
        async with Client(streamable_http_client(replica.mcp)) as client:
            listed = structured(await client.call_tool("list_models", {}))
            assert "llama3.2:latest" in names(listed)
            shown = await client.call_tool("show_model", {"name": "llama3.2"})
            assert not shown.is_error, text(shown)
    # The first replica asked Ollama; the other two were answered from Redis.
    assert ollama_double.requests.count("GET", "/api/tags") == 1
    assert ollama_double.requests.count("POST", "/api/show") == 1


async def test_a_change_through_one_replica_is_seen_by_the_others_at_once(
    start_replicas: StartReplicas,
) -> None:
    first, second, third = start_replicas(3)
    async with Client(streamable_http_client(second.mcp)) as client:
        assert "mine:latest" not in names(structured(await client.call_tool("list_models", {})))
    async with Client(streamable_http_client(first.mcp)) as client:
        made = await client.call_tool("copy_model", {"source": "llama3.2", "destination": "mine"})
        assert not made.is_error, text(made)
    for replica in (second, third):
        async with Client(streamable_http_client(replica.mcp)) as client:
            listed = structured(await client.call_tool("list_models", {}))
        assert "mine:latest" in names(listed)


async def test_a_listener_on_replica_3_hears_of_a_model_created_through_replica_1(
    start_replicas: StartReplicas,
) -> None:
    first, _, third = start_replicas(3)
    async with (
        Client(streamable_http_client(third.mcp)) as listener,
        listener.listen(resource_subscriptions=["ollama://models/made"]) as events,
    ):
        async with Client(streamable_http_client(first.mcp)) as client:
            made = await client.call_tool(
                "create_model", {"name": "made", "modelfile": "FROM llama3.2\nSYSTEM hi"}
            )
            assert not made.is_error, text(made)
        heard: set[str] = set()
        with anyio.fail_after(10):
            async for event in events:
                heard.add(type(event).__name__ + ":" + str(getattr(event, "uri", "")))
                if "ResourceUpdated:ollama://models/made" in heard:
                    break
    assert "ResourceUpdated:ollama://models/made" in heard  # no list_changed: the set is fixed


@pytest.mark.filterwarnings("ignore:resources/subscribe is removed")
async def test_a_handshake_era_session_on_replica_3_hears_of_a_pull_through_replica_1(
    start_replicas: StartReplicas, ollama_double: OllamaDouble
) -> None:
    first, _, third = start_replicas(3)
    ollama_double.catalogue.add("small:latest", model_size=1024)
    heard: list[str] = []
    expected = {"ollama://pulls", "ollama://models", "ollama://models/small:latest"}
    got_all = anyio.Event()

    async def on_message(message: object) -> None:
        root = getattr(message, "root", message)
        if isinstance(root, ResourceUpdatedNotification):
            heard.append(str(root.params.uri))
            if expected <= set(heard):  # they come in no set order
                got_all.set()

    async with Client(
        streamable_http_client(third.mcp), mode="legacy", message_handler=on_message
    ) as listener:
        for uri in ("ollama://pulls", "ollama://models", "ollama://models/small:latest"):
            await listener.subscribe_resource(uri)  # a handshake-era session hears what it asked
        async with Client(streamable_http_client(first.mcp)) as client:
            pulled = await client.call_tool("pull_model", {"name": "small"})
            assert not pulled.is_error, text(pulled)
        with anyio.fail_after(10):
            await got_all.wait()
    assert expected <= set(heard)
