"""MCP tasks across three replicas on one double and one Redis (2025-11-25, the era with
`tasks/list` and `tasks/result`): a task-augmented pull started through replica 1 is read,
listed, followed to its end and cancelled through replicas 2 and 3; a replica with another token
does not see it; a replica killed mid-task leaves a record the others report as failed."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import pytest
import redis.asyncio
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp.types import INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST

from tests.ollama_double.server import OllamaDouble
from tests.replicas.conftest import StartReplicas
from tests.replicas.processes import RedisServer, Replica
from tests.replicas.test_shared_pulls import MODEL, make_big
from tests.server.tasks_client import (
    call_as_task,
    cancel_task,
    get_task,
    list_tasks,
    task_result,
    until_task,
)

TOKEN = "team-token-0123456789-abcdefghij"
OTHER_TOKEN = "other-team-9876543210-zyxwvutsrq"
CANCELLED_BY_REQUEST = "cancelled with tasks/cancel"
OWNER_GONE = (
    "the replica running this task stopped before it ended (its lock in Redis expired); "
    "call the tool again"
)


@asynccontextmanager
async def legacy(replica: Replica, token: str = TOKEN) -> AsyncIterator[Client]:
    """A 2025-11-25 client of `replica`, with the team's bearer token."""
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(
            streamable_http_client(replica.mcp, http_client=http),
            mode="legacy",
            read_timeout_seconds=30,
        ) as client,
    ):
        yield client


def team(start_replicas: StartReplicas, count: int, *flags: str) -> list[Replica]:
    return start_replicas(count, "--auth-token", TOKEN, *flags)


async def test_a_task_started_on_one_replica_is_read_listed_and_followed_on_the_others(
    start_replicas: StartReplicas, ollama_double: OllamaDouble
) -> None:
    gate = make_big(ollama_double)
    first, second, third = team(start_replicas, 3)
    async with legacy(first) as one, legacy(second) as two, legacy(third) as three:
        created = await call_as_task(one, "pull_model", {"name": "big"})
        task_id = created["task"]["taskId"]
        # written before it was acknowledged: the others know it at once
        assert (await get_task(two, task_id))["status"] == "working"
        assert task_id in [t["taskId"] for t in (await list_tasks(three))["tasks"]]
        gate.allow(3)
        assert await gate.wait_held_async(lines=3)
        polled = await until_task(two, task_id, lambda t: "%" in t["statusMessage"])
        assert polled["status"] == "working"
        assert polled["statusMessage"].startswith(f"{MODEL}: pulling, ")
        outcome: dict[str, Any] = {}

        async def follow() -> None:
            outcome.update(await task_result(three, task_id))

        async with anyio.create_task_group() as group:
            group.start_soon(follow)
            gate.open()
        ended = await get_task(two, task_id)
        listed = {t["taskId"]: t for t in (await list_tasks(three))["tasks"]}
        owner_view = await get_task(one, task_id)
    assert outcome["structuredContent"]["action"] == "pulled"
    assert outcome["_meta"]["io.modelcontextprotocol/related-task"] == {"taskId": task_id}
    assert ended["status"] == "completed"
    assert ended["statusMessage"].startswith(f"pulled {MODEL}")
    assert listed[task_id]["status"] == "completed"
    assert owner_view == ended
    assert ollama_double.requests.count("POST", "/api/pull") == 1


async def test_a_task_is_cancelled_from_another_replica_and_the_stream_to_ollama_closes(
    start_replicas: StartReplicas, ollama_double: OllamaDouble
) -> None:
    gate = make_big(ollama_double)
    gate.allow(2)
    first, second, third = team(start_replicas, 3)
    async with legacy(first) as one, legacy(second) as two, legacy(third) as three:
        created = await call_as_task(one, "pull_model", {"name": "big"})
        task_id = created["task"]["taskId"]
        assert await gate.wait_held_async(lines=2)
        waited: list[MCPError] = []

        async def follow() -> None:
            with pytest.raises(MCPError) as no_result:
                await task_result(two, task_id)
            waited.append(no_result.value)

        async with anyio.create_task_group() as group:
            group.start_soon(follow)
            cancelled = await cancel_task(three, task_id)
        assert await ollama_double.requests.wait_disconnect_async(10)
        with pytest.raises(MCPError) as again:
            await cancel_task(two, task_id)
        seen = [await get_task(client, task_id) for client in (one, two, three)]
    assert (cancelled["status"], cancelled["statusMessage"]) == ("cancelled", CANCELLED_BY_REQUEST)
    assert all(task == cancelled for task in seen), seen
    assert (waited[0].code, str(waited[0])) == (
        INVALID_REQUEST,
        f"task {task_id} was {CANCELLED_BY_REQUEST}: it has no result; tasks/get shows it",
    )
    assert again.value.code == INVALID_PARAMS
    assert str(again.value) == (
        f"task {task_id} already ended (cancelled): there is nothing to cancel; "
        "tasks/get shows how it ended"
    )
    assert MODEL not in ollama_double.installed_names()


