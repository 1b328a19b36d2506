"""Pulls across three replicas on one double and one Redis: one request to Ollama for the whole
replicas; a pull started through replica 1 is read, followed and cancelled through replicas 2 and 3;
a replica killed mid-pull leaves a record the others report."""

from __future__ import annotations

from typing import Any

import anyio
import redis.asyncio
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.ollama_double.server import OllamaDouble
from tests.replicas.conftest import StartReplicas
from tests.replicas.processes import RedisServer
from tests.server.reliability.helpers import structured, text

MODEL = "big:latest"
OWNER_GONE = (
    "the replica running this pull stopped before it ended (its lock in Redis expired); "
    "pull the model again"
)


def make_big(double: OllamaDouble) -> Any:
    double.catalogue.add(MODEL, model_size=2 * 2**20)
    double.progress_steps = 4
    return double.faults.gate("/api/pull")


async def pull(url: str, **arguments: Any) -> dict[str, Any]:
    async with Client(streamable_http_client(url)) as client:
        result = await client.call_tool("pull_model", {"name": "big", **arguments})
    assert not result.is_error, text(result)
    return structured(result)


async def last_record(url: str) -> dict[str, Any]:
    async with Client(streamable_http_client(url)) as client:
        result = await client.call_tool("pull_status", {"name": "big"})
    assert not result.is_error, text(result)
    return dict(structured(result)["pulls"][-1])


async def test_two_replicas_pulling_one_model_make_one_request_to_ollama(
    start_replicas: StartReplicas, ollama_double: OllamaDouble
) -> None:
    gate = make_big(ollama_double)
    first, second, third = start_replicas(3)
    assert (await pull(first.mcp, background=True))["action"] == "started"
    assert (await pull(second.mcp, background=True))["action"] == "joined"
    gate.allow(3)
    assert await gate.wait_held_async(lines=3)
    progressed = anyio.Event()

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progressed.set()

    async with Client(streamable_http_client(third.mcp)) as client, anyio.create_task_group() as tg:
        outcome: dict[str, Any] = {}

        async def follow() -> None:
            result = await client.call_tool(
                "pull_model", {"name": "big"}, progress_callback=on_progress
            )
            outcome.update(structured(result))

        tg.start_soon(follow)
        with anyio.fail_after(10):
            await progressed.wait()  # the third replica follows the pull already running
        gate.open()
    assert outcome["action"] == "pulled"
    assert ollama_double.requests.count("POST", "/api/pull") == 1
    for replica in (first, second, third):
        assert (await last_record(replica.mcp))["status"] == "success"


async def test_a_pull_started_on_one_replica_is_read_and_cancelled_on_the_others(
    start_replicas: StartReplicas, ollama_double: OllamaDouble
) -> None:
    gate = make_big(ollama_double)
    first, second, third = start_replicas(3)
    started = await pull(first.mcp, background=True)
    assert started["action"] == "started"
    gate.allow(3)
    assert await gate.wait_held_async(lines=3)
    for replica in (second, third):
        record = await last_record(replica.mcp)
        assert (record["model"], record["status"], record["ended_at"]) == (MODEL, "pulling", None)
    async with Client(streamable_http_client(third.mcp)) as client:
        cancelled = await client.call_tool("cancel_pull", {"name": "big"})
    assert not cancelled.is_error, text(cancelled)
    assert (structured(cancelled)["status"], structured(cancelled)["error"]) == (
        "cancelled",
        "cancelled with cancel_pull",
    )
    for replica in (first, second):
        assert (await last_record(replica.mcp))["status"] == "cancelled"
    assert ollama_double.requests.count("POST", "/api/pull") == 1


async def test_a_replica_killed_mid_pull_leaves_a_record_the_others_report(
    start_replicas: StartReplicas, ollama_double: OllamaDouble, redis_server: RedisServer
) -> None:
    gate = make_big(ollama_double)
    doomed, survivor = start_replicas(2, "--state-lock-seconds", "1")
    await pull(doomed.mcp, background=True)
    gate.allow(2)
    assert await gate.wait_held_async(lines=2)
    async with redis.asyncio.Redis.from_url(redis_server.url) as watcher:
        await watcher.config_set("notify-keyspace-events", "Kx")  # tell us of expired keys
        async with watcher.pubsub() as expiries:
            await expiries.psubscribe("__keyspace@0__:ollama-mcp:lock:pull:*")
            doomed.kill()
            # Killed: its record is still there, still running, until its lock expires.
            assert (await last_record(survivor.mcp))["status"] == "pulling"
            with anyio.fail_after(10):
                while True:
                    message = await expiries.get_message(
                        ignore_subscribe_messages=True, timeout=None
                    )
                    if message is not None and message["data"] == b"expired":
                        break
    ended = await last_record(survivor.mcp)
    assert (ended["status"], ended["error"]) == ("failed", OWNER_GONE)
    assert ended["ended_at"] is not None
