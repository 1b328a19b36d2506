"""Replicas sharing state through Redis against one server on its own: `list_models` and a
record read (`pull_status`) through three replicas with Redis, round robin, against the same
calls to one replica without Redis, all over streamable HTTP on one double.

With Redis every call reads the shared store (the metadata cache keeps no memory front, since
another replica may invalidate it); on its own the server answers from memory. Both sides
alternate in blocks after a warm-up; each figure is the median of single calls.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import anyio
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from bench.common import Figure, Workspace, median
from tests.ollama_double import OllamaDouble, running_double
from tests.replicas.processes import RedisServer, Replica

BLOCK = 25
WARM_UP = 10
REPLICAS = 3
SMALL = "small:latest"


def run(workspace: Workspace) -> list[Figure]:
    with running_double(workspace.folder("replicas-models")) as double:
        double.catalogue.add(SMALL, model_size=1024)
        redis = RedisServer(workspace.folder("replicas-redis"))
        redis.start()
        started: list[Replica] = []
        try:
            folder = workspace.folder("replicas")
            for i in range(REPLICAS):
                started.append(Replica(double, redis.url, folder / f"cache{i}"))
            started.append(Replica(double, None, folder / "alone"))
            for replica in started:
                replica.ready()
            return anyio.run(_measure, workspace, double, started[:REPLICAS], started[-1])
        finally:
            for replica in started:
                replica.stop()
            redis.stop()


async def _measure(
    workspace: Workspace, double: OllamaDouble, group: list[Replica], alone: Replica
) -> list[Figure]:
    calls = workspace.settings.mcp_calls
    async with AsyncExitStack() as stack:
        sessions = [
            await stack.enter_async_context(Client(streamable_http_client(r.mcp))) for r in group
        ]
        single = await stack.enter_async_context(Client(streamable_http_client(alone.mcp)))
        for client in (sessions[0], single):  # a record to read on each side
            pulled = await client.call_tool("pull_model", {"name": SMALL})
            if pulled.is_error:
                raise RuntimeError(f"the bench's pull failed: {pulled.content}")
        turn = 0

        def round_robin(tool: str, arguments: dict[str, Any]) -> Callable[[], Awaitable[None]]:
            async def call() -> None:
                nonlocal turn
                turn += 1
                await _ok(sessions[turn % len(sessions)], tool, arguments)

            return call

        def one(tool: str, arguments: dict[str, Any]) -> Callable[[], Awaitable[None]]:
            return lambda: _ok(single, tool, arguments)

        figures = []
        for key, title, tool, arguments in (
            ("mcp_replicas_list", "list_models through replicas with Redis over one without",
             "list_models", {}),
            ("mcp_replicas_record", "pull_status through replicas with Redis over one without",
             "pull_status", {"name": SMALL}),
        ):  # fmt: skip
            ours, theirs = await _alternate(
                round_robin(tool, arguments), one(tool, arguments), calls
            )
            figures.append(
                Figure.of(
                    key,
                    title,
                    median(ours) * 1e3,
                    median(theirs) * 1e3,
                    ratio_of=f"median {tool} over HTTP, {len(group)} replicas sharing Redis "
                    "(round robin) / one replica without Redis",
                    unit="ms",
                    healthy="under 1.3",
                    details={"calls_each": calls, "replicas": len(group)},
                )
            )
    return figures


async def _ok(client: Client, tool: str, arguments: dict[str, Any]) -> None:
    result = await client.call_tool(tool, arguments)
    if result.is_error:
        raise RuntimeError(f"{tool} failed in the bench: {result.content}")


async def _alternate(
    ours: Callable[[], Awaitable[None]], theirs: Callable[[], Awaitable[None]], calls: int
) -> tuple[list[float], list[float]]:
    for _ in range(WARM_UP):
        await ours()
        await theirs()
    sides: tuple[list[float], list[float]] = ([], [])
    while len(sides[0]) < calls:
        for work, side in zip((ours, theirs), sides, strict=True):
            for _ in range(min(BLOCK, calls - len(side))):
                start = time.perf_counter()
                await work()
                side.append(time.perf_counter() - start)
    return sides
