"""Background pulls against the double with a slow, long pull: the double's gate lets the pull's
lines out only as each test allows, and tests wait on notifications and the double's events,
never on the clock."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from anyio.abc import ObjectReceiveStream
from mcp import Client
from mcp.types import ResourceUpdatedNotification

from tests.ollama_double.server import OllamaDouble
from tests.server.conftest import Connect

pytestmark = pytest.mark.filterwarnings("ignore:resources/subscribe is removed")  # legacy era

PULLS_URI = "ollama://pulls"
MODEL = "big:latest"


def text(result: Any) -> str:
    return str(result.content[0].text)


def make_big(double: OllamaDouble, steps: int = 4) -> Any:
    """A model of about 2 MB whose pull waits at the gate for every line."""
    double.catalogue.add(MODEL, model_size=2 * 2**20)
    double.progress_steps = steps
    return double.faults.gate("/api/pull")


@asynccontextmanager
async def following(
    connect: Connect, mode: str
) -> AsyncIterator[tuple[Client, ObjectReceiveStream[str]]]:
    """A client and the URIs of the resource updates it hears, in either protocol era."""
    send, receive = anyio.create_memory_object_stream[str](1000)

    async def on_message(message: object) -> None:
        root = getattr(message, "root", message)
        if isinstance(root, ResourceUpdatedNotification):
            await send.send(str(root.params.uri))

    options: dict[str, Any] = {"message_handler": on_message} if mode == "legacy" else {}
    async with connect(**options) as client:
        if mode == "legacy":
            for uri in (PULLS_URI, "ollama://models"):
                await client.subscribe_resource(uri)
            yield client, receive
            return
        async with (
            client.listen(resource_subscriptions=[PULLS_URI, "ollama://models"]) as events,
            anyio.create_task_group() as group,
        ):

            async def relay() -> None:
                async for event in events:
                    uri = getattr(event, "uri", None)
                    if uri is not None:
                        await send.send(str(uri))

            group.start_soon(relay)
            yield client, receive
            group.cancel_scope.cancel()


async def status(client: Client, name: str = MODEL) -> dict[str, Any]:
    result = await client.call_tool("pull_status", {"name": name})
    assert not result.is_error, text(result)
    assert result.structured_content is not None
    pulls = result.structured_content["pulls"]
    return dict(pulls[-1])


async def until_status(
    client: Client, done: Callable[[dict[str, Any]], bool], seen: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Read pull_status until `done` holds: the double has sent the lines, and the server reads
    them on its own time. Each read is a round trip; every record read goes into `seen`."""
    with anyio.fail_after(10):
        while True:
            record = await status(client)
            if seen is not None:
                seen.append(record)
            if done(record):
                return record


async def until_ended(client: Client, updates: ObjectReceiveStream[str]) -> dict[str, Any]:
    """The record once the pull has ended, waiting on `ollama://pulls` updates in between."""
    with anyio.fail_after(15):
        while True:
            record = await status(client)
            if record["ended_at"] is not None:
                return record
            while await updates.receive() != PULLS_URI:
                pass


async def test_a_background_pull_returns_at_once_and_pull_status_follows_it(
    connect: Connect, mode: str, ollama_double: OllamaDouble
) -> None:
    gate = make_big(ollama_double)
    async with following(connect, mode) as (client, updates):
        result = await client.call_tool("pull_model", {"name": "big", "background": True})
        # It answered while Ollama had sent nothing yet: the call did not wait for the pull.
        assert await gate.wait_held_async(lines=0)
        assert gate.passed == 0
        assert not result.is_error, text(result)
        assert result.structured_content is not None
        task_id = result.structured_content["task_id"]
        assert result.structured_content == {
            "model": MODEL, "action": "started", "status": "pulling", "bytes": 0, "layers": 0,
            "task_id": task_id,
        }  # fmt: skip
        assert text(result) == (
            "pulling big:latest in the background (started): follow it with pull_status name "
            '"big:latest", the resource ollama://pulls or tasks/get of task '
            f"{task_id}; stop it with cancel_pull"
        )
        seen: list[dict[str, Any]] = []
        for lines in (3, 5, 9):  # each step lets out at least one more `completed` line
            gate.allow(lines - gate.passed)
            assert await gate.wait_held_async(lines=lines)
            before = seen[-1]["bytes_done"] if seen else 0
            await until_status(client, lambda r, b=before: r["bytes_done"] > b, seen)
        described = text(await client.call_tool("pull_status", {}))
        gate.open()
        final = await until_ended(client, updates)
    assert re.fullmatch(
        r"big:latest: pulling, [\d.]+ [KM]?B of [\d.]+ MB \(\d+%\), [\d.]+ [KMG]?B/s, "
        r"about \d+ s left",
        described,
    ), described
    assert seen[-1]["bytes_per_second"] > 0 and seen[-1]["eta_seconds"] >= 0
    assert final["eta_seconds"] is None
    done = [r["bytes_done"] for r in seen] + [final["bytes_done"]]
    assert done == sorted(done), "bytes done must never go back"
    assert all(r["status"] == "pulling" and r["ended_at"] is None for r in seen)
    assert seen[-1]["bytes_total"] >= seen[-1]["bytes_done"] > 0
    assert seen[-1]["message"].startswith("pulling ") and "% of " in seen[-1]["message"]
    assert final["status"] == "success"
    assert final["error"] is None and final["message"] == "success"
    assert final["bytes_done"] == final["bytes_total"] > 2_000_000
    assert final["layers"] >= 2 and final["background"] is True
    assert final["started_at"] <= final["ended_at"]
    assert MODEL in ollama_double.installed_names()


