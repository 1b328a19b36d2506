"""MCP logging: `logging/setLevel` and the server's own warnings and errors as
`notifications/message`, filtered by level, without secrets, rate limited."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest
from anyio.streams.memory import MemoryObjectReceiveStream
from mcp import Client
from mcp.types import LoggingMessageNotificationParams

from server.app import build_server
from server.client_log import RateLimit
from server.settings import Settings
from tests.server.conftest import with_settings

pytestmark = pytest.mark.filterwarnings("ignore:The logging capability is deprecated")
PROBE = logging.getLogger("server.probe")  # a logger of the server's own modules


@asynccontextmanager
async def logging_client(
    settings: Settings, level: str
) -> AsyncIterator[tuple[Client, MemoryObjectReceiveStream[LoggingMessageNotificationParams]]]:
    send, receive = anyio.create_memory_object_stream[LoggingMessageNotificationParams](100)

    async def on_log(params: LoggingMessageNotificationParams) -> None:
        await send.send(params)

    async with Client(
        build_server(settings), mode="legacy", logging_callback=on_log, read_timeout_seconds=30
    ) as client:
        await client.set_logging_level(level)  # type: ignore[arg-type]
        yield client, receive


async def next_message(
    messages: MemoryObjectReceiveStream[LoggingMessageNotificationParams],
) -> LoggingMessageNotificationParams:
    with anyio.fail_after(10):
        return await messages.receive()


async def test_ollama_unreachable_reaches_the_client_as_a_warning(settings: Settings) -> None:
    stopped = with_settings(settings, ollama_host="http://127.0.0.1:9")  # nothing listens there
    async with logging_client(stopped, "warning") as (client, messages):
        result = await client.call_tool("list_running", {})
        message = await next_message(messages)
    assert result.is_error
    assert message.level == "warning"
    assert message.logger == "server.errors"
    assert "list_running" in str(message.data) and "ollama serve" in str(message.data)


async def test_the_level_the_client_set_filters(settings: Settings) -> None:
    async with logging_client(settings, "error") as (_, messages):
        PROBE.warning("below the level")
        PROBE.error("at the level")
        message = await next_message(messages)  # sent in order: the warning would come first
    assert (message.level, message.data) == ("error", "at the level")
    assert message.logger == "server.probe"


async def test_no_secret_and_no_traceback_goes_out(settings: Settings) -> None:
    secret = with_settings(settings, auth_token="s3cret-token-value")
    async with logging_client(secret, "warning") as (_, messages):
        try:
            raise RuntimeError("inner detail")
        except RuntimeError:
            PROBE.warning("token s3cret-token-value seen", exc_info=True)
        message = await next_message(messages)
    assert message.data == "token [redacted] seen"


async def test_a_client_that_did_not_ask_hears_nothing(settings: Settings) -> None:
    heard: list[object] = []

    async def on_log(params: LoggingMessageNotificationParams) -> None:
        heard.append(params)

    async with (
        Client(build_server(settings), mode="legacy", logging_callback=on_log) as quiet,
        logging_client(settings, "warning") as (_, messages),
    ):
        PROBE.warning("for the one that asked")
        assert (await next_message(messages)).data == "for the one that asked"
        await quiet.list_tools()
    assert heard == []


def test_the_rate_limit_holds_back_and_counts() -> None:
    now = [0.0]
    limit = RateLimit(rate=2, per=60.0, clock=lambda: now[0])
    assert [limit.allow() for _ in range(4)] == [True, True, False, False]
    assert limit.held_back == 2
    now[0] = 60.0
    assert limit.allow()
