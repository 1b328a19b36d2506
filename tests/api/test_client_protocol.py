"""Wire-level behaviour for replies a faithful Ollama never sends (so the double cannot either):
blank and malformed NDJSON lines, separator characters inside JSON, legacy error lines, odd error
bodies. An `httpx2.MockTransport` plays the server; everything on our side is the real client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from typing import Any

import httpx2
import pytest

from tests.ollama_double.server import OllamaDouble
from tools.api.bodies import CreateRequest
from tools.api.client import OllamaClient, normalize_digest
from tools.api.types import Message
from tools.errors import (
    ClientClosed,
    InvalidModelName,
    ModelNotFound,
    OllamaAPIError,
    ProtocolError,
    ServerBusy,
    StreamError,
    StreamInterrupted,
    UnsupportedServer,
)

Handler = Callable[[httpx2.Request], httpx2.Response]
NDJSON = {"content-type": "application/x-ndjson"}


def ndjson(*lines: bytes | dict[str, Any]) -> bytes:
    return b"".join(
        (line if isinstance(line, bytes) else json.dumps(line).encode()) + b"\n" for line in lines
    )


def client_for(handler: Handler, **kwargs: Any) -> OllamaClient:
    return OllamaClient(
        "127.0.0.1:9", transport=httpx2.MockTransport(handler), backoff_base=0.0, **kwargs
    )


def answering(status: int, body: bytes, headers: dict[str, str] | None = None) -> Handler:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, content=body, headers=headers or NDJSON)

    return handler


def token(text: str, done: bool = False) -> dict[str, Any]:
    return {"model": "m", "response": text, "done": done}


async def test_a_blank_line_is_a_protocol_error_not_a_decoder_crash() -> None:
    body = ndjson(token("a"), b"", token("", done=True))
    async with client_for(answering(200, body)) as client:
        seen: list[str] = []
        with pytest.raises(ProtocolError, match=r"POST /api/generate: line 2 .* is blank"):
            async for chunk in client.generate_stream("m", "hi"):
                seen.append(chunk.response)
    assert seen == ["a"]


@pytest.mark.parametrize(
    ("line", "complaint"),
    [
        (b"{not json", "is not JSON"),
        (b"[1, 2]", "is not a JSON object"),
        (b"\xff\xfe", "is not JSON"),
        (b'{"response": 5, "done": "maybe"}', "unexpected reply shape"),
    ],
)
async def test_a_malformed_line_is_a_protocol_error(line: bytes, complaint: str) -> None:
    async with client_for(answering(200, ndjson(line))) as client:
        with pytest.raises(ProtocolError, match=complaint):
            await anext(aiter(client.generate_stream("m", "hi")))


async def test_a_malformed_non_stream_reply_is_a_protocol_error() -> None:
    async with client_for(answering(200, b"<html>", {"content-type": "text/html"})) as client:
        with pytest.raises(ProtocolError, match="GET /api/tags: the reply is not JSON"):
            await client.list()


async def test_lines_split_on_newline_bytes_only() -> None:
    # Go's encoder leaves U+0085 unescaped; splitlines() would cut there (and at the others,
    # which JSON escapes).
    text = "a\u0085b\x1cc\x1dd\x1ee\u2028f"
    body = ndjson(json.dumps(token(text), ensure_ascii=False).encode(), token("", done=True))
    async with client_for(answering(200, body)) as client:
        chunks = [chunk async for chunk in client.generate_stream("m", "hi")]
    assert [chunk.response for chunk in chunks] == [text, ""]


async def test_lines_may_span_transport_chunks() -> None:
    body = ndjson(token("ab"), token("", done=True))

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 3):
            yield body[start : start + 3]

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=pieces(), headers=NDJSON)

    async with client_for(handler) as client:
        chunks = [chunk.response async for chunk in client.generate_stream("m", "hi")]
    assert chunks == ["ab", ""]


async def test_a_stream_that_ends_before_its_last_line_is_interrupted() -> None:
    async with client_for(answering(200, ndjson({"status": "pulling manifest"}))) as client:
        with pytest.raises(StreamInterrupted, match="after 1 line") as caught:
            await client.pull("m")
    assert isinstance(caught.value, ConnectionError)


async def test_a_create_that_stops_after_its_base_pull_succeeded_is_interrupted() -> None:
    # The pull of the base ends with its own `success`; the create's lines come after it.
    body = ndjson(
        {"status": "pulling manifest"},
        {"status": "success"},
        {"status": "using existing layer sha256:" + "0" * 64},
    )
    async with client_for(answering(200, body)) as client:
        with pytest.raises(StreamInterrupted, match="after 3 line"):
            await client.create(CreateRequest(model="new", from_="base"))


async def test_an_empty_200_body_is_interrupted_too() -> None:
    async with client_for(answering(200, b"")) as client:
        with pytest.raises(StreamInterrupted, match="after 0 line"):
            [chunk async for chunk in client.chat_stream("m", [])]


async def test_legacy_first_line_error_keeps_its_status() -> None:
    # Ollama 0.5.5-0.12.5: an error before any output arrived inside a 200 stream, with status.
    line = {"error": "neither 'from' or 'files' was specified", "status": 400}
    async with client_for(answering(200, ndjson(line))) as client:
        with pytest.raises(OllamaAPIError) as caught:
            await client.create(CreateRequest(model="new"))
    assert type(caught.value) is OllamaAPIError
    assert caught.value.status == 400
    assert caught.value.message == "neither 'from' or 'files' was specified"


async def test_an_error_line_after_output_is_a_stream_error_even_with_status() -> None:
    body = ndjson({"status": "parsing GGUF"}, {"error": "unknown type", "status": 400})
    async with client_for(answering(200, body)) as client:
        with pytest.raises(StreamError) as caught:
            await client.create(CreateRequest(model="new", files={"a.gguf": "sha256:" + "0" * 64}))
    assert caught.value.message == "unknown type"
    assert caught.value.status == 200


async def test_an_error_object_in_a_200_json_reply_is_an_error() -> None:
    body = json.dumps({"error": "boom"}).encode()
    async with client_for(answering(200, body, {"content-type": "application/json"})) as client:
        with pytest.raises(StreamError, match="boom"):
            await client.generate("m", "hi")


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (404, b"404 page not found", "404 page not found"),
        (405, b"405 method not allowed", "405 method not allowed"),
        (403, b"", "Forbidden"),
        (500, b'{"error":"option \\"temperature\\" must be of type float32"}',
         'option "temperature" must be of type float32'),
    ],
)  # fmt: skip
async def test_non_json_and_odd_error_bodies_keep_their_text(
    status: int, body: bytes, message: str
) -> None:
    async with client_for(answering(status, body, {"content-type": "text/plain"})) as client:
        with pytest.raises(OllamaAPIError) as caught:
            await client.generate("m", "hi")
    assert type(caught.value) is OllamaAPIError  # a plain 404 page is not a missing model
    assert caught.value.status == status
    assert caught.value.message == message
    # Only the Host check's empty 403 points at OLLAMA_HOST/OLLAMA_ORIGINS.
    assert ("OLLAMA_ORIGINS" in str(caught.value)) == (status == 403)


async def test_old_server_create_answer_is_unsupported_server() -> None:
    body = b'{"error":"path or Modelfile are required"}'
    async with client_for(answering(400, body, {"content-type": "application/json"})) as client:
        with pytest.raises(UnsupportedServer) as caught:
            await client.create(CreateRequest(model="new", from_="base"))
    assert caught.value.message == "path or Modelfile are required"
    assert "0.5.5" in str(caught.value)


async def test_gives_up_on_503_after_max_retries_with_growing_backoff() -> None:
    waits: list[float] = []
    calls: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(request.url.path)
        return httpx2.Response(503, json={"error": "server busy"})

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    transport = httpx2.MockTransport(handler)
    async with OllamaClient(
        transport=transport, max_retries=4, backoff_base=1.0, backoff_max=5.0, sleep=sleep
    ) as client:
        with pytest.raises(ServerBusy):
            await client.ps()
    assert len(calls) == 5
    ceilings = [1.0, 2.0, 4.0, 5.0]
    assert all(c / 2 <= w <= c for w, c in zip(waits, ceilings, strict=True)), waits
    # Jittered: the waits are not all the same fraction of their ceilings.
    assert len({w / c for w, c in zip(waits, ceilings, strict=True)}) > 1, waits


@pytest.mark.parametrize(("version", "supported"), [
    ("0.5.4", False), ("0.5.5", True), ("0.33.0-rc2", True), ("0.0.0", True), ("v0.12.1", True),
    ("0.4.9", False), ("weird", True),
])  # fmt: skip
async def test_json_create_support_is_read_from_the_version(version: str, supported: bool) -> None:
    asked: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        asked.append(request.url.path)
        return httpx2.Response(200, json={"version": version})

    async with client_for(handler) as client:
        assert await client.server_supports_json_create() is supported
        assert await client.server_supports_json_create() is supported
    assert asked == ["/api/version"]  # asked once per client


async def test_request_bodies_leave_out_unset_fields_and_fix_common_mistakes() -> None:
    sent: list[dict[str, Any]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(json.loads(request.content))
        reply = {"model": "m", "message": {"role": "assistant", "content": "ok"}, "done": True}
        return httpx2.Response(200, json={**reply, "response": "ok"})

    async with client_for(handler) as client:
        await client.generate("m", "hi", images=[b"\x00\x01", "AAE="], keep_alive="-1")
        await client.chat(
            "m",
            [Message(role="user", content="hi"), {"role": "user", "content": "again"}],
            keep_alive="2.5",
            think="low",
            format={"type": "object"},
        )
        await client.generate(" m ", keep_alive="5m")
    assert sent[0] == {
        "model": "m",
        "prompt": "hi",
        "images": ["AAE=", "AAE="],
        "keep_alive": -1,  # a unitless string would be a 400 from Ollama
        "stream": False,
    }
    assert sent[1] == {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}, {"role": "user", "content": "again"}],
        "format": {"type": "object"},
        "keep_alive": 2.5,
        "think": "low",
        "stream": False,
    }
    assert sent[2] == {"model": "m", "prompt": "", "keep_alive": "5m", "stream": False}


async def test_invalid_names_never_reach_the_server() -> None:
    calls: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(request.url.path)
        return httpx2.Response(500)

    async with client_for(handler) as client:
        with pytest.raises(InvalidModelName):
            client.generate_stream("bad name")
        with pytest.raises(InvalidModelName):
            await client.copy("ok", "x:local:cloud")
        with pytest.raises(InvalidModelName):
            await client.create(CreateRequest(model="ok", from_="/abs/path.gguf"))
        with pytest.raises(InvalidModelName):
            client.pull_stream("")
    assert calls == []


@pytest.mark.parametrize(
    ("digest", "normal"),
    [
        ("sha256:" + "ab" * 32, "sha256:" + "ab" * 32),
        ("sha256-" + "AB" * 32, "sha256:" + "ab" * 32),  # POST accepts only this one form
    ],
)
def test_digests_are_normalised_for_the_blob_routes(digest: str, normal: str) -> None:
    assert normalize_digest(digest) == normal


@pytest.mark.parametrize("digest", ["sha256:abc", "md5:" + "0" * 64, "0" * 64])
def test_malformed_digests_are_rejected(digest: str) -> None:
    with pytest.raises(ValueError, match=repr(digest)):
        normalize_digest(digest)


async def test_model_not_found_names_the_model_and_suggests_pulling() -> None:
    body = b'{"error":"model \\"nomic\\" not found, try pulling it first"}'
    async with client_for(answering(404, body, {"content-type": "application/json"})) as client:
        with pytest.raises(ModelNotFound) as caught:
            await client.embed("nomic", "text")
    assert caught.value.model == "nomic"
    assert caught.value.message == 'model "nomic" not found, try pulling it first'
    assert "ollama pull nomic" in str(caught.value)
    assert isinstance(caught.value, LookupError)


# --- the response is closed however a stream ends ---------------------------------------------


class HeldBody(httpx2.AsyncByteStream):
    """Sends its lines, then holds the connection open as a model that is still thinking does;
    records whether the client closed it."""

    def __init__(self, *lines: bytes | dict[str, Any]) -> None:
        self.body = ndjson(*lines)
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.body
        await asyncio.Event().wait()

    async def aclose(self) -> None:
        self.closed = True


def holding(body: HeldBody) -> Handler:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, stream=body, headers=NDJSON)

    return handler


async def test_leaving_a_stream_early_closes_the_response_at_once() -> None:
    body = HeldBody(token("a"), token("b"))
    async with client_for(holding(body)) as client:
        async with aclosing(client.generate_stream("m", "hi")) as chunks:
            async for _ in chunks:
                break
        assert body.closed


async def test_cancelling_a_stream_closes_the_response_at_once() -> None:
    body = HeldBody(token("a"))
    first = asyncio.Event()

    async def consume(client: OllamaClient) -> None:
        async for _ in client.generate_stream("m", "hi"):
            first.set()

    async with client_for(holding(body)) as client:
        task = asyncio.create_task(consume(client))
        await first.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert body.closed


async def test_an_error_line_closes_the_response_at_once() -> None:
    body = HeldBody({"status": "pulling manifest"}, {"error": "max retries exceeded: EOF"})
    async with client_for(holding(body)) as client:
        with pytest.raises(StreamError):
            await client.pull("m")
        assert body.closed


async def test_a_client_closed_before_any_request_refuses_to_send(
    ollama_double: OllamaDouble,
) -> None:
    client = OllamaClient(ollama_double.url)
    await client.aclose()
    with pytest.raises(ClientClosed, match="has been closed; make a new one"):
        await client.version()
    assert ollama_double.requests.entries() == []


@pytest.mark.parametrize(
    ("base", "under"),
    [
        ("127.0.0.1:9", "http://127.0.0.1:9"),
        ("http://127.0.0.1:9/ollama", "http://127.0.0.1:9/ollama"),
        ("http://h:9/a/b/", "http://h:9/a/b"),
    ],
)
async def test_every_request_goes_under_the_base_url_every_time(base: str, under: str) -> None:
    # The joined URLs are kept between calls: a second call must go where the first went.
    seen: list[str] = []
    digest = "sha256:" + "0" * 64

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(f"{request.method} {request.url}")
        if request.url.path.endswith("/api/version"):
            return httpx2.Response(200, json={"version": "0.13.0"})
        return httpx2.Response(200, json={"models": []})

    client = OllamaClient(base, transport=httpx2.MockTransport(handler))
    async with client:
        for _ in range(2):
            await client.version()
            await client.list()
            await client.blob_exists(digest)
    expected = [
        f"GET {under}/api/version",
        f"GET {under}/api/tags",
        f"HEAD {under}/api/blobs/{digest}",
    ]
    assert seen == expected * 2
