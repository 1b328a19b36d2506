"""pull and push: progress that only grows, coalesced, the last value sent; cancellation closes
the stream to Ollama; registry errors; the catalog and clients hear of the change."""

from __future__ import annotations

import itertools

import anyio
import pytest

from tests.ollama_double.server import OllamaDouble
from tests.server.conftest import Connect

Seen = list[tuple[float, float | None, str | None]]


def recorder(seen: Seen) -> object:
    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    return on_progress


def text(result: object) -> str:
    return str(result.content[0].text)  # type: ignore[attr-defined]


async def test_pull_reports_aggregate_progress_and_installs(
    connect: Connect, ollama_double: OllamaDouble
) -> None:
    ollama_double.catalogue.add("big:latest", model_size=4 * 2**20)
    seen: Seen = []
    async with connect() as client:
        result = await client.call_tool(
            "pull_model", {"name": "big"}, progress_callback=recorder(seen)
        )
        listed = await client.call_tool("list_models", {})
    assert not result.is_error, text(result)
    assert result.structured_content is not None
    assert result.structured_content["status"] == "success"
    total = result.structured_content["bytes"]
    assert total > 4_000_000
    values = [p for p, _, _ in seen]
    assert values == sorted(set(values)), "progress must strictly increase"
    assert seen[-1][0] >= total and seen[-1][2] == "success"
    assert "big:latest" in ollama_double.installed_names()
    assert listed.structured_content is not None
    assert "big:latest" in [m["name"] for m in listed.structured_content["models"]]


async def test_a_100000_line_pull_is_coalesced_and_ends_on_the_final_value(
    connect: Connect, ollama_double: OllamaDouble, mode: str
) -> None:
    if mode == "auto":
        pytest.skip("a few seconds of work: once, over JSON-RPC (legacy), is enough")
    ollama_double.catalogue.add("huge:latest", model_size=8 * 2**20)
    ollama_double.progress_steps = 25_000  # per layer: about 100,000 progress lines in all
    seen: Seen = []
    async with connect() as client:
        started = anyio.current_time()
        result = await client.call_tool(
            "pull_model", {"name": "huge"}, progress_callback=recorder(seen)
        )
        elapsed = anyio.current_time() - started
    assert not result.is_error, text(result)
    assert result.structured_content is not None
    values = [p for p, _, _ in seen]
    assert all(b > a for a, b in itertools.pairwise(values))
    assert len(seen) <= elapsed * 10 + 5, (len(seen), elapsed)
    assert seen[-1][0] >= result.structured_content["bytes"]
    assert seen[-1][2] == "success"
    assert any(m and m.startswith("pulling ") and "% of " in m for _, _, m in seen)


async def test_pull_of_an_unknown_model_says_so(connect: Connect) -> None:
    async with connect() as client:
        result = await client.call_tool("pull_model", {"name": "no-such-model"})
    assert result.is_error
    assert text(result).startswith(
        "Error executing tool pull_model: model 'no-such-model' was not found in the registry"
    )
    assert text(result).endswith("check the name and tag at https://ollama.com/library")


async def test_cancelling_a_pull_closes_the_stream_to_ollama(
    connect: Connect, ollama_double: OllamaDouble
) -> None:
    ollama_double.catalogue.add("slow:latest", model_size=8 * 2**20)
    ollama_double.progress_steps = 50_000
    started = anyio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        started.set()

    async with connect() as client, anyio.create_task_group() as group:

        async def pull() -> None:
            await client.call_tool("pull_model", {"name": "slow"}, progress_callback=on_progress)

        group.start_soon(pull)
        await started.wait()
        group.cancel_scope.cancel()
    assert await ollama_double.requests.wait_disconnect_async(10)
    assert "/api/pull" in ollama_double.requests.disconnects


async def test_push_sends_progress_and_reports(connect: Connect) -> None:
    seen: Seen = []
    async with connect() as client:
        await client.call_tool("copy_model", {"source": "llama3.2", "destination": "me/mine"})
        result = await client.call_tool(
            "push_model", {"name": "me/mine"}, progress_callback=recorder(seen)
        )
    assert not result.is_error, text(result)
    assert result.structured_content is not None
    assert result.structured_content["status"] == "success"
    assert text(result).startswith("pushed me/mine (")
    values = [p for p, _, _ in seen]
    assert values and all(b > a for a, b in itertools.pairwise(values))


async def test_push_refused_by_the_registry_is_a_tool_error(connect: Connect) -> None:
    async with connect() as client:
        result = await client.call_tool("push_model", {"name": "llama3.2"})
    assert result.is_error
    assert "unauthorized" in text(result)
