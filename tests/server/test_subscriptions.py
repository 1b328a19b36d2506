"""Resource subscriptions by the spec: on the handshake era a client hears
`notifications/resources/updated` only for the URIs it subscribed to, and never a
`list_changed` (the set of listed resources is fixed); on 2026-07-28 `subscriptions/listen`."""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from anyio.streams.memory import MemoryObjectReceiveStream
from mcp import Client, MCPError, StdioServerParameters
from mcp.types import (
    INVALID_PARAMS,
    ResourceListChangedNotification,
    ResourceUpdatedNotification,
)

from server.app import build_server
from server.http_security import http_app, uvicorn_server
from server.settings import Settings, parse_args
from tests.ollama_double.server import OllamaDouble
from tests.server.test_stdio import server_args

# resources/subscribe is of the handshake era, which these tests are about
pytestmark = pytest.mark.filterwarnings("ignore:resources/(un)?subscribe is removed")
MODELS = "ollama://models"
FENCE = "ollama://fence"  # subscribed by every test client: its update marks the end of a batch


@asynccontextmanager
async def legacy_client(
    target: object, *subscriptions: str
) -> AsyncIterator[tuple[Client, MemoryObjectReceiveStream[str]]]:
    """A handshake-era client subscribed to `subscriptions`, and the notifications it hears
    (`updated <uri>` or `list_changed`)."""
    send, receive = anyio.create_memory_object_stream[str](1000)

    async def on_message(message: object) -> None:
        root = getattr(message, "root", message)
        if isinstance(root, ResourceUpdatedNotification):
            await send.send(f"updated {root.params.uri}")
        elif isinstance(root, ResourceListChangedNotification):
            await send.send("list_changed")

    async with Client(
        target,  # type: ignore[arg-type]
        mode="legacy",
        message_handler=on_message,
        read_timeout_seconds=30,
    ) as client:
        for uri in subscriptions:
            await client.subscribe_resource(uri)
        yield client, receive


async def heard_until(notes: MemoryObjectReceiveStream[str], last: str) -> list[str]:
    heard: list[str] = []
    with anyio.fail_after(10):
        while not heard or heard[-1] != last:
            heard.append(await notes.receive())
    return heard


async def test_capabilities_declare_what_is_sent(settings: Settings) -> None:
    async with Client(build_server(settings), mode="legacy") as client:
        capabilities = client.server_capabilities
    assert capabilities.resources is not None
    assert capabilities.resources.subscribe is True
    assert capabilities.resources.list_changed is True
    assert capabilities.logging is not None


async def test_an_unsubscribed_session_hears_nothing(
    settings: Settings, ollama_double: OllamaDouble
) -> None:
    """The defect: after one pull and one copy, a session that subscribed to nothing heard 7
    `updated` and 2 `list_changed`."""
    server = build_server(settings)
    async with (
        legacy_client(server) as (quiet, quiet_notes),
        legacy_client(server, MODELS) as (_, watcher_notes),
    ):
        assert not (await quiet.call_tool("pull_model", {"name": "tinyllama"})).is_error
        copied = await quiet.call_tool("copy_model", {"source": "llama3.2", "destination": "mine"})
        assert not copied.is_error
        # the subscribed session heard both changes, so any notification to `quiet` is sent too
        assert await heard_until(watcher_notes, f"updated {MODELS}") == [f"updated {MODELS}"]
        assert await heard_until(watcher_notes, f"updated {MODELS}") == [f"updated {MODELS}"]
        await quiet.list_tools()  # a round trip: anything sent to it before is in
        assert quiet_notes.statistics().current_buffer_used == 0


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("create_model", {"name": "made", "modelfile": "FROM llama3.2"}),
        ("copy_model", {"source": "llama3.2", "destination": "made"}),
        ("delete_model", {"name": "llama3.2"}),
        ("pull_model", {"name": "tinyllama"}),
    ],
)
async def test_a_subscribed_session_hears_each_change_to_the_list(
    settings: Settings, tool: str, arguments: dict[str, object]
) -> None:
    async with legacy_client(build_server(settings), MODELS) as (client, notes):
        result = await client.call_tool(tool, arguments)
        assert not result.is_error, result.content
        assert await heard_until(notes, f"updated {MODELS}") == [f"updated {MODELS}"]


async def test_a_model_subscription_hears_of_that_model_only(settings: Settings) -> None:
    async with legacy_client(build_server(settings), "ollama://models/mine", FENCE) as (
        client,
        notes,
    ):
        await client.call_tool("copy_model", {"source": "llama3.2", "destination": "other"})
        await client.call_tool("copy_model", {"source": "llama3.2", "destination": "mine"})
        heard = await heard_until(notes, "updated ollama://models/mine")
    assert heard == ["updated ollama://models/mine"]


async def test_unsubscribe_stops_the_notifications(settings: Settings) -> None:
    server = build_server(settings)
    async with (
        legacy_client(server, MODELS) as (client, notes),
        legacy_client(server, MODELS) as (_, witness_notes),
    ):
        await client.unsubscribe_resource(MODELS)
        await client.call_tool("copy_model", {"source": "llama3.2", "destination": "mine"})
        assert await heard_until(witness_notes, f"updated {MODELS}") == [f"updated {MODELS}"]
        await client.list_tools()
        assert notes.statistics().current_buffer_used == 0


async def test_a_uri_of_another_server_is_refused(settings: Settings) -> None:
    async with legacy_client(build_server(settings)) as (client, _):
        with pytest.raises(MCPError) as refused:
            await client.subscribe_resource("file:///etc/passwd")
    assert refused.value.error.code == INVALID_PARAMS
    assert refused.value.error.message == (
        "cannot subscribe to 'file:///etc/passwd': this server's resources start with "
        "ollama:// (resources/list and resources/templates/list name them)"
    )


async def test_listening_clients_of_2026_hear_what_they_listen_to(settings: Settings) -> None:
    async with (
        Client(build_server(settings)) as client,
        client.listen(resource_subscriptions=["ollama://models/mine"]) as events,
    ):
        await client.call_tool("copy_model", {"source": "llama3.2", "destination": "mine"})
        with anyio.fail_after(5):
            event = await anext(aiter(events))
    assert type(event).__name__ == "ResourceUpdated"
    assert getattr(event, "uri", None) == "ollama://models/mine"


async def test_over_stdio(ollama_double: OllamaDouble, tmp_path: Path) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=server_args(ollama_double, tmp_path)
    )
    async with legacy_client(params, MODELS) as (client, notes):
        await client.call_tool("copy_model", {"source": "llama3.2", "destination": "mine"})
        assert await heard_until(notes, f"updated {MODELS}") == [f"updated {MODELS}"]


@pytest.fixture
def http_url(ollama_double: OllamaDouble, tmp_path: Path) -> Iterator[str]:
    settings = parse_args(
        ["--transport", "streamable-http", "--ollama-host", ollama_double.url,
         "--cache-dir", str(tmp_path / "cache")],
        env={},
    )  # fmt: skip
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    server = uvicorn_server(http_app(build_server(settings), settings), settings)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
    server.should_exit = True
    thread.join(timeout=30)


async def test_over_http_a_change_by_one_session_reaches_the_subscribed_other(
    http_url: str,
) -> None:
    async with (
        legacy_client(http_url) as (changer, changer_notes),
        legacy_client(http_url, MODELS) as (_, notes),
    ):
        await changer.call_tool("copy_model", {"source": "llama3.2", "destination": "mine"})
        assert await heard_until(notes, f"updated {MODELS}") == [f"updated {MODELS}"]
        await changer.list_tools()
        assert changer_notes.statistics().current_buffer_used == 0
