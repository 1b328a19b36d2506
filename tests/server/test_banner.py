"""`serve` on a terminal says what it is and where Ollama is; on a pipe it says nothing."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.ollama_double.server import OllamaDouble

READ_LIMIT = 60.0  # seconds without a byte before the test gives up (a hang, not a pace)


def server_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "OLLAMA_MCP_CACHE_DIR": str(tmp_path), **extra}


def read_lines(stream: int, count: int) -> Iterator[str]:
    """Yield `count` lines from a file descriptor as they arrive (waiting on select)."""
    buffer = b""
    while count:
        ready, _, _ = select.select([stream], [], [], READ_LIMIT)
        assert ready, f"no output within {READ_LIMIT}s; got {buffer!r}"
        chunk = os.read(stream, 4096)
        assert chunk, f"stderr closed early; got {buffer!r}"
        buffer += chunk
        while b"\n" in buffer and count:
            line, buffer = buffer.split(b"\n", 1)
            count -= 1
            yield line.decode()


def banner_on_a_terminal(tmp_path: Path, *args: str, **env: str) -> list[str]:
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "server", *args],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=server_env(tmp_path, **env),
    )
    os.close(terminal)
    try:
        assert process.stderr is not None
        return list(read_lines(process.stderr.fileno(), 3))
    finally:
        process.terminate()
        process.wait(timeout=30)
        os.close(controller)


def test_the_banner_on_a_terminal(ollama_double: OllamaDouble, tmp_path: Path) -> None:
    lines = banner_on_a_terminal(tmp_path, OLLAMA_HOST=ollama_double.url)
    assert lines[0].startswith("ollama-connector-mcp ")
    assert lines[0].endswith(
        ": an MCP server for Ollama, on stdio: it waits for an MCP client on stdin (Ctrl-C to stop)"
    )
    assert lines[1] == (
        f"Ollama: {ollama_double.url} (from OLLAMA_HOST={ollama_double.url!r}): answered "
        f"(version {ollama_double.faults.version}, 4 model(s))"
    )
    assert lines[2] == (
        "Client config: `ollama-mcp config claude-desktop` (or claude-code, cursor, vscode, "
        "windsurf, zed, cline, continue, codex, gemini); `ollama-mcp doctor` checks the setup"
    )


def test_the_banner_says_when_ollama_does_not_answer(tmp_path: Path) -> None:
    lines = banner_on_a_terminal(tmp_path, "--ollama-host", "127.0.0.1:9")
    assert lines[1] == (
        "Ollama: http://127.0.0.1:9 (from --ollama-host='127.0.0.1:9'): did not answer: "
        "start Ollama with `ollama serve`, or set OLLAMA_HOST to where it runs"
    )


def test_the_banner_names_the_http_endpoint(tmp_path: Path) -> None:
    lines = banner_on_a_terminal(
        tmp_path, "--transport", "streamable-http", "--port", "0", "--ollama-host", "127.0.0.1:9"
    )
    assert lines[0].endswith(
        "an MCP server for Ollama, on http://127.0.0.1:0/mcp (no token; Ctrl-C to stop)"
    )


def test_silence_on_a_pipe(ollama_double: OllamaDouble, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "server"],
        input=b"",  # an MCP client that connects and leaves at once
        capture_output=True,
        env=server_env(tmp_path, OLLAMA_HOST=ollama_double.url),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0
    assert done.stderr == b""
    assert done.stdout == b""
