"""What reading a task costs: `tasks/get` with 100 tasks live in the server (pulls held at the
double's gate) against a plain `list_models` call, both over stdio on the 2025-11-25 era (whose
tasks a client starts), alternating in blocks, medians of single calls."""

from __future__ import annotations

import anyio

from bench.common import Figure, Workspace, median
from bench.mcp_calls import alternate
from bench.mcp_server import mcp_session
from tests.ollama_double import OllamaDouble, running_double
from tests.server.tasks_client import call_as_task, get_task

LIVE_TASKS = 100


def run(workspace: Workspace) -> list[Figure]:
    with running_double(workspace.folder("mcp-tasks-models")) as double:
        for n in range(LIVE_TASKS):
            double.catalogue.add(f"held{n}:latest", model_size=2**20)
        gate = double.faults.gate("/api/pull")  # every pull waits: its task stays live
        try:
            return anyio.run(_measure, workspace, double)
        finally:
            gate.open()


async def _measure(workspace: Workspace, double: OllamaDouble) -> list[Figure]:
    calls = workspace.settings.mcp_calls
    folder = workspace.folder("mcp-tasks")
    async with mcp_session(double.url, folder, label="tasks", mode="legacy") as session:
        client = session.client
        ids = [
            (await call_as_task(client, "pull_model", {"name": f"held{n}"}))["task"]["taskId"]
            for n in range(LIVE_TASKS)
        ]
        turn = 0

        async def poll() -> None:
            nonlocal turn
            turn += 1
            task = await get_task(client, ids[turn % LIVE_TASKS])
            if task["status"] != "working":
                raise RuntimeError(f"a held task ended: {task}")

        async def listing() -> None:
            await session.call("list_models", {})

        polling, listed = await alternate(session.server, poll, listing, calls)
    return [
        Figure.of(
            "mcp_tasks_get",
            f"tasks/get with {LIVE_TASKS} live tasks over list_models",
            median(polling.seconds) * 1e3,
            median(listed.seconds) * 1e3,
            ratio_of=f"median tasks/get ({LIVE_TASKS} tasks live) / median tools/call list_models",
            unit="ms",
            healthy="under 1.5",
            details={
                "calls_each": calls,
                "live_tasks": LIVE_TASKS,
                **polling.cpu_ms("tasks_get"),
                **listed.cpu_ms("list_models"),
            },
        )
    ]
