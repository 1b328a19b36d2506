"""Replicas sharing state through Redis against one server on its own, over streamable HTTP on
one double: `list_models`, `tasks/get` of a live task and a pull record read (`pull_status`)
through three replicas with Redis, round robin, against the same calls to one replica without
Redis (whose tasks live in tasks.json and whose cache has a memory front).

With Redis every call reads the shared store: the metadata cache keeps no memory front (another
replica may invalidate it), and a task's record and its lock are read on each `tasks/get` (the
replica running it may have died). The live tasks are task-augmented pulls held at the double's
gate (2025-11-25 sessions, whose SSE events the replicas keep in Redis for `Last-Event-ID`),
started on every replica in turn, so most polls reach a replica that does not run the task.
All sides alternate in blocks after a warm-up; each figure is the median of single calls.

What the ratio is made of, in each figure's details: round robin over three processes costs
something of its own on a small machine (each call finds a process whose caches went cold while
the others ran), measured as the same calls round robin over three replicas *without* Redis; and
one Redis round trip, measured as a GET from this process to the same Redis in the same run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from typing import Any, Literal

import anyio
import httpx2
import redis.asyncio
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from bench.common import Figure, Workspace, median
from tests.ollama_double import OllamaDouble, running_double
from tests.replicas.processes import RedisServer, Replica
from tests.server.tasks_client import call_as_task, get_task

BLOCK = 25
WARM_UP = 10
REPLICAS = 3
SMALL = "small:latest"
LIVE_TASKS = 12  # per side: pulls held at the double's gate, four started on each replica
SIDES = ("shared", "single", "apart")  # with Redis; one without; three without
# Tasks are bound to whoever started them: over HTTP, the bearer token (any replica with the
# same token reads them; without one, only the session that started a task does).
TOKEN = "bench-team-token-0123456789abcdef"
Call = Callable[[], Awaitable[None]]
Mode = Literal["auto", "legacy"]


def run(workspace: Workspace) -> list[Figure]:
    with running_double(workspace.folder("replicas-models")) as double:
        double.catalogue.add(SMALL, model_size=1024)
        for side in SIDES:  # a model per task: no two servers without Redis pull the same
            for n in range(LIVE_TASKS):
                double.catalogue.add(f"{side}{n}:latest", model_size=2**20)
        redis_server = RedisServer(workspace.folder("replicas-redis"))
        redis_server.start()
        started: list[Replica] = []
        try:
            folder = workspace.folder("replicas")
            for i in range(2 * REPLICAS):
                state_url = redis_server.url if i < REPLICAS else None
                cache = folder / (f"cache{i}" if state_url else f"alone{i}")
                started.append(Replica(double, state_url, cache, "--auth-token", TOKEN))
            for replica in started:
                replica.ready()
            group, alone = started[:REPLICAS], started[REPLICAS:]
            return anyio.run(_measure, workspace, double, redis_server, group, alone)
        finally:
            gate = double.faults.gate_for("/api/pull")
            if gate is not None:
                gate.open()  # the held pulls end, so the replicas stop at once
            for replica in started:
                replica.stop()
            redis_server.stop()


async def _measure(
    workspace: Workspace,
    double: OllamaDouble,
    redis_server: RedisServer,
    group: list[Replica],
    alone: list[Replica],
) -> list[Figure]:
    calls = workspace.settings.mcp_calls
    async with AsyncExitStack() as stack:
        headers = {"Authorization": f"Bearer {TOKEN}"}

        async def clients(replicas: Sequence[Replica], mode: Mode = "auto") -> list[Client]:
            made = []
            for replica in replicas:
                http = await stack.enter_async_context(httpx2.AsyncClient(headers=headers))
                transport = streamable_http_client(replica.mcp, http_client=http)
                made.append(await stack.enter_async_context(Client(transport, mode=mode)))
            return made

        # For tools/call: the newest era, as clients speak it. Each side: with Redis, one
        # replica without, three without (the first of them is the one).
        plain = {"shared": await clients(group), "single": await clients(alone[:1])}
        plain["apart"] = [*plain["single"], *await clients(alone[1:])]
        for client in plain["apart"]:  # a record to read on each replica of its own
            await _ok(client, "pull_model", {"name": SMALL})
        await _ok(plain["shared"][0], "pull_model", {"name": SMALL})  # one for all of them

        double.faults.gate("/api/pull")  # from now on every pull waits: its task stays live
        tasking = {"shared": await clients(group, "legacy")}
        tasking["single"] = await clients(alone[:1], "legacy")
        tasking["apart"] = [*tasking["single"], *await clients(alone[1:], "legacy")]
        live = {side: await _held_tasks(tasking[side], side) for side in SIDES}
        probe = redis.asyncio.Redis.from_url(redis_server.url)
        stack.push_async_callback(probe.aclose)

        figures = []
        for key, title, tool, arguments in (
            ("mcp_replicas_list", "list_models through replicas with Redis over one without",
             "list_models", {}),
            ("mcp_replicas_tasks_get", "tasks/get through replicas with Redis over one without",
             "tasks/get", {}),
            ("mcp_replicas_record", "pull_status through replicas with Redis over one without",
             "pull_status", {"name": SMALL}),
        ):  # fmt: skip
            if tool == "tasks/get":  # replicas without Redis know only the tasks they run
                works = [_polling(tasking[s], live[s], on_owner=s == "apart") for s in SIDES]
            else:
                works = [_round_robin(plain[side], tool, arguments) for side in SIDES]
            with_redis, on_its_own, without_redis = await _alternate(works, calls)
            round_trip = await _round_trips(probe, calls)
            figures.append(
                Figure.of(
                    key,
                    title,
                    median(with_redis) * 1e3,
                    median(on_its_own) * 1e3,
                    ratio_of=f"median {tool} over HTTP, {len(group)} replicas sharing Redis "
                    "(round robin) / one replica without Redis",
                    unit="ms",
                    healthy="under 1.3",
                    details={
                        "calls_each": calls,
                        "replicas": len(group),
                        **({"live_tasks": LIVE_TASKS} if tool == "tasks/get" else {}),
                        # the round robin's own share: three replicas, none with Redis
                        "round_robin_without_redis_ms": round(median(without_redis) * 1e3, 3),
                        "round_robin_without_redis_ratio": round(
                            median(without_redis) / median(on_its_own), 3
                        ),
                        "redis_round_trip_ms": round(round_trip * 1e3, 3),  # one GET, from here
                        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
                    },
                )
            )
    return figures


async def _held_tasks(clients: list[Client], side: str) -> list[str]:
    """Start `LIVE_TASKS` task-augmented pulls, on each client in turn; their task ids."""
    ids = []
    for n in range(LIVE_TASKS):
        client = clients[n % len(clients)]
        created = await call_as_task(client, "pull_model", {"name": f"{side}{n}"})
        if "task" not in created:
            raise RuntimeError(f"the bench's task-augmented pull was not a task: {created}")
        ids.append(str(created["task"]["taskId"]))
    return ids


def _round_robin(clients: list[Client], tool: str, arguments: dict[str, Any]) -> Call:
    turn = 0

    async def call() -> None:
        nonlocal turn
        turn += 1
        await _ok(clients[turn % len(clients)], tool, arguments)

    return call


def _polling(clients: list[Client], ids: list[str], *, on_owner: bool) -> Call:
    """`tasks/get` on the next replica each time, of each live task in turn: any task (offset,
    as there are four tasks per replica), or, `on_owner`, one that replica runs (task n was
    started on client n % len(clients))."""
    turn = 0

    async def poll() -> None:
        nonlocal turn
        turn += 1
        client = clients[turn % len(clients)]
        task_id = ids[turn % len(ids)] if on_owner else ids[(turn // len(clients)) % len(ids)]
        task = await get_task(client, task_id)
        if task["status"] != "working":
            raise RuntimeError(f"a held task ended in the bench: {task}")

    return poll


async def _ok(client: Client, tool: str, arguments: dict[str, Any]) -> None:
    result = await client.call_tool(tool, arguments)
    if result.is_error:
        raise RuntimeError(f"{tool} failed in the bench: {result.content}")


async def _alternate(works: Sequence[Call], calls: int) -> list[list[float]]:
    """Every work in turn, in blocks of `BLOCK` calls, until each has `calls` timings."""
    for _ in range(WARM_UP):
        for work in works:
            await work()
    sides: list[list[float]] = [[] for _ in works]
    while len(sides[0]) < calls:
        for work, side in zip(works, sides, strict=True):
            for _ in range(min(BLOCK, calls - len(side))):
                start = time.perf_counter()
                await work()
                side.append(time.perf_counter() - start)
    return sides


async def _round_trips(probe: Any, calls: int) -> float:
    """The median seconds of one GET to the replicas' Redis, from this process, now."""
    timings = []
    for _ in range(calls):
        start = time.perf_counter()
        await probe.get("bench:nothing")
        timings.append(time.perf_counter() - start)
    return median(timings)
