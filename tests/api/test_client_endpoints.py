"""Every `OllamaClient` method against the Ollama test double, streaming and not."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.ollama_double import OllamaDouble, reply_for, thinking_for
from tools.api.bodies import CreateRequest, ToolFunction, ToolSpec
from tools.api.client import OllamaClient
from tools.api.types import ChatResponse, GenerateResponse, Message, ProgressResponse

CHAT_MODEL = "llama3.2"  # completion + tools
EMBED_MODEL = "all-minilm"  # embedding only
THINK_MODEL = "qwen3"  # completion + thinking
PULLABLE = "tinyllama"  # in the double's registry, not installed


@pytest.fixture
async def client(ollama_double: OllamaDouble) -> AsyncIterator[OllamaClient]:
    async with OllamaClient(ollama_double.url, backoff_base=0.001) as ollama:
        yield ollama


async def collect(stream: AsyncIterator[ProgressResponse]) -> list[ProgressResponse]:
    return [line async for line in stream]


# --- server and metadata ---------------------------------------------------------------------


async def test_version_and_heartbeat(client: OllamaClient, ollama_double: OllamaDouble) -> None:
    assert await client.version() == ollama_double.faults.version
    await client.heartbeat()
    assert ollama_double.requests.count("HEAD", "/") == 1


async def test_server_supports_json_create(
    client: OllamaClient, ollama_double: OllamaDouble
) -> None:
    assert await client.server_supports_json_create() is True
    ollama_double.faults.legacy = True  # now 0.5.4, but the answer is cached per client
    assert await client.server_supports_json_create() is True
    assert ollama_double.requests.count("GET", "/api/version") == 1
    async with OllamaClient(ollama_double.url) as fresh:
        assert await fresh.server_supports_json_create() is False


async def test_list(client: OllamaClient, ollama_double: OllamaDouble) -> None:
    listed = await client.list()
    assert [m.name for m in listed.models] == ollama_double.installed_names()
    llama = next(m for m in listed.models if m.name == "llama3.2:latest")
    assert llama.details.family == "llama"
    assert len(llama.digest) == 64 and ":" not in llama.digest
    assert llama.size > 0 and llama.modified_at is not None


async def test_show(client: OllamaClient) -> None:
    shown = await client.show(CHAT_MODEL)
    assert shown.capabilities is not None and "tools" in shown.capabilities
    assert shown.details.family == "llama"
    assert shown.model_info["general.architecture"] == "llama"
    assert "stop" in shown.parameters and shown.template
    verbose = await client.show(CHAT_MODEL, verbose=True)
    assert verbose.model_info.keys() >= shown.model_info.keys()


async def test_show_sends_verbose_only_when_asked(
    client: OllamaClient, ollama_double: OllamaDouble
) -> None:
    await client.show(CHAT_MODEL)
    await client.show(CHAT_MODEL, verbose=True)
    assert ollama_double.requests.bodies("/api/show") == [
        {"model": CHAT_MODEL},
        {"model": CHAT_MODEL, "verbose": True},
    ]


async def test_ps_lists_what_inference_loaded(client: OllamaClient) -> None:
    assert (await client.ps()).models == []
    loaded = await client.generate(CHAT_MODEL)  # an empty prompt only loads
    assert loaded.done_reason == "load"
    running = (await client.ps()).models
    assert [m.name for m in running] == ["llama3.2:latest"]
    assert running[0].context_length and running[0].expires_at is not None
    unloaded = await client.generate(CHAT_MODEL, keep_alive=0)
    assert unloaded.done_reason == "unload"
    assert (await client.ps()).models == []


async def test_copy_and_delete(client: OllamaClient, ollama_double: OllamaDouble) -> None:
    await client.copy(CHAT_MODEL, "me/backup:v1")
    assert "me/backup:v1" in ollama_double.installed_names()
    await client.delete("me/backup:v1")
    assert "me/backup:v1" not in ollama_double.installed_names()
    assert ollama_double.requests.bodies("/api/delete") == [{"model": "me/backup:v1"}]


# --- pull, push, create ----------------------------------------------------------------------


async def test_pull_stream_yields_every_progress_line(
    client: OllamaClient, ollama_double: OllamaDouble
) -> None:
    lines = await collect(client.pull_stream(PULLABLE))
    assert lines[0].status == "pulling manifest"
    assert lines[-1].status == "success"
    layers = [line for line in lines if line.status.startswith("pulling ") and line.digest]
    assert layers and all(line.digest and line.digest.startswith("sha256:") for line in layers)
    assert "tinyllama:latest" in ollama_double.installed_names()
    assert ollama_double.requests.last_body("/api/pull") == {"model": PULLABLE, "stream": True}


async def test_pull_reports_progress_and_returns_the_last_line(
    client: OllamaClient, ollama_double: OllamaDouble
) -> None:
    seen: list[ProgressResponse] = []

    async def on_progress(line: ProgressResponse) -> None:
        seen.append(line)

    last = await client.pull(PULLABLE, insecure=True, on_progress=on_progress)
    assert last.status == "success"
    assert seen[-1] == last and len(seen) > 3
    assert ollama_double.requests.last_body("/api/pull")["insecure"] is True


async def test_push(client: OllamaClient, ollama_double: OllamaDouble) -> None:
    await client.copy(CHAT_MODEL, "me/mine")
    lines = await collect(client.push_stream("me/mine"))
    assert lines[0].status == "retrieving manifest"
    assert [line.status for line in lines[-2:]] == ["pushing manifest", "success"]
    seen: list[str] = []

    async def on_progress(line: ProgressResponse) -> None:
        seen.append(line.status)

    assert (await client.push("me/mine", on_progress=on_progress)).status == "success"
    assert seen[-1] == "success"


async def test_create_stream_from_an_installed_model(
    client: OllamaClient, ollama_double: OllamaDouble
) -> None:
    request = CreateRequest(
        model="me/mario",
        from_=CHAT_MODEL,
        system="You are Mario.",
        parameters={"temperature": 0.5, "stop": ["<|eot_id|>"]},
    )
    lines = await collect(client.create_stream(request))
    assert lines[-1].status == "success"
    assert any(line.status == "writing manifest" for line in lines)
    assert "me/mario:latest" in ollama_double.installed_names()
    sent = ollama_double.requests.last_body("/api/create")
    assert sent["from"] == CHAT_MODEL and "from_" not in sent and sent["stream"] is True
    shown = await client.show("me/mario")
    assert shown.system == "You are Mario."


async def test_create_waits_for_the_end_past_an_inner_pull_success(
    client: OllamaClient,
) -> None:
    seen: list[str] = []

    async def on_progress(line: ProgressResponse) -> None:
        seen.append(line.status)

    last = await client.create(
        CreateRequest(model="me/tiny", from_=PULLABLE, system="Be brief."),
        on_progress=on_progress,
    )
    assert last.status == "success"
    # A create from a model that is not local streams a whole pull, with its own success.
    assert seen.count("success") == 2


# --- inference -------------------------------------------------------------------------------


async def test_generate_stream(client: OllamaClient, ollama_double: OllamaDouble) -> None:
    chunks: list[GenerateResponse] = [
        chunk async for chunk in client.generate_stream(CHAT_MODEL, "why is the sky blue")
    ]
    assert "".join(chunk.response for chunk in chunks) == reply_for("why is the sky blue")
    assert len(chunks) > 2 and all(not chunk.done for chunk in chunks[:-1])
    final = chunks[-1]
    assert final.done and final.done_reason == "stop" and final.context
    assert final.eval_count and final.total_duration
    assert ollama_double.requests.last_body("/api/generate")["stream"] is True


async def test_generate_waits_for_the_whole_answer(
    client: OllamaClient, ollama_double: OllamaDouble
) -> None:
    answer = await client.generate(
        CHAT_MODEL,
        "hello world",
        system="Be terse.",
        options={"temperature": 0, "seed": 1},
        keep_alive="10m",
    )
    assert answer.response == reply_for("hello world")
    assert answer.done and answer.done_reason == "stop"
    sent = ollama_double.requests.last_body("/api/generate")
    assert sent == {
        "model": CHAT_MODEL,
        "prompt": "hello world",
        "system": "Be terse.",
        "options": {"temperature": 0, "seed": 1},
        "keep_alive": "10m",
        "stream": False,
    }


async def test_generate_with_json_format_and_thinking(client: OllamaClient) -> None:
    formatted = await client.generate(CHAT_MODEL, "a b", format="json")
    assert formatted.response == reply_for("a b", "json")
    thought = await client.generate(THINK_MODEL, "deep question", think=True)
    assert thought.thinking == thinking_for("deep question")
    assert thought.response == reply_for("deep question")


async def test_chat_stream(client: OllamaClient) -> None:
    chunks: list[ChatResponse] = [
        chunk
        async for chunk in client.chat_stream(
            THINK_MODEL, [Message(role="user", content="tell me more")], think=True
        )
    ]
    assert all(chunk.message.role == "assistant" for chunk in chunks)
    content = "".join(chunk.message.content for chunk in chunks)
    thinking = "".join(chunk.message.thinking or "" for chunk in chunks)
    assert content == reply_for("tell me more")
    assert thinking == thinking_for("tell me more")
    assert chunks[-1].done and chunks[-1].done_reason == "stop"


async def test_chat_with_tools_history_and_images(
    client: OllamaClient, ollama_double: OllamaDouble
) -> None:
    weather = ToolSpec(
        function=ToolFunction(
            name="get_weather",
            description="Weather in a city",
            parameters={"type": "object", "properties": {"city": {"type": "string"}}},
        )
    )
    messages: list[Message | dict[str, object]] = [
        {"role": "system", "content": "You help."},
        Message(role="user", content="weather in Tokyo", images=["AAE="]),
    ]
    answer = await client.chat(CHAT_MODEL, messages, tools=[weather], options={"num_ctx": 2048})
    assert answer.done and answer.message.role == "assistant"
    sent = ollama_double.requests.last_body("/api/chat")
    assert sent["tools"][0]["function"]["name"] == "get_weather"
    assert sent["messages"][1] == {
        "role": "user",
        "content": "weather in Tokyo",
        "images": ["AAE="],
    }
    assert sent["stream"] is False


async def test_chat_without_messages_loads_the_model(client: OllamaClient) -> None:
    loaded = await client.chat(CHAT_MODEL, [])
    assert loaded.done_reason == "load"


async def test_embed(client: OllamaClient) -> None:
    one = await client.embed(EMBED_MODEL, "hello")
    assert len(one.embeddings) == 1 and len(one.embeddings[0]) == 384
    assert abs(sum(x * x for x in one.embeddings[0]) - 1.0) < 1e-3  # L2-normalised
    two = await client.embed(EMBED_MODEL, ["a", "b"], dimensions=8, truncate=True)
    assert [len(vector) for vector in two.embeddings] == [8, 8]
    assert two.prompt_eval_count


# --- blobs -----------------------------------------------------------------------------------


async def test_blob_upload_heads_first_and_skips_a_blob_already_there(
    client: OllamaClient, ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    data = b"GGUF" + bytes(range(256)) * 4000
    path = tmp_path / "weights.bin"
    path.write_bytes(data)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert await client.blob_exists(digest) is False

    progress: list[tuple[int, int]] = []

    async def on_progress(done: int, total: int) -> None:
        progress.append((done, total))

    assert await client.upload_blob(path, digest, on_progress=on_progress) is True
    assert progress[-1] == (len(data), len(data))
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)
    assert await client.blob_exists(digest) is True
    assert ollama_double.store.has_blob(digest)

    assert await client.upload_blob(path, digest) is False
    assert ollama_double.requests.count_prefix("POST", "/api/blobs/") == 1  # nothing re-sent
    assert ollama_double.requests.count_prefix("HEAD", "/api/blobs/") == 4


async def test_ollama_api_key_is_sent_as_a_bearer_token(
    ollama_double: OllamaDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "secret-key")
    async with OllamaClient(ollama_double.url) as client:
        await client.version()
    async with OllamaClient(ollama_double.url, headers={"authorization": "Bearer mine"}) as client:
        await client.version()
    sent = [h.get("authorization") for h in ollama_double.requests.headers("/api/version")]
    assert sent == ["Bearer secret-key", "Bearer mine"]


async def test_loopback_traffic_never_goes_through_a_proxy(
    ollama_double: OllamaDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As Go's ProxyFromEnvironment: a proxy set for the machine must not catch local Ollama.
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    async with OllamaClient(ollama_double.url, max_retries=0) as client:
        assert await client.version() == ollama_double.faults.version
