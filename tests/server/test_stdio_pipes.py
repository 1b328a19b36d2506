"""`server.stdio`: stdio on the event loop's own pipe reader and writer (no thread per line),
through the SDK's real client and raw pipes, on a tiny server (`pipe_echo_server`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from tests.server.conftest import Connect  # noqa: F401 - the mode fixture comes with it

ECHO_SERVER = [sys.executable, "-m", "tests.server.pipe_echo_server"]
INITIALIZE = {
    "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"}},
}  # fmt: skip
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


def _call(request_id: int, name: str, arguments: dict[str, object]) -> dict[str, object]:
    return {
        "jsonrpc": "2.0", "id": request_id, "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }  # fmt: skip


def _spawn() -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ECHO_SERVER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _send(server: subprocess.Popen[bytes], *requests: dict[str, object]) -> None:
    assert server.stdin is not None
    server.stdin.write(b"".join(json.dumps(request).encode() + b"\n" for request in requests))
    server.stdin.flush()


def _answers(server: subprocess.Popen[bytes], count: int) -> list[dict[str, object]]:
    """Read `count` lines from the server's stdout (a client waits for its answers)."""
    assert server.stdout is not None
    return [json.loads(server.stdout.readline()) for _ in range(count)]


def _leave(server: subprocess.Popen[bytes]) -> str:
    """Close stdin as a client that leaves does; the server exits; its stderr."""
    _, stderr = server.communicate(timeout=60)
    assert server.returncode == 0
    return stderr.decode()


@pytest.mark.parametrize("size", [10, 200_000, 3_000_000])
async def test_a_line_of_any_size_crosses_in_both_eras(mode: str, size: int) -> None:
    """asyncio's readline stops at 64 KiB by default; a 3 MB argument must arrive whole."""
    text = "é" * size
    params = StdioServerParameters(command=ECHO_SERVER[0], args=ECHO_SERVER[1:])
    async with Client(params, mode=mode, read_timeout_seconds=60) as client:
        answer = await client.call_tool("echo", {"text": text})
    assert not answer.is_error
    assert answer.structured_content == {"result": text}


async def test_stray_output_goes_to_stderr_not_the_wire() -> None:
    params = StdioServerParameters(command=ECHO_SERVER[0], args=ECHO_SERVER[1:])
    async with Client(params, mode="legacy", read_timeout_seconds=60) as client:
        answer = await client.call_tool("stray", {})
        again = await client.call_tool("echo", {"text": "still talking"})
    assert answer.structured_content == {"result": "done"}
    assert again.structured_content == {"result": "still talking"}


def test_stdout_is_only_json_rpc_and_the_strays_reach_stderr() -> None:
    server = _spawn()
    _send(server, INITIALIZE, INITIALIZED, _call(2, "stray", {}))
    answers = _answers(server, 2)
    stderr = _leave(server)
    assert [answer["id"] for answer in answers] == [1, 2]
    for stray in ("stray print from a tool", "stray write to fd 1", "stray print from a child"):
        assert stray in stderr


def test_an_answer_being_written_when_the_client_leaves_is_written_whole() -> None:
    """The client closes stdin while an 8 MB answer is still in the pipe (it holds 64 KiB):
    the server shuts down, but only after the last bytes have left."""
    server = _spawn()
    _send(server, INITIALIZE, INITIALIZED, _call(2, "big", {"size": 8_000_000}))
    _answers(server, 1)
    assert server.stdout is not None
    first = server.stdout.read(1)  # the answer has started: the server is writing it now
    assert server.stdin is not None
    server.stdin.close()
    rest = server.stdout.read()
    assert server.wait(timeout=60) == 0
    answer = json.loads(first + rest)
    assert answer["id"] == 2
    assert answer["result"]["structuredContent"] == {"result": "x" * 8_000_000}


def test_a_file_on_stdin_falls_back_to_the_sdks_transport(tmp_path: Path) -> None:
    """Not a pipe (a file, a terminal): the SDK's own stdio serves, unchanged. (Only the
    handshake: at end of input the SDK cancels calls still running, whichever transport.)"""
    requests = tmp_path / "requests.jsonl"
    requests.write_text(json.dumps(INITIALIZE) + "\n")
    with requests.open("rb") as stdin:
        done = subprocess.run(ECHO_SERVER, stdin=stdin, capture_output=True, timeout=60, check=True)
    answers = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [answer["id"] for answer in answers] == [1]
    assert answers[0]["result"]["serverInfo"]["name"] == "pipe-echo"
