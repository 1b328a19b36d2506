"""The server as a subprocess on stdio, against the double: the real client in both eras, and
nothing but JSON-RPC on stdout."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

from tests.ollama_double.server import OllamaDouble
from tests.server.conftest import Connect  # noqa: F401 - the mode fixture comes with it


def server_args(double: OllamaDouble, tmp_path: Path) -> list[str]:
    return [
        "-m", "server", "--ollama-host", double.url, "--cache-dir", str(tmp_path / "cache"),
        "--allow-dir", str(tmp_path), "--log-level", "INFO",
    ]  # fmt: skip


async def test_stdio_session_in_both_eras(
    ollama_double: OllamaDouble, tmp_path: Path, mode: str
) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=server_args(ollama_double, tmp_path)
    )
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    async with Client(params, mode=mode, read_timeout_seconds=30) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        listed = await client.call_tool("list_models", {})
        pulled = await client.call_tool(
            "pull_model", {"name": "tinyllama"}, progress_callback=on_progress
        )
    # the original 13 without push, pull_status, cancel_pull and browse_library; no web tools
    assert "push_model" not in names and len(names) == 16
    assert listed.structured_content is not None
    assert len(listed.structured_content["models"]) == 4
    assert not pulled.is_error and seen


async def test_stdout_carries_nothing_but_json_rpc(
    ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    requests = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "list_models", "arguments": {}}},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
            "name": "show_model", "arguments": {"name": "ghost"}}},
    ]  # fmt: skip
    command = [sys.executable, *server_args(ollama_double, tmp_path)]
    async with await anyio.open_process(command) as process:
        assert process.stdin is not None and process.stdout is not None
        for request in requests:
            await process.stdin.send((json.dumps(request) + "\n").encode())
        received = b""
        with anyio.fail_after(30):
            while received.count(b"\n") < 3:
                received += await process.stdout.receive()
        await process.stdin.aclose()
        with anyio.fail_after(30):
            received += b"".join([chunk async for chunk in process.stdout])
            await process.wait()
    lines = [json.loads(line) for line in received.decode().splitlines()]
    assert all(message["jsonrpc"] == "2.0" for message in lines)
    answers = {message["id"]: message for message in lines if "id" in message}
    assert set(answers) == {1, 2, 3}
    assert answers[2]["result"]["isError"] is False
    assert answers[3]["result"]["isError"] is True
