"""The most used peer, npm `ollama-mcp@2.1.0`, for one optional figure: installed with npm into
a cache folder the first time (about 10 s), then spawned with node over stdio like ours.

`command()` gives the command that runs it, or a sentence saying why it cannot run here (no
node or npm, the registry out of reach); the figure is then left out, never faked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path

from mcp import Client, StdioServerParameters

from bench.mcp_server import CALL_TIMEOUT, ServerProcess, Session, child_with

PACKAGE = "ollama-mcp@2.1.0"
INSTALL_TIMEOUT = 180.0
_ENTRY = Path("node_modules") / "ollama-mcp" / "dist" / "index.js"


def folder() -> Path:
    """Where the peer is installed: kept between runs, so the registry is asked once."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ollama-connector-bench" / PACKAGE.replace("@", "-")


def command() -> list[str] | str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return "node or npm is not installed"
    where = folder()
    entry = where / _ENTRY
    if not entry.is_file():
        where.mkdir(parents=True, exist_ok=True)
        say(f"installing {PACKAGE} with npm into {where}")
        try:
            done = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", PACKAGE],
                cwd=where,
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            return f"npm install {PACKAGE} took over {INSTALL_TIMEOUT:.0f} s"
        if done.returncode != 0 or not entry.is_file():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            return f"npm install {PACKAGE} failed: {last}"
    return [node, str(entry)]


@cache
def node_version() -> str:
    node = shutil.which("node")
    if node is None:
        return "none"
    return subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()


@asynccontextmanager
async def session(command: list[str], ollama_url: str) -> AsyncIterator[Session]:
    """The peer on stdio, pointed at the double (it reads `OLLAMA_HOST`)."""
    env = {**os.environ, "OLLAMA_HOST": ollama_url}
    params = StdioServerParameters(command=command[0], args=command[1:], env=env)
    async with Client(params, read_timeout_seconds=CALL_TIMEOUT) as client:
        yield Session(client, ServerProcess(child_with(command[-1])))


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)
