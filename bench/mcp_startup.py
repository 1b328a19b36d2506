"""Start-up: from spawning `python -m server` to its answer to `initialize`, against the same for
a bare `MCPServer` with one trivial tool on the same SDK (`python -m bench.bare_server`); beside
them a Python that imports `mcp.server.mcpserver` and says so (the SDK's own import, its share
of both) and a bare Python.

Our server pauses the garbage collector until it is built (`server/entry.py`), which speeds up
the SDK's import as much as ours. So the bare server is also started with the collector paused
the same way: what ours adds over that one is our own code's share, like for like.

All are timed the same way: spawned raw (not through the SDK's client, whose own start would be
counted), the clock stops at the first line on stdout. A server is sent one `initialize` line
on stdin; its first line is the answer. The import-only child prints its resident memory right
after the import, and the server's is read from `/proc` at its answer. Runs alternate between
the four; each figure is the median.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import anyio
from anyio.abc import Process

from bench.common import Figure, MiB, Workspace, median
from bench.mcp_server import REPO, ServerProcess, bare_command, server_command
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
_SAY_RSS = (
    "import sys; sys.stdout.write([l for l in open('/proc/self/status') if l.startswith('VmRSS')]"
    "[0]); sys.stdout.flush()"
)
SDK_IMPORT = [sys.executable, "-c", f"import mcp.server.mcpserver; {_SAY_RSS}"]
BARE_PYTHON = [sys.executable, "-c", _SAY_RSS]
BARE_SERVER_PAUSED = [
    sys.executable,
    "-c",
    "import gc; gc.disable(); import runpy; "
    "runpy.run_module('bench.bare_server', run_name='__main__')",
]
START_TIMEOUT = 60.0


def run(workspace: Workspace) -> list[Figure]:
    with running_double(workspace.folder("startup-models")) as double:
        folder = workspace.folder("startup")
        runs = workspace.settings.startup_runs
        starts: list[float] = []
        memory: list[float] = []
        imports: list[float] = []
        import_memory: list[float] = []
        bare: list[float] = []
        bare_server: list[float] = []
        bare_paused: list[float] = []
        for index in range(runs):
            command = server_command(
                double.url, folder / f"run-{index}" / "cache", None, f"startup-{index}"
            )
            seconds, rss = anyio.run(_start_server, command)
            starts.append(seconds)
            memory.append(rss)
            bare_server.append(anyio.run(_start_server, bare_command())[0])
            bare_paused.append(anyio.run(_start_server, BARE_SERVER_PAUSED)[0])
            seconds, rss = anyio.run(_first_rss_line, SDK_IMPORT)
            imports.append(seconds)
            import_memory.append(rss)
            bare.append(anyio.run(_first_rss_line, BARE_PYTHON)[0])
    start_s, import_s, floor_s = median(starts), median(imports), median(bare_server)
    rss_mib, import_mib = median(memory) / MiB, median(import_memory) / MiB
    return [
        Figure.of(
            "mcp_startup",
            "Start-up to the initialize answer, over a bare MCPServer's",
            start_s * 1e3,
            floor_s * 1e3,
            ratio_of="spawn to initialize answer, python -m server / the same, "
            "python -m bench.bare_server (MCPServer, one trivial tool, same SDK)",
            unit="ms",
            healthy="ours adds at most 100 ms (added_ms)",
            details={
                "added_ms": round((start_s - floor_s) * 1e3, 1),
                "bare_collector_paused_ms": round(median(bare_paused) * 1e3, 1),
                "added_over_paused_bare_ms": round((start_s - median(bare_paused)) * 1e3, 1),
                "sdk_import_ms": round(import_s * 1e3, 1),
                "ours_over_sdk_import_ms": round((start_s - import_s) * 1e3, 1),
                "bare_python_ms": round(median(bare) * 1e3, 1),
                "runs": runs,
            },
        ),
        Figure.of(
            "mcp_startup_memory",
            "Resident memory after start",
            rss_mib,
            import_mib,
            ratio_of="server VmRSS at the initialize answer / VmRSS after the SDK import alone",
            unit="MiB",
            healthy="server under 90 MiB (rss_mib)",
            details={"rss_mib": round(rss_mib, 1), "runs": runs},
        ),
    ]


async def _start_server(command: list[str]) -> tuple[float, int]:
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


async def _first_rss_line(command: list[str]) -> tuple[float, int]:
    """Seconds from spawn to the child's first line (its `VmRSS:` line), and that RSS in bytes."""
    start = time.perf_counter()
    process = await anyio.open_process(command, cwd=REPO)
    async with process:
        assert process.stdout is not None
        received = b""
        with anyio.fail_after(START_TIMEOUT):
            while b"\n" not in received:
                received += await process.stdout.receive()
        seconds = time.perf_counter() - start
        await process.wait()
    field, kib, _ = received.decode().split()
    if field != "VmRSS:":
        raise RuntimeError(f"{command} printed {received!r}")
    return seconds, int(kib) * 1024
