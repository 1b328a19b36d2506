"""The MCP server as users run it: `python -m server` over stdio, driven by the SDK's own client.

`mcp_session` spawns the server with the SDK's `Client` (the real stdio transport), pointed at
an Ollama double, and finds the server's process id under this process in `/proc`, so a figure
can read the server's resident memory (`VmRSS`, and its peak `VmHWM`) and CPU time from
`/proc/<pid>/status` and `/proc/<pid>/stat`: what the server costs, not what the bench costs.

With `BENCH_PROFILE_DIR` set (`python -m bench --profile DIR`), every server runs under
`cProfile` and writes `<DIR>/<label>.prof` when its session ends: the evidence for a figure.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mcp import Client, StdioServerParameters

REPO = Path(__file__).resolve().parent.parent
PROFILE_ENV = "BENCH_PROFILE_DIR"
CALL_TIMEOUT = 600.0  # seconds: a hang guard for the longest call (packaging 2 GiB)
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ServerProcess:
    """A running server, read through `/proc` (Linux)."""

    pid: int

    def _status(self, field: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024  # the kernel reports kB
        raise RuntimeError(f"/proc/{self.pid}/status has no {field}")

    def rss(self) -> int:
        """Resident memory now, in bytes."""
        return self._status("VmRSS")

    def peak_rss(self) -> int:
        """The highest resident memory since the process started, in bytes."""
        return self._status("VmHWM")

    def cpu_seconds(self) -> float:
        """User plus system CPU time the process has used (10 ms resolution)."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def server_command(
    ollama_url: str, cache_dir: Path, allow_dir: Path | None, label: str
) -> list[str]:
    """`python -m server ...`, under cProfile when `BENCH_PROFILE_DIR` is set."""
    args = ["-m", "server", "--ollama-host", ollama_url, "--cache-dir", str(cache_dir)]
    if allow_dir is not None:
        args += ["--allow-dir", str(allow_dir)]
    profile_dir = os.environ.get(PROFILE_ENV)
    if profile_dir:
        args = ["-m", "cProfile", "-o", str(Path(profile_dir) / f"{label}.prof"), *args]
    return [sys.executable, *args]


@dataclass
class Session:
    client: Client
    server: ServerProcess

    async def call(self, tool: str, arguments: dict[str, Any], **options: Any) -> Any:
        """`tools/call`, failing loudly: a figure measured on an error answer means nothing."""
        result = await self.client.call_tool(tool, arguments, **options)
        if result.is_error:
            text = " ".join(getattr(block, "text", "") for block in result.content)
            raise RuntimeError(f"{tool} failed through MCP: {text}")
        return result.structured_content


@asynccontextmanager
async def mcp_session(
    ollama_url: str,
    folder: Path,
    *,
    allow_dir: Path | None = None,
    label: str = "server",
    mode: Literal["auto", "legacy"] = "auto",
) -> AsyncIterator[Session]:
    """The server on stdio with its own cache folder (inside `folder`), and the SDK's client
    (in the protocol era of `mode`)."""
    cache_dir = folder / f"{label}-cache"
    command = server_command(ollama_url, cache_dir, allow_dir, label)
    params = StdioServerParameters(command=command[0], args=command[1:], cwd=REPO)
    async with Client(params, read_timeout_seconds=CALL_TIMEOUT, mode=mode) as client:
        yield Session(client, ServerProcess(child_with(str(cache_dir))))


def bare_command(ollama_url: str | None = None) -> list[str]:
    """The SDK's floor (`bench.bare_server`): one trivial tool, and generate given a URL."""
    return [sys.executable, "-m", "bench.bare_server", *([ollama_url] if ollama_url else [])]


@asynccontextmanager
async def bare_session(ollama_url: str) -> AsyncIterator[Session]:
    """The bare `MCPServer` on stdio with its generate tool, pointed at the double."""
    command = bare_command(ollama_url)
    params = StdioServerParameters(command=command[0], args=command[1:], cwd=REPO)
    async with Client(params, read_timeout_seconds=CALL_TIMEOUT) as client:
        yield Session(client, ServerProcess(child_with("bench.bare_server")))


def child_with(marker: str) -> int:
    """The pid of this process's child whose command line holds `marker` (the SDK spawns the
    server itself and does not say which pid it got)."""
    pids: list[int] = []
    for children in Path("/proc/self/task").glob("*/children"):
        pids += [int(pid) for pid in children.read_text().split()]
    for pid in pids:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker.encode() in command:
            return pid
    raise RuntimeError(f"no child process of the bench runs with {marker!r}")
