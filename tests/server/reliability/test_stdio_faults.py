"""The server as users run it, a stdio subprocess that finds Ollama through OLLAMA_HOST: started
with Ollama down, the bad-input table over one session, raw JSON-RPC a client library would not
send, a client that goes away mid-call, and a cache folder damaged under a running server."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from server.settings import Settings
from tests.ollama_double.server import OllamaDouble
from tests.server.reliability.conftest import Places
from tests.server.reliability.helpers import (
    changed,
    server_env,
    snapshot,
    stdio_params,
    structured,
    text,
)
from tests.server.reliability.test_bad_input import CASES

LONG_PROMPT = " ".join(f"word{i}" for i in range(48))
NOT_RUNNING = (
    "Error executing tool generate: Ollama is not running at {url} (nothing answered): start it "
    "with `ollama serve`, or set OLLAMA_HOST to where it runs"
)


async def test_started_with_ollama_down_then_up_without_a_restart(
    ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    ollama_double.faults.refuse_connections()
    params = stdio_params(ollama_double, tmp_path / "cache")
    async with Client(params, mode="legacy", read_timeout_seconds=30) as client:
        down = await client.call_tool("generate", {"model": "llama3.2", "prompt": "hi"})
        offline = await client.call_tool("list_models", {})
        ollama_double.faults.accept_connections()
        up = await client.call_tool("generate", {"model": "llama3.2", "prompt": "hi"})
        # generate got an answer, so the catalog knows Ollama is back: the list is live at once.
        listed = await client.call_tool("list_models", {})
    assert structured(listed)["source"] == "live"
    assert text(down) == NOT_RUNNING.format(url=ollama_double.url)
    assert structured(offline)["source"] == "disk"
    assert text(offline).startswith("4 model(s) installed (Ollama unreachable: read from its model")
    assert text(up) == "Echo: hi"
    assert len(structured(listed)["models"]) == 4


async def test_the_bad_input_table_over_one_stdio_session(
    ollama_double: OllamaDouble, settings: Settings, places: Places, tmp_path: Path
) -> None:
    assert settings.cache_dir is not None
    params = stdio_params(ollama_double, settings.cache_dir, places.allowed)
    async with Client(params, mode="legacy", read_timeout_seconds=60) as client:
        await client.call_tool("list_models", {})
        for case in CASES:
            before = snapshot(ollama_double.models_dir, settings.cache_dir)
            result = await client.call_tool(case.tool, case.arguments(places))
            expected = f"Error executing tool {case.tool}: {case.expected(places)}"
            assert (result.is_error, text(result)) == (True, expected), case.id
            assert changed(before, ollama_double.models_dir, settings.cache_dir) == set(), case.id
        after = await client.call_tool("show_model", {"name": "llama3.2"})
    assert not after.is_error


# --- raw JSON-RPC ------------------------------------------------------------------------------


def handshake() -> list[dict[str, Any]]:
    return [
        {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
    ]  # fmt: skip


def call(id: int, tool: str, arguments: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": tool, "arguments": arguments}}  # fmt: skip


async def raw_session(
    double: OllamaDouble, cache: Path, lines: list[bytes], answers: int
) -> dict[int, dict[str, Any]]:
    """Send `lines` to a fresh stdio server; read until `answers` answers with an id came."""
    command = [sys.executable, "-m", "server", "--cache-dir", str(cache)]
    async with await anyio.open_process(command, env=server_env(double)) as process:
        assert process.stdin is not None and process.stdout is not None
        for line in lines:
            await process.stdin.send(line + b"\n")
        received = b""
        with anyio.fail_after(60):
            while sum(1 for m in _messages(received) if "id" in m) < answers:
                received += await process.stdout.receive()
        await process.stdin.aclose()
        with anyio.fail_after(30):
            await process.wait()
    return {m["id"]: m for m in _messages(received) if "id" in m}


def _messages(received: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in received.split(b"\n")[:-1] if line.strip()]


def encoded(messages: list[dict[str, Any]]) -> list[bytes]:
    return [json.dumps(m).encode() for m in messages]


async def test_protocol_mistakes_are_answered_and_the_session_goes_on(
    ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    lines = [
        *encoded(handshake()),
        json.dumps(call(1, "no_such_tool", {})).encode(),
        json.dumps(call(2, "show_model", {})).encode(),
        json.dumps(call(3, "show_model", {"name": 5})).encode(),
        b'{"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "generate", '
        b'"arguments": {"model": "llama3.2", "prompt": "hi", "options": {"top_p": NaN}}}}',
        b"this is not JSON",
        json.dumps(
            call(5, "generate", {"model": "llama3.2", "prompt": "x " * 10_000_000})
        ).encode(),
        json.dumps(call(6, "list_models", {})).encode(),
    ]
    answers = await raw_session(ollama_double, tmp_path / "cache", lines, 7)
    results = {id: answers[id].get("result", {}) for id in range(1, 7)}
    assert (
        results[1]["isError"] and results[1]["content"][0]["text"] == "Unknown tool: no_such_tool"
    )
    missing = results[2]["content"][0]["text"]
    assert results[2]["isError"] and missing.startswith(
        "Error executing tool show_model: 1 validation error for show_modelArguments\nname\n"
        "  Field required"
    )
    wrong = results[3]["content"][0]["text"]
    assert results[3]["isError"] and "name\n  Input should be a valid string" in wrong
    assert results[4]["isError"]
    assert results[4]["content"][0]["text"] == (
        "Error executing tool generate: invalid parameters: options['top_p']: must be a finite "
        "number, not nan"
    )
    assert not results[5]["isError"]  # 20 MB in one request: read, sent, answered
    assert results[5]["content"][0]["text"].startswith("Echo: x x x")
    assert len(results[6]["structuredContent"]["models"]) == 4


async def test_stdin_closed_mid_call_ends_the_work_and_exits_cleanly(
    ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    ollama_double.faults.token_delay = 0.2
    lines = encoded(
        [*handshake(), call(1, "generate", {"model": "llama3.2", "prompt": LONG_PROMPT})]
    )
    command = [sys.executable, "-m", "server", "--cache-dir", str(tmp_path / "cache")]
    async with await anyio.open_process(command, env=server_env(ollama_double)) as process:
        assert process.stdin is not None
        for line in lines:
            await process.stdin.send(line + b"\n")
        await ollama_double.requests.wait_count_async("POST", "/api/generate", 1, 30)
        await process.stdin.aclose()  # the client is gone
        with anyio.fail_after(30):
            code = await process.wait()
    assert code == 0
    assert await ollama_double.requests.wait_disconnect_async(10)
    assert "/api/generate" in ollama_double.requests.disconnects


# --- the cache folder under a running server ---------------------------------------------------


async def test_the_cache_corrupted_made_unwritable_or_deleted_while_running(
    ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    params = stdio_params(ollama_double, cache)
    async with Client(params, mode="legacy", read_timeout_seconds=30) as client:
        first = structured(await client.call_tool("list_models", {}))
        for path in cache.iterdir():  # corrupted: every file overwritten with noise
            path.write_bytes(b"\x00garbage\xff" * 100)
        corrupted = structured(await client.call_tool("list_models", {}))
        shown = await client.call_tool("show_model", {"name": "qwen3"})
        shutil.rmtree(cache)  # deleted
        deleted = structured(await client.call_tool("list_models", {}))
        cache.write_text("not a folder")  # unwritable: a file where the folder was (as root,
        # permission bits would not stop this process; a file stops everyone)
        await client.call_tool("create_model", {"name": "new", "modelfile": "FROM llama3.2"})
        unwritable = structured(await client.call_tool("list_models", {}))
        generated = await client.call_tool("generate", {"model": "llama3.2", "prompt": "hi"})
    names = [m["name"] for m in first["models"]]
    assert [m["name"] for m in corrupted["models"]] == names
    assert text(shown).startswith("qwen3: qwen3 8.2B Q4_K_M\ncapabilities: completion, tools")
    assert [m["name"] for m in deleted["models"]] == names
    assert [m["name"] for m in unwritable["models"]] == ["new:latest", *names]
    assert text(generated) == "Echo: hi"


async def test_two_servers_sharing_one_cache_agree(
    ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    one, two = stdio_params(ollama_double, cache), stdio_params(ollama_double, cache)
    async with (
        Client(one, mode="legacy", read_timeout_seconds=30) as first,
        Client(two, mode="legacy", read_timeout_seconds=30) as second,
    ):
        await first.call_tool("list_models", {})
        await second.call_tool("list_models", {})
        created = await first.call_tool(
            "create_model", {"name": "shared", "modelfile": "FROM llama3.2\nSYSTEM Shared."}
        )
        seen_by_second = structured(await second.call_tool("show_model", {"name": "shared"}))
        deleted = await second.call_tool("delete_model", {"name": "shared"})
        listed_by_first = structured(await first.call_tool("list_models", {}))
    assert not created.is_error and not deleted.is_error
    assert seen_by_second["system"] == "Shared."
    assert "shared:latest" not in [m["name"] for m in listed_by_first["models"]]


@pytest.mark.slow
async def test_a_slow_first_load_does_not_time_out_and_progress_keeps_flowing(
    ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    ollama_double.faults.delay("/api/generate", 7)  # the model loads for longer than a heartbeat
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    params = stdio_params(ollama_double, tmp_path / "cache")
    async with Client(params, mode="legacy", read_timeout_seconds=30) as client:
        result = await client.call_tool(
            "generate", {"model": "llama3.2", "prompt": "hi"}, progress_callback=on_progress
        )
    assert text(result) == "Echo: hi"
    assert "waiting for llama3.2 (loading or thinking, 5 s)" in messages
