"""Faults the double injects: error lines mid-stream, refused and dropped connections, a busy
server, slow replies, and callers that cancel."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import anyio
import pytest

from tests.ollama_double import OllamaDouble, reply_for
from tools.api.bodies import CreateRequest
from tools.api.client import OllamaClient
from tools.api.types import ProgressResponse
from tools.errors import (
    OllamaAPIError,
    OllamaTimeout,
    OllamaUnavailable,
    ServerBusy,
    StreamError,
    StreamInterrupted,
)

BUSY = "server busy, please try again.  maximum pending requests exceeded"
LONG_PROMPT = " ".join(f"word{i}" for i in range(60))


class Sleeps:
    """Records backoff waits instead of sleeping; can run an action on a given wait."""

    def __init__(self, on_wait: dict[int, Any] | None = None) -> None:
        self.waits: list[float] = []
        self.on_wait = on_wait or {}

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        action = self.on_wait.get(len(self.waits))
        if action is not None:
            action()


@pytest.fixture
async def client(ollama_double: OllamaDouble) -> AsyncIterator[OllamaClient]:
    async with OllamaClient(ollama_double.url, backoff_base=0.001) as ollama:
        yield ollama


# --- error lines after the stream began -------------------------------------------------------


async def test_an_error_line_mid_generate_is_a_stream_error(
    client: OllamaClient, ollama_double: OllamaDouble
) -> None:
    ollama_double.faults.error_after_lines(
        2, "llama runner process has terminated", "/api/generate"
    )
    received: list[str] = []
    with pytest.raises(StreamError) as caught:
        async for chunk in client.generate_stream("llama3.2", LONG_PROMPT):
            received.append(chunk.response)
    assert len(received) == 2  # what came before the error stands
    assert caught.value.message == "llama runner process has terminated"
    assert caught.value.status == 200


async def test_an_error_line_mid_chat_is_a_stream_error(
    client: OllamaClient, ollama_double: OllamaDouble
) -> None:
    ollama_double.faults.error_after_lines(1, "context canceled", "/api/chat")
    with pytest.raises(StreamError, match="context canceled"):
        async for _ in client.chat_stream("llama3.2", [{"role": "user", "content": "a b c"}]):
            pass


async def test_an_error_line_mid_pull_is_a_stream_error(
    client: OllamaClient, ollama_double: OllamaDouble
) -> None:
    message = "max retries exceeded: EOF"
    ollama_double.faults.error_after_lines(3, message, "/api/pull")
    seen: list[ProgressResponse] = []

    async def on_progress(line: ProgressResponse) -> None:
        seen.append(line)

    with pytest.raises(StreamError) as caught:
        await client.pull("tinyllama", on_progress=on_progress)
    assert caught.value.message == message
    assert len(seen) == 3


# --- nothing listening -------------------------------------------------------------------------


async def test_connection_refused_names_the_url_and_the_remedy(
    ollama_double: OllamaDouble,
) -> None:
    ollama_double.faults.refuse_connections()
    sleeps = Sleeps()
    async with OllamaClient(ollama_double.url, max_retries=2, sleep=sleeps) as client:
        with pytest.raises(OllamaUnavailable) as caught:
            await client.list()
    message = str(caught.value)
    assert ollama_double.url in message
    assert "ollama serve" in message and "OLLAMA_HOST" in message
    assert isinstance(caught.value, ConnectionError)
    assert len(sleeps.waits) == 2  # an idempotent GET is retried, boundedly


async def test_refused_connections_are_not_retried_for_inference(
    ollama_double: OllamaDouble,
) -> None:
    ollama_double.faults.refuse_connections()
    sleeps = Sleeps()
    async with OllamaClient(ollama_double.url, sleep=sleeps) as client:
        with pytest.raises(OllamaUnavailable):
            await client.generate("llama3.2", "hi")
        with pytest.raises(OllamaUnavailable):
            await anext(aiter(client.pull_stream("tinyllama")))
    assert sleeps.waits == []


@pytest.mark.parametrize("method", ["heartbeat", "list", "show", "blob_exists"])
async def test_an_idempotent_call_survives_ollama_coming_back(
    ollama_double: OllamaDouble, method: str
) -> None:
    ollama_double.faults.refuse_connections()
    sleeps = Sleeps(on_wait={2: ollama_double.faults.accept_connections})
    calls = {
        "heartbeat": lambda c: c.heartbeat(),
        "list": lambda c: c.list(),
        "show": lambda c: c.show("llama3.2"),
        "blob_exists": lambda c: c.blob_exists("sha256:" + "0" * 64),
    }
    async with OllamaClient(ollama_double.url, sleep=sleeps) as client:
        await calls[method](client)
    assert len(sleeps.waits) == 2
    assert len(ollama_double.requests.entries()) == 1


# --- a connection that drops mid-stream ------------------------------------------------------


async def test_a_connection_dropped_mid_pull_is_stream_interrupted(
    client: OllamaClient, ollama_double: OllamaDouble
) -> None:
    ollama_double.faults.drop_after_lines(4, "/api/pull")
    received: list[ProgressResponse] = []
    with pytest.raises(StreamInterrupted) as caught:
        async for line in client.pull_stream("tinyllama"):
            received.append(line)
    assert len(received) == 4
    assert caught.value.lines == 4
    assert "after 4 line(s)" in str(caught.value)
    assert isinstance(caught.value, OllamaUnavailable)  # so also a ConnectionError
    # Pulling again works (Ollama resumes what it had).
    assert (await client.pull("tinyllama")).status == "success"


async def test_a_connection_dropped_mid_generate_is_stream_interrupted(
    client: OllamaClient, ollama_double: OllamaDouble
) -> None:
    ollama_double.faults.drop_after_lines(2, "/api/generate")
    with pytest.raises(StreamInterrupted):
        [chunk async for chunk in client.generate_stream("llama3.2", LONG_PROMPT)]


# --- a busy server -----------------------------------------------------------------------------


async def test_503_is_retried_then_succeeds(
    client: OllamaClient, ollama_double: OllamaDouble
) -> None:
    ollama_double.faults.busy(2)
    listed = await client.list()
    assert listed.models
    assert ollama_double.requests.count("GET", "/api/tags") == 3


async def test_503_is_retried_for_inference_too(
    client: OllamaClient, ollama_double: OllamaDouble
) -> None:
    ollama_double.faults.busy(1)
    chunks = [chunk.response async for chunk in client.generate_stream("llama3.2", "a b")]
    assert "".join(chunks) == reply_for("a b")
    ollama_double.faults.busy(3)
    await client.ps()
    assert ollama_double.requests.count("POST", "/api/generate") == 2
    assert ollama_double.requests.count("GET", "/api/ps") == 4


async def test_503_is_given_up_after_a_bounded_number_of_tries(
    ollama_double: OllamaDouble,
) -> None:
    ollama_double.faults.busy(100)
    sleeps = Sleeps()
    async with OllamaClient(
        ollama_double.url, max_retries=3, backoff_base=0.5, backoff_max=1.0, sleep=sleeps
    ) as client:
        with pytest.raises(ServerBusy) as caught:
            await client.chat("llama3.2", [{"role": "user", "content": "hi"}])
    assert caught.value.message == BUSY
    assert ollama_double.requests.count("POST", "/api/chat") == 4
    assert len(sleeps.waits) == 3
    assert all(0 < wait <= 1.0 for wait in sleeps.waits)


async def test_no_retries_when_max_retries_is_zero(ollama_double: OllamaDouble) -> None:
    ollama_double.faults.busy(1)
    async with OllamaClient(ollama_double.url, max_retries=0) as client:
        with pytest.raises(ServerBusy):
            await client.version()
    assert ollama_double.requests.count("GET", "/api/version") == 1


async def test_other_errors_are_not_retried(
    client: OllamaClient, ollama_double: OllamaDouble
) -> None:
    with pytest.raises(OllamaAPIError):
        await client.show("absent")
    assert ollama_double.requests.count("POST", "/api/show") == 1


# --- timeouts ----------------------------------------------------------------------------------


async def test_a_quick_call_times_out_and_is_not_retried(ollama_double: OllamaDouble) -> None:
    ollama_double.faults.delay("/api/tags", 1.0)
    async with OllamaClient(ollama_double.url, metadata_timeout=0.1) as client:
        with pytest.raises(OllamaTimeout) as caught:
            await client.list()
    assert "GET /api/tags" in str(caught.value)
    assert isinstance(caught.value, TimeoutError)
    assert ollama_double.requests.count("GET", "/api/tags") == 1


async def test_inference_has_no_read_timeout_by_default(ollama_double: OllamaDouble) -> None:
    # A first model load sends nothing for a long time; the quick-call timeout must not apply.
    ollama_double.faults.delay("/api/generate", 0.3)
    async with OllamaClient(ollama_double.url, metadata_timeout=0.05) as client:
        answer = await client.generate("llama3.2", "slow load")
    assert answer.response == reply_for("slow load")


async def test_a_configured_read_timeout_applies_to_inference(ollama_double: OllamaDouble) -> None:
    ollama_double.faults.delay("/api/generate", 1.0)
    async with OllamaClient(ollama_double.url, read_timeout=0.1) as client:
        with pytest.raises(OllamaTimeout, match="POST /api/generate"):
            await client.generate("llama3.2", "slow load")


# --- cancellation ----------------------------------------------------------------------------


async def test_cancelling_a_streaming_call_closes_the_connection(
    client: OllamaClient, ollama_double: OllamaDouble
) -> None:
    ollama_double.faults.token_delay = 0.05
    first = asyncio.Event()

    async def consume() -> None:
        async for _ in client.generate_stream("llama3.2", LONG_PROMPT):
            first.set()

    task = asyncio.create_task(consume())
    await first.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await ollama_double.requests.wait_disconnect_async(5.0)
    assert "/api/generate" in ollama_double.requests.disconnects


async def test_cancelling_a_pull_closes_the_connection(
    client: OllamaClient, ollama_double: OllamaDouble
) -> None:
    ollama_double.faults.token_delay = 0.05
    first = asyncio.Event()

    async def on_progress(line: ProgressResponse) -> None:
        first.set()

    task = asyncio.create_task(client.pull("tinyllama", on_progress=on_progress))
    await first.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await ollama_double.requests.wait_disconnect_async(5.0)
    assert "/api/pull" in ollama_double.requests.disconnects
    assert "tinyllama:latest" not in ollama_double.installed_names()


async def test_leaving_a_stream_early_closes_the_connection(
    client: OllamaClient, ollama_double: OllamaDouble
) -> None:
    ollama_double.faults.token_delay = 0.05
    stream = client.chat_stream("llama3.2", [{"role": "user", "content": LONG_PROMPT}])
    async with aclosing(stream) as chunks:
        async for _ in chunks:
            break
    assert await ollama_double.requests.wait_disconnect_async(5.0)
    assert "/api/chat" in ollama_double.requests.disconnects


async def test_a_cancelled_anyio_scope_closes_the_stream(
    client: OllamaClient, ollama_double: OllamaDouble
) -> None:
    # The MCP SDK cancels a tool call through an anyio cancel scope, not Task.cancel().
    ollama_double.faults.token_delay = 0.05
    with anyio.CancelScope() as scope:
        async for _ in client.create_stream(CreateRequest(model="me/tiny", from_="tinyllama")):
            scope.cancel()  # delivered at the next checkpoint: lines already read may still come
    assert scope.cancelled_caught
    assert await ollama_double.requests.wait_disconnect_async(5.0)
    assert "/api/create" in ollama_double.requests.disconnects
    # The connection went back to the pool closed: the next call works at once.
    assert (await client.version()) == ollama_double.faults.version
