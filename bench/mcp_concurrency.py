"""Concurrency: 32 `generate` calls in flight on one MCP session, each held 200 ms by Ollama.

The double holds every `/api/generate` answer for `HOLD` seconds (`faults.delay`), in its own
event loop, so held answers overlap. If the server handled one call at a time, 32 calls would
take 32 holds; the figure is the wall time of all of them over one hold (1 is perfect overlap).
The median over rounds is shown; a single held call alone is given for scale.
"""

from __future__ import annotations

import time

import anyio

from bench.common import Figure, Workspace, median
from bench.mcp_server import Session, mcp_session
from tests.ollama_double import OllamaDouble, running_double

MODEL = "llama3.2:latest"
HOLD = 0.2  # seconds the double holds each generate answer
GENERATE_PATH = "/api/generate"


def run(workspace: Workspace) -> list[Figure]:
    with running_double(workspace.folder("concurrency-models")) as double:
        return anyio.run(_measure, workspace, double)


async def _measure(workspace: Workspace, double: OllamaDouble) -> list[Figure]:
    settings = workspace.settings
    calls = settings.concurrent_calls
    async with mcp_session(double.url, workspace.folder("concurrency"), label="concurrency") as s:
        await _generate(s, 0)  # warm: tools/list for the output schema, the connection pool
        double.faults.delay(GENERATE_PATH, HOLD)
        single = median([await _timed_round(s, 1) for _ in range(settings.repeats)])
        cpu, server_cpu = time.thread_time(), s.server.cpu_seconds()
        walls = [await _timed_round(s, calls) for _ in range(settings.repeats)]
        cpu, server_cpu = time.thread_time() - cpu, s.server.cpu_seconds() - server_cpu
        double.faults.delay(GENERATE_PATH, 0)
    wall = median(walls)
    return [
        Figure.of(
            "mcp_concurrency",
            f"{calls} held generate calls at once",
            wall * 1e3,
            HOLD * 1e3,
            ratio_of=f"wall time of {calls} concurrent generate calls / one hold of the double",
            unit="ms",
            healthy="under 1.5 (one at a time would be 32)",
            details={
                "calls": calls,
                "rounds": len(walls),
                "one_held_call_ms": round(single * 1e3, 1),
                "slowest_round_ms": round(max(walls) * 1e3, 1),
                "server_cpu_ms_per_round": round(server_cpu / len(walls) * 1e3, 1),
                "client_cpu_ms_per_round": round(cpu / len(walls) * 1e3, 1),
            },
        )
    ]


async def _timed_round(session: Session, calls: int) -> float:
    start = time.perf_counter()
    async with anyio.create_task_group() as group:
        for index in range(calls):
            group.start_soon(_generate, session, index)
    return time.perf_counter() - start


async def _generate(session: Session, index: int) -> None:
    answer = await session.call("generate", {"model": MODEL, "prompt": f"call {index}"})
    if not answer["response"].startswith("Echo:"):
        raise RuntimeError(f"generate answered {answer['response']!r}")