async def test_a_replica_with_another_token_does_not_see_the_task(
    start_replicas: StartReplicas, ollama_double: OllamaDouble
) -> None:
    make_big(ollama_double).allow(1)
    (mine,) = team(start_replicas, 1)
    (theirs,) = start_replicas(1, "--auth-token", OTHER_TOKEN)
    async with legacy(mine) as client:
        task_id = (await call_as_task(client, "pull_model", {"name": "big"}))["task"]["taskId"]
        async with legacy(theirs, OTHER_TOKEN) as other:
            with pytest.raises(MCPError) as unknown:
                await get_task(other, task_id)
            with pytest.raises(MCPError) as not_cancelled:
                await cancel_task(other, task_id)
            listed = (await list_tasks(other))["tasks"]
        assert (await get_task(client, task_id))["status"] == "working"
    assert unknown.value.code == not_cancelled.value.code == INVALID_PARAMS
    assert str(unknown.value).startswith(f"Failed to retrieve task: Task not found ({task_id!r}")
    assert listed == []


async def test_a_replica_killed_mid_task_leaves_a_record_the_others_report_failed(
    start_replicas: StartReplicas, ollama_double: OllamaDouble, redis_server: RedisServer
) -> None:
    gate = make_big(ollama_double)
    doomed, survivor = team(start_replicas, 2, "--state-lock-seconds", "1")
    async with legacy(doomed) as client:
        task_id = (await call_as_task(client, "pull_model", {"name": "big"}))["task"]["taskId"]
        gate.allow(2)
        assert await gate.wait_held_async(lines=2)
    async with (
        redis.asyncio.Redis.from_url(redis_server.url) as watcher,
        legacy(survivor) as other,
    ):
        await watcher.config_set("notify-keyspace-events", "Kx")  # tell us of expired keys
        async with watcher.pubsub() as expiries:
            await expiries.psubscribe(f"__keyspace@0__:ollama-mcp:lock:task:{task_id}")
            doomed.kill()
            # Killed: its record is still there, still running, until its lock expires.
            assert (await get_task(other, task_id))["status"] == "working"
            with anyio.fail_after(10):
                while True:
                    message = await expiries.get_message(
                        ignore_subscribe_messages=True, timeout=None
                    )
                    if message is not None and message["data"] == b"expired":
                        break
        ended = await get_task(other, task_id)
        listed = {t["taskId"]: t["status"] for t in (await list_tasks(other))["tasks"]}
        with pytest.raises(MCPError) as result:
            await task_result(other, task_id)
    assert (ended["status"], ended["statusMessage"]) == ("failed", OWNER_GONE)
    assert ended["ttl"] is not None
    assert listed == {task_id: "failed"}
    assert (result.value.code, str(result.value)) == (INTERNAL_ERROR, OWNER_GONE)


async def test_redis_lost_task_calls_fail_with_the_fix_and_work_again_once_it_is_back(
    start_replicas: StartReplicas, ollama_double: OllamaDouble, redis_server: RedisServer
) -> None:
    ollama_double.catalogue.add("small:latest", model_size=1024)
    first, second = team(start_replicas, 2)
    async with legacy(first) as one:
        task_id = (await call_as_task(one, "pull_model", {"name": "small"}))["task"]["taskId"]
        await task_result(one, task_id)
    redis_server.stop()
    lost = re.compile(
        rf"the shared state store at {re.escape(redis_server.url)} cannot be reached "
        r"\(Error 111 connecting to .+\): this needs state shared by every replica, so it was "
        r"not done; try again once Redis is back \(ollama_status shows it\), or check "
        r"--state-url / OLLAMA_MCP_STATE_URL"
    )
    async with legacy(second) as two:
        for request in (
            get_task(two, task_id),
            list_tasks(two),
            call_as_task(two, "pull_model", {"name": "small"}),
        ):
            with pytest.raises(MCPError) as refused:
                await request
            assert refused.value.code == INTERNAL_ERROR
            assert lost.fullmatch(str(refused.value)), str(refused.value)
    assert ollama_double.requests.count("POST", "/api/pull") == 1  # nothing was sent
    redis_server.start()  # the same port; its append-only file kept what was written
    async with legacy(second) as two:
        assert (await get_task(two, task_id))["status"] == "completed"
        again = (await call_as_task(two, "pull_model", {"name": "small"}))["task"]["taskId"]
        assert (await task_result(two, again))["isError"] is False