async def test_the_pulls_resource_notifies_and_the_model_list_on_success(
    connect: Connect, mode: str, ollama_double: OllamaDouble
) -> None:
    gate = make_big(ollama_double)
    async with following(connect, mode) as (client, updates):
        await client.call_tool("pull_model", {"name": "big", "background": True})
        with anyio.fail_after(5):
            heard = [await updates.receive()]  # started
            gate.open()
            while "ollama://models" not in heard:
                heard.append(await updates.receive())
        read = await client.read_resource(PULLS_URI)
    assert heard[0] == PULLS_URI
    assert heard.count(PULLS_URI) >= 2  # started, then (at least) ended before the model list
    listed = json.loads(read.contents[0].text)  # type: ignore[union-attr]
    assert [(r["model"], r["status"]) for r in listed["pulls"]] == [(MODEL, "success")]


async def test_every_phase_is_announced_on_ollama_pulls(
    connect: Connect, mode: str, ollama_double: OllamaDouble
) -> None:
    gate = make_big(ollama_double)
    async with following(connect, mode) as (client, updates):
        await client.call_tool("pull_model", {"name": "big", "background": True})
        with anyio.fail_after(5):
            assert await updates.receive() == PULLS_URI  # started
        phases = [(await status(client))["status"]]
        gate.open()
        with anyio.fail_after(10):
            while phases[-1] != "success":
                if await updates.receive() == PULLS_URI:
                    phases.append((await status(client))["status"])
    assert phases[0] == "pulling"
    assert phases[-1] == "success"
    assert "verifying" in phases or len(phases) == 2  # verifying may pass before it is read


async def test_a_second_call_joins_the_same_pull(
    connect: Connect, mode: str, ollama_double: OllamaDouble
) -> None:
    gate = make_big(ollama_double)
    gate.allow(1)
    joined = anyio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        joined.set()

    async with connect() as client:
        first = await client.call_tool("pull_model", {"name": "big", "background": True})
        second = await client.call_tool("pull_model", {"name": "big:latest", "background": True})
        assert await gate.wait_held_async(lines=1)
        outcome: dict[str, Any] = {}
        async with anyio.create_task_group() as group:

            async def foreground() -> None:
                result = await client.call_tool(
                    "pull_model", {"name": "BIG"}, progress_callback=on_progress
                )
                outcome.update(result.structured_content or {"error": text(result)})

            group.start_soon(foreground)
            with anyio.fail_after(5):
                await joined.wait()
            gate.open()
    assert first.structured_content is not None and second.structured_content is not None
    assert first.structured_content["action"] == "started"
    assert second.structured_content["action"] == "joined"
    assert outcome["action"] == "pulled" and outcome["status"] == "success"
    assert ollama_double.requests.count("POST", "/api/pull") == 1


async def test_cancel_pull_closes_the_stream_to_ollama(
    connect: Connect, mode: str, ollama_double: OllamaDouble
) -> None:
    gate = make_big(ollama_double)
    gate.allow(3)
    async with connect() as client:
        await client.call_tool("pull_model", {"name": "big", "background": True})
        assert await gate.wait_held_async(lines=3)
        cancelled = await client.call_tool("cancel_pull", {"name": "big"})
        assert await ollama_double.requests.wait_disconnect_async(10)
        after = await status(client)
        again = await client.call_tool("cancel_pull", {"name": "big"})
        unknown = await client.call_tool("cancel_pull", {"name": "tinyllama"})
    assert not cancelled.is_error, text(cancelled)
    assert cancelled.structured_content is not None
    assert cancelled.structured_content["status"] == "cancelled"
    assert cancelled.structured_content["error"] == "cancelled with cancel_pull"
    assert text(cancelled).startswith("big:latest: cancelled at ")
    assert text(cancelled).endswith(" UTC: cancelled with cancel_pull")
    assert ollama_double.requests.disconnects == ["/api/pull"]
    assert after == cancelled.structured_content  # pull_status says the same from now on
    assert MODEL not in ollama_double.installed_names()
    assert again.is_error
    assert text(again).startswith(
        "Error executing tool cancel_pull: no pull of big:latest is running: the last one ended "
        "cancelled at "
    )
    assert text(again).endswith(" UTC; pull_status shows it")
    assert unknown.is_error
    assert text(unknown) == (
        "Error executing tool cancel_pull: no pull of tinyllama is running or ended in the "
        "last 3600 s: pull_status lists the pulls"
    )


