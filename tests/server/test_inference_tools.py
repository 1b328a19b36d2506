"""generate, chat and embed: answers, progress while they run, cancellation, image paths."""

from __future__ import annotations

import itertools
from pathlib import Path

import anyio

from tests.ollama_double.server import OllamaDouble
from tests.server.conftest import Connect

LONG_PROMPT = " ".join(f"word{i}" for i in range(40))


def text(result: object) -> str:
    return str(result.content[0].text)  # type: ignore[attr-defined]


async def test_generate_returns_the_answer_as_text(connect: Connect) -> None:
    async with connect() as client:
        result = await client.call_tool(
            "generate", {"model": "llama3.2", "prompt": "hello there", "options": {"seed": 1}}
        )
    assert not result.is_error
    assert text(result) == "Echo: hello there"
    assert result.structured_content is not None
    assert result.structured_content["response"] == "Echo: hello there"
    assert result.structured_content["done_reason"] == "stop"


async def test_a_long_generate_keeps_reporting(
    connect: Connect, ollama_double: OllamaDouble
) -> None:
    ollama_double.faults.token_delay = 0.05
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    async with connect() as client:
        result = await client.call_tool(
            "generate", {"model": "llama3.2", "prompt": LONG_PROMPT}, progress_callback=on_progress
        )
    assert not result.is_error
    assert len(seen) >= 5  # about two seconds of tokens, reported about ten times a second
    assert all(b > a for a, b in itertools.pairwise(seen))


async def test_cancelling_a_generate_closes_the_stream(
    connect: Connect, ollama_double: OllamaDouble
) -> None:
    ollama_double.faults.token_delay = 0.2
    started = anyio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        started.set()

    async with connect() as client, anyio.create_task_group() as group:

        async def run() -> None:
            await client.call_tool(
                "generate",
                {"model": "llama3.2", "prompt": LONG_PROMPT},
                progress_callback=on_progress,
            )

        group.start_soon(run)
        await started.wait()
        group.cancel_scope.cancel()
    assert await ollama_double.requests.wait_disconnect_async(10)
    assert "/api/generate" in ollama_double.requests.disconnects


async def test_chat_with_a_tool_call(connect: Connect) -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
    async with connect() as client:
        result = await client.call_tool(
            "chat",
            {
                "model": "llama3.2",
                "messages": [{"role": "user", "content": "get_weather city=Paris"}],
                "tools": tools,
            },
        )
    assert not result.is_error, text(result)
    assert result.structured_content is not None
    calls = result.structured_content["tool_calls"]
    assert calls[0]["function"]["name"] == "get_weather"
    assert "tool call: get_weather(" in text(result)


async def test_embed_one_and_several(connect: Connect) -> None:
    async with connect() as client:
        one = await client.call_tool("embed", {"model": "all-minilm", "input": "hi"})
        two = await client.call_tool("embed", {"model": "all-minilm", "input": ["a", "b"]})
    assert one.structured_content is not None and two.structured_content is not None
    assert one.structured_content["dimensions"] == 384
    assert len(two.structured_content["embeddings"]) == 2
    assert text(two).startswith("2 embedding(s) of 384 dimensions from all-minilm")


async def test_generate_with_a_model_not_installed(connect: Connect) -> None:
    async with connect() as client:
        result = await client.call_tool("generate", {"model": "ghost", "prompt": "x"})
    assert result.is_error
    assert text(result) == (
        "Error executing tool generate: model 'ghost' is not installed: pull it with pull_model, "
        "or call list_models for the installed names"
    )


async def test_an_image_outside_the_allowed_folders_is_refused(
    connect: Connect, tmp_path: Path, allowed_dir: Path
) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG secret")
    async with connect() as client:
        result = await client.call_tool(
            "generate", {"model": "llama3.2", "prompt": "x", "images": [str(secret)]}
        )
    assert result.is_error
    assert text(result) == (
        f"Error executing tool generate: refusing to read {str(secret)!r}: it is outside the "
        f"allowed folders ({allowed_dir}); to allow a folder, add it to your MCP client's roots, "
        "or start the server with --allow-dir DIR (env OLLAMA_MCP_ALLOW_DIRS)"
    )


async def test_an_image_inside_the_allowed_folder_is_sent(
    connect: Connect, allowed_dir: Path, ollama_double: OllamaDouble
) -> None:
    picture = allowed_dir / "cat.png"
    picture.write_bytes(b"\x89PNG cat")
    async with connect() as client:
        result = await client.call_tool(
            "generate", {"model": "llama3.2", "prompt": "x", "images": ["cat.png"]}
        )
    assert not result.is_error, text(result)
    body = ollama_double.requests.last_body("/api/generate")
    assert body["images"] == ["iVBORyBjYXQ="]
