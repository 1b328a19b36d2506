"""Issue 19: a client nobody here wrote (fastmcp 3's `Client` with tasks) drives our MCP tasks over
stdio, so its reading of the 2025-11-25 spec is checked against ours. fastmcp 3 needs mcp<2, so it
lives in a separate venv, made once and kept in the user cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import Process

from tests.ollama_double.server import OllamaDouble
from tests.server.test_background_pulls import make_big
from tests.server.test_stdio import server_args

REQUIREMENT = "fastmcp>=3,<4"
SCRIPT = Path(__file__).with_name("fastmcp_tasks_client.py")
ROOT = Path(__file__).parents[2]


def cache_home() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def fastmcp_python() -> Path:
    """The venv's python, made on first use; `ready` is written only after pip succeeded."""
    home = cache_home() / "ollama-connector-mcp" / "fastmcp3-venv"
    python = home / "bin" / "python"
    ready = home / "ready"
    if ready.exists():
        return python
    venv.create(home, with_pip=True, clear=True)
    # Our constraints pin mcp 2.x; this venv must resolve fastmcp's own mcp<2.
    env = {**os.environ, "PIP_CONSTRAINT": ""}
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", REQUIREMENT],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        reason = f"cannot make a venv with {REQUIREMENT}: {done.stderr.strip()[-400:]}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    ready.write_text(REQUIREMENT)
    return python


async def next_step(process: Process, lines: Any) -> dict[str, Any]:
    with anyio.fail_after(60):
        line = await anext(lines)
    seen: dict[str, Any] = json.loads(line)
    return seen


async def answer(process: Process) -> None:
    assert process.stdin is not None
    await process.stdin.send(b"go\n")


async def read_lines(process: Process) -> Any:
    assert process.stdout is not None
    buffered = b""
    async for chunk in process.stdout:
        buffered += chunk
        while b"\n" in buffered:
            line, buffered = buffered.split(b"\n", 1)
            yield line.decode()


async def test_fastmcp_client_drives_our_tasks(ollama_double: OllamaDouble, tmp_path: Path) -> None:
    python = await anyio.to_thread.run_sync(fastmcp_python)
    gate = make_big(ollama_double)
    ollama_double.catalogue.add("big2", model_size=2 * 2**20)
    command = [str(python), str(SCRIPT), sys.executable, *server_args(ollama_double, tmp_path)]
    async with await anyio.open_process(command, cwd=ROOT) as process:
        lines = read_lines(process)
        pulling = await next_step(process, lines)
        assert pulling["status"] == "working"
        assert await gate.wait_holding_async(streams=1)
        await answer(process)
        cancelled = await next_step(process, lines)
        assert cancelled["status"] == "cancelled"
        assert await ollama_double.requests.wait_disconnect_async()
        created = await next_step(process, lines)
        assert created["step"] == "created"
        assert created["immediate"] is False
        assert created["status"] == "working"
        assert gate.passed == 0
        gate.open()
        await answer(process)
        ended = await next_step(process, lines)
        assert ended["status"] == "completed"
        assert ended["structured"]["model"] == "big:latest"

        generated = await next_step(process, lines)
        timed = {"total_ms"}  # the one field a clock decides
        assert generated["task"].keys() == generated["plain"].keys()
        assert {k: v for k, v in generated["task"].items() if k not in timed} == {
            k: v for k, v in generated["plain"].items() if k not in timed
        }

        with anyio.fail_after(30):
            assert await process.wait() == 0