async def test_a_failed_pull_records_ollamas_error_text(
    connect: Connect, mode: str, ollama_double: OllamaDouble
) -> None:
    make_big(ollama_double).open()
    ollama_double.faults.error_after_lines(4, "max retries exceeded: EOF", path="/api/pull")
    async with following(connect, mode) as (client, updates):
        await client.call_tool("pull_model", {"name": "big", "background": True})
        final = await until_ended(client, updates)
        listed = await client.call_tool("pull_status", {})
    assert final["status"] == "failed"
    assert final["error"] == "Ollama error (in the stream): max retries exceeded: EOF"
    assert listed.structured_content is not None
    assert len(listed.structured_content["pulls"]) == 1
    assert text(listed).endswith(" UTC: Ollama error (in the stream): max retries exceeded: EOF")


async def test_an_unknown_model_fails_with_the_registry_text(
    connect: Connect, mode: str, ollama_double: OllamaDouble
) -> None:
    async with following(connect, mode) as (client, updates):
        await client.call_tool("pull_model", {"name": "no-such-model", "background": True})
        final = await until_ended_for(client, updates, "no-such-model")
    assert final["status"] == "failed"
    assert final["error"] == (
        "model 'no-such-model' was not found in the registry (pull model manifest: file does "
        "not exist): check the name and tag at https://ollama.com/library"
    )


async def until_ended_for(
    client: Client, updates: ObjectReceiveStream[str], name: str
) -> dict[str, Any]:
    with anyio.fail_after(15):
        while True:
            record = await status(client, name)
            if record["ended_at"] is not None:
                return record
            while await updates.receive() != PULLS_URI:
                pass


async def test_a_foreground_caller_that_cancels_leaves_a_shared_pull_running(
    connect: Connect, mode: str, ollama_double: OllamaDouble
) -> None:
    gate = make_big(ollama_double)
    gate.allow(2)
    heard = anyio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        heard.set()

    async with connect() as client:
        await client.call_tool("pull_model", {"name": "big", "background": True})
        async with anyio.create_task_group() as group:

            async def foreground() -> None:
                await client.call_tool("pull_model", {"name": "big"}, progress_callback=on_progress)

            group.start_soon(foreground)
            with anyio.fail_after(5):
                await heard.wait()
            group.cancel_scope.cancel()
        gate.allow(1)
        assert await gate.wait_held_async(lines=3)  # the pull went on after the call left
        still = await status(client)
        await client.call_tool("cancel_pull", {"name": "big"})
        assert await ollama_double.requests.wait_disconnect_async(10)
    assert still["status"] == "pulling" and still["ended_at"] is None
    assert ollama_double.requests.disconnects == ["/api/pull"]  # by cancel_pull alone


async def test_pull_status_without_pulls_and_for_an_unknown_model(connect: Connect) -> None:
    async with connect() as client:
        empty = await client.call_tool("pull_status", {})
        unknown = await client.call_tool("pull_status", {"name": "tinyllama"})
    assert empty.structured_content == {"pulls": []}
    assert text(empty) == "no pulls running or recently ended"
    assert unknown.is_error
    assert text(unknown) == (
        "Error executing tool pull_status: no pull of tinyllama is running or ended in the "
        "last 3600 s: start one with pull_model"
    )


async def test_package_finetune_pulls_a_missing_base_in_the_background(connect: Connect) -> None:
    async with connect() as client:
        prompt = await client.get_prompt(
            "package_finetune",
            {"adapter_path": "/work/out", "base_model": "mistral:7b", "name": "mine"},
        )
    plan = prompt.messages[0].content.text  # type: ignore[union-attr]
    assert (
        'If it is not installed, call pull_model with name\n   "mistral:7b" and background true'
        in (plan)
    )
    assert "call pull_status with that name until it says\n   success" in plan
