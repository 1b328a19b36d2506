"""Load through the real server (marked slow: `pytest -m slow`, which .ci/run runs).

2,000 tool calls at 50 in flight over one stdio session: no protocol error, every answer right,
the server's resident memory grows by under 20 MB. Three HTTP server processes sharing one cache
and 20 concurrent clients on one double, bounded by a count of calls (the issue's one-minute
soak, shortened to a count that still mixes every kind of call across processes): nothing
lost, no error the double did not cause.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.ollama_double.server import OllamaDouble
from tests.server.reliability.helpers import server_env, stdio_params, structured, text

pytestmark = pytest.mark.slow

MIX = ("list_models", "show_model", "generate", "embed")
SEEDED = {"llama3.2:latest", "all-minilm:latest", "qwen3:latest", "gemma2:2b"}


def resident_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def server_child() -> int:
    """The pid of this process's one `python -m server` child."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == os.getpid() and b"server" in cmdline and b"-m" in cmdline:
            found.append(int(entry.name))
    assert len(found) == 1, found
    return found[0]


async def one_call(client: Client, i: int) -> None:
    kind = MIX[i % len(MIX)]
    if kind == "list_models":
        result = await client.call_tool("list_models", {})
        names = {m["name"] for m in structured(result)["models"]}
        assert names >= SEEDED, names
    elif kind == "show_model":
        result = await client.call_tool("show_model", {"name": "qwen3"})
        assert structured(result)["capabilities"] == ["completion", "tools", "thinking"]
    elif kind == "generate":
        result = await client.call_tool(
            "generate", {"model": "llama3.2", "prompt": f"call {i}", "think": False}
        )
        assert text(result) == f"Echo: call {i}"
    else:
        result = await client.call_tool("embed", {"model": "all-minilm", "input": f"text {i}"})
        assert structured(result)["dimensions"] == 384
    assert not result.is_error


async def test_2000_calls_50_in_flight_over_one_stdio_session(
    ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    params = stdio_params(ollama_double, tmp_path / "cache")
    limit = anyio.CapacityLimiter(50)
    done = 0

    async def limited(client: Client, i: int) -> None:
        nonlocal done
        async with limit:
            await one_call(client, i)
            done += 1

    async with Client(params, mode="legacy", read_timeout_seconds=120) as client:
        pid = server_child()
        async with anyio.create_task_group() as group:  # warm-up: imports, caches, pools
            for i in range(200):
                group.start_soon(limited, client, i)
        warm = resident_kib(pid)
        with anyio.fail_after(300):
            async with anyio.create_task_group() as group:
                for i in range(200, 2_000):
                    group.start_soon(limited, client, i)
        grown = resident_kib(pid) - warm
    assert done == 2_000
    assert grown < 20 * 1024, f"resident memory grew by {grown} KiB"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def three_servers(ollama_double: OllamaDouble, tmp_path: Path) -> Iterator[list[str]]:
    cache = tmp_path / "cache"
    urls, processes = [], []
    for _ in range(3):
        port = free_port()
        command = [sys.executable, "-m", "server", "--transport", "streamable-http", "--port",
                   str(port), "--cache-dir", str(cache)]  # fmt: skip
        processes.append(subprocess.Popen(command, env=server_env(ollama_double)))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for url in urls:
            wait_healthy(url)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            assert process.wait(timeout=30) in (0, -15)


def wait_healthy(url: str) -> None:
    """Until the server answers /healthz (it binds its port a moment after it starts)."""
    with httpx2.Client(timeout=5) as http:
        for _ in range(300):
            try:
                if http.get(f"{url}/healthz").status_code == 200:
                    return
            except httpx2.TransportError:
                pass
            anyio.run(anyio.sleep, 0.1)
    raise AssertionError(f"{url} never became healthy")


async def test_three_servers_and_20_clients_on_one_double(
    three_servers: list[str], ollama_double: OllamaDouble
) -> None:
    calls_per_client = 40
    errors: list[str] = []

    async def client_session(n: int) -> None:
        url = three_servers[n % 3]
        async with Client(streamable_http_client(f"{url}/mcp")) as client:
            made = await client.call_tool(
                "create_model", {"name": f"client{n}", "modelfile": f"FROM llama3.2\nSYSTEM {n}"}
            )
            if made.is_error:
                errors.append(text(made))
            for i in range(calls_per_client):
                try:
                    await one_call(client, n * 1000 + i)
                except AssertionError as exc:
                    errors.append(f"client {n} call {i}: {exc}")
            shown = await client.call_tool("show_model", {"name": f"client{n}"})
            if structured(shown)["system"] != str(n):
                errors.append(f"client {n}: its model lost its system prompt")

    with anyio.fail_after(300):
        async with anyio.create_task_group() as group:
            for n in range(20):
                group.start_soon(client_session, n)
    async with Client(streamable_http_client(f"{three_servers[0]}/mcp")) as client:
        listed: Any = structured(await client.call_tool("list_models", {}))
    assert errors == []
    names = {m["name"] for m in listed["models"]}
    assert {f"client{n}:latest" for n in range(20)} <= names
    assert {f"client{n}:latest" for n in range(20)} <= set(ollama_double.installed_names())
