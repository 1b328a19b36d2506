"""Progress: a `pull_model` whose Ollama streams a flood of progress lines, through MCP.

The double reports the pulled model's layer in `pull_lines` steps (`progress_steps`), so the
server reads that many NDJSON lines and must turn them into a trickle of MCP progress
notifications (at most about ten a second, `server.progress`). Two figures: notifications the
client received per second of pull, against the ten a second the server promises; and the
server's CPU time per 1,000 lines (from `/proc`), against the CPU time the connector alone
needs for them: `OllamaClient.pull_stream` read in a process of its own (`bench.direct_pull`),
the same pull without MCP. The model is deleted between the two pulls, so both stream every
line.
"""

from __future__ import annotations

import json
import sys
import time

import anyio

from bench.common import Figure, Workspace
from bench.mcp_server import REPO, mcp_session
from tests.ollama_double import OllamaDouble, running_double

MODEL = "bench-flood:latest"
PULL_PATH = "/api/pull"
PROMISED_RATE = 10.0  # notifications a second at most (server.progress.DEFAULT_INTERVAL: 0.11 s)
BYTES_PER_LINE = 64  # the model layer's size is lines x this, so every line moves `completed`


def run(workspace: Workspace) -> list[Figure]:
    lines = workspace.settings.pull_lines
    with running_double(workspace.folder("progress-models"), progress_steps=lines) as double:
        double.catalogue.add(MODEL, model_size=lines * BYTES_PER_LINE)
        return anyio.run(_measure, workspace, double)


async def _measure(workspace: Workspace, double: OllamaDouble) -> list[Figure]:
    folder = workspace.folder("progress")
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(time.perf_counter())

    direct_cpu, direct_lines = await _direct_pull(double)
    lines_before = double.requests.lines(PULL_PATH)
    async with mcp_session(double.url, folder, label="progress") as session:
        await session.client.list_tools()  # the client's output-schema fetch, done before
        cpu_before = session.server.cpu_seconds()
        start = time.perf_counter()
        pulled = await session.call("pull_model", {"name": MODEL}, progress_callback=on_progress)
        seconds = time.perf_counter() - start
        cpu = session.server.cpu_seconds() - cpu_before
    lines = double.requests.lines(PULL_PATH) - lines_before
    if pulled["status"] != "success" or lines < workspace.settings.pull_lines:
        raise RuntimeError(f"the pull ended with {pulled['status']!r} after {lines} lines")
    rate = len(seen) / seconds
    cpu_per_k = cpu / lines * 1000
    return [
        Figure.of(
            "mcp_progress_rate",
            "Progress notifications per second of pull",
            rate,
            PROMISED_RATE,
            ratio_of="notifications the client received per second of pull / 10 a second",
            unit="per s",
            healthy="at most 1 (at most 10 a second)",
            details={
                "ollama_lines": lines,
                "notifications": len(seen),
                "pull_s": round(seconds, 2),
                "ollama_lines_per_s": round(lines / seconds),
            },
        ),
        Figure.of(
            "mcp_progress_cpu",
            "Server CPU per 1,000 progress lines",
            cpu_per_k * 1e3,
            direct_cpu / direct_lines * 1000 * 1e3,
            ratio_of="server CPU per 1,000 pull lines / the connector's CPU reading them directly",
            unit="ms",
            healthy="about 1: relaying progress costs little beyond reading the lines",
            details={
                "server_cpu_s": round(cpu, 2),
                "direct_cpu_s": round(direct_cpu, 2),
                "direct_lines": direct_lines,
            },
        ),
    ]


async def _direct_pull(double: OllamaDouble) -> tuple[float, int]:
    """CPU seconds the connector alone needs for the whole pull, in a process of its own
    (`bench.direct_pull`), and the lines it read."""
    command = [sys.executable, "-m", "bench.direct_pull", double.url, MODEL]
    done = await anyio.run_process(command, cwd=REPO)
    measured = json.loads(done.stdout)
    return float(measured["cpu_s"]), int(measured["lines"])
