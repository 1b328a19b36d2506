"""Start-up: from spawning `python -m server` to its answer to `initialize`, against spawning
`python -c "import mcp.server.mcpserver"` (the SDK's own import, most of the start) to its exit.

The server is spawned raw (not through the SDK's client, whose own start would be counted) and
sent one `initialize` line on stdin; the clock stops at the first line on stdout. Its resident
memory is read from `/proc` at that moment. Runs alternate between the two commands; the figure
is the median of each.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import anyio
from anyio.abc import Process

from bench.common import Figure, MiB, Workspace, median
from bench.mcp_server import REPO, ServerProcess, server_command
from tests.ollama_double import running_double

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "bench", "version": "0"},
    },
}
SDK_IMPORT = [sys.executable, "-c", "import mcp.server.mcpserver"]
BARE_PYTHON = [sys.executable, "-c", "pass"]
START_TIMEOUT = 60.0


def run(workspace: Workspace) -> list[Figure]:
    with running_double(workspace.folder("startup-models")) as double:
        folder = workspace.folder("startup")
        runs = workspace.settings.startup_runs
        starts: list[float] = []
        memory: list[int] = []
        imports: list[float] = []
        import_memory: list[int] = []
        bare: list[float] = []
        for index in range(runs):
            seconds, rss = anyio.run(_start_server, double.url, folder / f"run-{index}")
            starts.append(seconds)
            memory.append(rss)
            seconds, rss = _run(SDK_IMPORT)
            imports.append(seconds)
            import_memory.append(rss)
            bare.append(_run(BARE_PYTHON)[0])
    start_s, import_s = median(starts), median(imports)
    rss_mib, import_mib = median(memory) / MiB, median(import_memory) / MiB
    return [
        Figure.of(
            "mcp_startup",
            "Start-up to the initialize answer",
            start_s * 1e3,
            import_s * 1e3,
            ratio_of="spawn to initialize answer / spawn to exit of `import mcp.server.mcpserver`",
            unit="ms",
            healthy="our own code adds under 150 ms (added_ms)",
            details={
                "added_ms": round((start_s - import_s) * 1e3, 1),
                "bare_python_ms": round(median(bare) * 1e3, 1),
                "runs": runs,
            },
        ),
        Figure.of(
            "mcp_startup_memory",
            "Resident memory after start",
            rss_mib,
            import_mib,
            ratio_of="server VmRSS at the initialize answer / peak RSS of the SDK import alone",
            unit="MiB",
            healthy="server under 90 MiB (rss_mib)",
            details={"rss_mib": round(rss_mib, 1), "runs": runs},
        ),
    ]


async def _start_server(url: str, folder: Path) -> tuple[float, int]:
    command = server_command(url, folder / "cache", None, f"startup-{folder.name}")
    start = time.perf_counter()
    process = await anyio.open_process(command, cwd=REPO, stderr=subprocess.DEVNULL)
    async with process:
        answer = await _first_line(process)
        seconds = time.perf_counter() - start
        rss = ServerProcess(process.pid).rss()
        reply = json.loads(answer)
        if reply.get("id") != 1 or "result" not in reply:
            raise RuntimeError(f"the server answered initialize with {answer!r}")
        assert process.stdin is not None
        await process.stdin.aclose()  # end of input: the server exits by itself
        with anyio.fail_after(START_TIMEOUT):
            await process.wait()
    return seconds, rss


async def _first_line(process: Process) -> bytes:
    assert process.stdin is not None and process.stdout is not None
    await process.stdin.send((json.dumps(INITIALIZE) + "\n").encode())
    received = b""
    with anyio.fail_after(START_TIMEOUT):
        while b"\n" not in received:
            received += await process.stdout.receive()
    return received.split(b"\n", 1)[0]


def _run(command: list[str]) -> tuple[float, int]:
    """Seconds from spawn to exit, and the child's peak resident memory in bytes (`wait4`)."""
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=REPO)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    if child.returncode != 0:
        raise RuntimeError(f"{command} exited with {child.returncode}")
    return seconds, usage.ru_maxrss * 1024  # Linux reports kB
