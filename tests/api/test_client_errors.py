"""Ollama's error catalogue (contract 1.4), produced by the double, mapped to our exceptions with
Ollama's message kept word for word."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.ollama_double import OllamaDouble
from tools.api.bodies import CreateRequest, ToolFunction, ToolSpec
from tools.api.client import OllamaClient
from tools.api.names import is_valid_model_name
from tools.errors import (
    InvalidModelName,
    ModelNotFound,
    OllamaAPIError,
    ProtocolError,
    ServerBusy,
    StreamError,
    StreamInterrupted,
    UnsupportedServer,
)

Call = Callable[[OllamaClient], Awaitable[Any]]


@pytest.fixture
async def client(ollama_double: OllamaDouble) -> AsyncIterator[OllamaClient]:
    async with OllamaClient(ollama_double.url, backoff_base=0.001) as ollama:
        yield ollama


async def drain(stream: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in stream]


# --- models that are not there ---------------------------------------------------------------

NOT_FOUND: list[tuple[str, Call, int, str, str]] = [
    ("generate", lambda c: c.generate("llama3", "hi"), 404, "model 'llama3' not found", "llama3"),
    ("generate_stream", lambda c: drain(c.generate_stream("llama3", "hi")), 404,
     "model 'llama3' not found", "llama3"),
    ("chat", lambda c: c.chat("llama3", [{"role": "user", "content": "hi"}]), 404,
     "model 'llama3' not found", "llama3"),
    ("chat_stream", lambda c: drain(c.chat_stream("Llama3:8B", [])), 404,
     "model 'Llama3:8B' not found", "Llama3:8B"),  # the raw request string
    ("embed", lambda c: c.embed("nomic", "hi"), 404,
     'model "nomic" not found, try pulling it first', "nomic"),
    ("show", lambda c: c.show("llama3"), 404, "model 'llama3:latest' not found", "llama3"),
    ("delete", lambda c: c.delete("llama3"), 404, "model 'llama3' not found", "llama3"),
    ("copy", lambda c: c.copy("llama3", "me/copy"), 404, 'model "llama3" not found', "llama3"),
    ("pull", lambda c: c.pull("no-such-model"), 200,
     "pull model manifest: file does not exist", "no-such-model"),
    ("pull_stream", lambda c: drain(c.pull_stream("no-such-model:7b")), 200,
     "pull model manifest: file does not exist", "no-such-model:7b"),
    ("create from a base no registry has",
     lambda c: c.create(CreateRequest(model="me/new", from_="no-such-model")), 200,
     "pull model manifest: file does not exist", "no-such-model"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("call", "status", "message", "model"),
    [case[1:] for case in NOT_FOUND],
    ids=[case[0] for case in NOT_FOUND],
)
async def test_missing_models_raise_model_not_found(
    client: OllamaClient, call: Call, status: int, message: str, model: str
) -> None:
    with pytest.raises(ModelNotFound) as caught:
        await call(client)
    error = caught.value
    assert (error.status, error.message, error.model) == (status, message, model)
    assert message in str(error)
    assert isinstance(error, OllamaAPIError) and isinstance(error, LookupError)


async def test_pushing_a_model_that_is_not_installed(
    client: OllamaClient, ollama_double: OllamaDouble
) -> None:
    lines: list[str] = []
    with pytest.raises(ModelNotFound) as caught:
        async for line in client.push_stream("me/absent"):
            lines.append(line.status)
    assert lines == ["retrieving manifest", "couldn't retrieve manifest"]
    expected = ollama_double.models_dir / "manifests/registry.ollama.ai/me/absent/latest"
    assert caught.value.message == f"open {expected}: no such file or directory"
    assert "not installed locally" in str(caught.value)


async def test_push_refused_by_the_registry_is_a_stream_error(
    client: OllamaClient, ollama_double: OllamaDouble
) -> None:
    await client.copy("llama3.2", "me/mine")
    ollama_double.faults.push_unauthorized = True
    with pytest.raises(StreamError) as caught:
        await client.push("me/mine")
    assert caught.value.message == "unauthorized: access denied"


# --- requests Ollama turns down --------------------------------------------------------------

WEATHER = ToolSpec(function=ToolFunction(name="get_weather", parameters={"type": "object"}))
FQ = "registry.ollama.ai/library"

REJECTED: list[tuple[str, Call, int, str]] = [
    ("generate on an embedding model", lambda c: c.generate("all-minilm", "hi"), 400,
     '"all-minilm" does not support generate'),
    ("chat on an embedding model", lambda c: c.chat("all-minilm", [{"role": "user"}]), 400,
     '"all-minilm" does not support chat'),
    ("think on a model that does not", lambda c: c.generate("llama3.2", "hi", think=True), 400,
     '"llama3.2" does not support thinking'),
    ("suffix without insert", lambda c: c.generate("llama3.2", "a", suffix="b"), 400,
     f"{FQ}/llama3.2:latest does not support insert"),
    ("tools on a model without tools",
     lambda c: c.chat("gemma2:2b", [{"role": "user", "content": "hi"}], tools=[WEATHER]), 400,
     f"{FQ}/gemma2:2b does not support tools"),
    ("raw with a template", lambda c: c.generate("llama3.2", "a", raw=True, template="x"), 400,
     "raw mode does not support template, system, or context"),
    ("an invalid think value", lambda c: c.generate("qwen3", "a", think="lots"), 400,
     'invalid think value: "lots" (must be "high", "medium", "low", "max", true, or false)'),
    ("a keep_alive that is no duration", lambda c: c.generate("llama3.2", keep_alive="abc"), 400,
     'time: invalid duration "abc"'),
    ("an embed input longer than the context without truncation",
     lambda c: c.embed("all-minilm", "word " * 2000, truncate=False), 400,
     "the input length exceeds the context length"),
    ("create with neither from nor files", lambda c: c.create(CreateRequest(model="me/empty")),
     400, "neither 'from' or 'files' was specified"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("call", "status", "message"),
    [case[1:] for case in REJECTED],
    ids=[case[0] for case in REJECTED],
)
async def test_rejections_keep_ollamas_status_and_message(
    client: OllamaClient, call: Call, status: int, message: str
) -> None:
    with pytest.raises(OllamaAPIError) as caught:
        await call(client)
    error = caught.value
    assert type(error) is OllamaAPIError
    assert (error.status, error.message) == (status, message)
    assert isinstance(error, RuntimeError)


async def test_a_changed_file_is_a_digest_mismatch(
    client: OllamaClient, ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    path = tmp_path / "adapter.gguf"
    path.write_bytes(b"first version")
    stale = "sha256:" + hashlib.sha256(b"what it was when hashed").hexdigest()
    actual = "sha256:" + hashlib.sha256(b"first version").hexdigest()
    with pytest.raises(OllamaAPIError) as caught:
        await client.upload_blob(path, stale)
    assert caught.value.status == 400
    assert caught.value.message == f'digest mismatch, expected "{stale}", got "{actual}"'
    # Ollama keeps the mis-sent file under its real digest (contract 2.15).
    assert await client.blob_exists(actual)


async def test_a_malformed_digest_is_refused_before_sending(
    client: OllamaClient, ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x")
    with pytest.raises(ValueError, match="invalid blob digest"):
        await client.upload_blob(path, "sha256:1234")
    with pytest.raises(ValueError, match="invalid blob digest"):
        await client.blob_exists("nope")
    assert ollama_double.requests.entries() == []


async def test_an_old_server_rejects_the_json_create(
    client: OllamaClient, ollama_double: OllamaDouble
) -> None:
    ollama_double.faults.legacy = True
    with pytest.raises(UnsupportedServer) as caught:
        await client.create(CreateRequest(model="me/new", from_="llama3.2"))
    error = caught.value
    assert (error.status, error.message) == (400, "path or Modelfile are required")
    assert "upgrade Ollama to 0.5.5 or newer" in str(error)
    assert isinstance(error, OllamaAPIError)


async def test_busy_server_after_all_retries(
    client: OllamaClient, ollama_double: OllamaDouble
) -> None:
    ollama_double.faults.busy(100)
    with pytest.raises(ServerBusy) as caught:
        await client.list()
    assert caught.value.status == 503
    assert caught.value.message == (
        "server busy, please try again.  maximum pending requests exceeded"
    )


# --- names: refused before anything is sent ---------------------------------------------------

BAD_NAMES: list[tuple[str, Call]] = [
    ("generate", lambda c: c.generate("bad name")),
    ("generate_stream", lambda c: drain(c.generate_stream("m@sha256"))),
    ("chat", lambda c: c.chat("", [])),
    ("chat_stream", lambda c: drain(c.chat_stream("a/b/c/d", []))),
    ("embed", lambda c: c.embed("x:local:cloud", "hi")),
    ("show", lambda c: c.show("dotted.ns/model")),
    ("copy source", lambda c: c.copy("-x", "ok")),
    ("copy destination", lambda c: c.copy("llama3.2", "ok:")),
    ("delete", lambda c: c.delete("//")),
    ("pull", lambda c: c.pull("tiny llama")),
    ("push", lambda c: drain(c.push_stream("me/é"))),
    ("create model", lambda c: c.create(CreateRequest(model="bad!", from_="llama3.2"))),
    ("create from", lambda c: c.create(CreateRequest(model="ok", from_="./model.gguf"))),
]


@pytest.mark.parametrize("call", [case[1] for case in BAD_NAMES], ids=[c[0] for c in BAD_NAMES])
async def test_invalid_names_are_refused_before_sending(
    client: OllamaClient, ollama_double: OllamaDouble, call: Call
) -> None:
    with pytest.raises(InvalidModelName) as caught:
        await call(client)
    assert "invalid model name" in str(caught.value)
    assert ollama_double.requests.entries() == []


async def test_protocol_error_is_not_an_api_error() -> None:
    # Callers that catch OllamaAPIError must not swallow a reply we could not read.
    assert not issubclass(ProtocolError, OllamaAPIError)
    assert issubclass(StreamInterrupted, ConnectionError)


GRAMMAR_SAMPLES = [
    "llama3", "me/m:v1", "h.io:5000/ns/m:t", "http://h.io/ns/m", "Mixed_Case.1-x:T.2",
    "m" * 80, "m" * 81, "mm:", "/nn/mm", "hh//", "m@d", "bad/na/me/x", "dotted.ns/m", "-x",
    "x:-y", "sp ace", "héllo", "a:b:c", "x:cloud", "x:8b-cloud", "x:local", "ftp://h/n/m",
    "a@b://h/n/m", "h:///n/m", "://h/n/m", "a://b://h/n/m", "9://a/a/a",
]  # fmt: skip


async def test_the_client_grammar_agrees_with_the_server(ollama_double: OllamaDouble) -> None:
    """Names the client refuses are exactly those the server calls invalid."""
    async with httpx2.AsyncClient(base_url=ollama_double.url) as raw:
        for name in GRAMMAR_SAMPLES:
            answer = await raw.post("/api/show", json={"model": name})
            server_says_invalid = answer.status_code == 400 and answer.json()["error"] in {
                "invalid model name",
                f'use either :local or :cloud, not both: "{name}"',
            }
            assert server_says_invalid == (not is_valid_model_name(name)), (name, answer.text)


def test_the_client_grammar_agrees_with_the_server_on_any_name(
    ollama_double: OllamaDouble,
) -> None:
    with httpx2.Client(base_url=ollama_double.url) as raw:

        @settings(max_examples=150, deadline=None)
        @given(name=st.text(alphabet="aZ9_-.:/@ é", min_size=1, max_size=16))
        def agrees(name: str) -> None:
            # The client sends names stripped of surrounding whitespace, as Ollama reads them.
            answer = raw.post("/api/show", json={"model": name.strip()})
            server_says_invalid = answer.status_code == 400
            assert server_says_invalid == (not is_valid_model_name(name)), (name, answer.text)

        agrees()
