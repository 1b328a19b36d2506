"""Ollama failing under a running server: stopped mid-pull, mid-create, mid-upload and
mid-generate; an error line mid-stream; 503 busy; cancellation. Each call ends with a clear
error, a retried pull completes, no blob is kept under a wrong digest, no stream is left open,
and the server answers the next call."""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from server.app import build_server
from server.settings import Settings
from tests.adapter_factories import write_peft_dir
from tests.ollama_double.faults import BUSY_MESSAGE
from tests.ollama_double.server import OllamaDouble
from tests.server.reliability.helpers import leftovers, misnamed_blobs, structured, text

LLAMA_HIDDEN = 3072
LONG_PROMPT = " ".join(f"word{i}" for i in range(48))
START = "start Ollama with `ollama serve`, or set OLLAMA_HOST to where it runs"
DROPPED = (
    "(RemoteProtocolError: peer closed connection without sending complete message body "
    "(incomplete chunked read))"
)


def interrupted(tool: str, url: str, path: str, lines: str) -> str:
    return (
        f"Error executing tool {tool}: Ollama at {url} ended POST {path} after {lines} line(s) "
        f"without finishing it {DROPPED}; if Ollama stopped, {START}"
    )


Progress = Callable[[float, float | None, str | None], Awaitable[None]]


def on_first(action: Callable[[], None], when: str = "") -> tuple[Progress, anyio.Event]:
    """A progress callback that runs `action` once, at the first message containing `when`."""
    fired = anyio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        if not fired.is_set() and when in (message or ""):
            fired.set()
            action()

    return on_progress, fired


async def connected(settings: Settings) -> Any:
    return Client(build_server(settings), mode="legacy", read_timeout_seconds=60)


# --- Ollama stops in the middle of a call ---------------------------------------------------


async def test_ollama_stopping_mid_pull_then_a_retry_completes(
    settings: Settings, ollama_double: OllamaDouble
) -> None:
    ollama_double.catalogue.add("big:latest", model_size=8 * 2**20)
    ollama_double.progress_steps = 2_000
    stop, fired = on_first(ollama_double.faults.refuse_connections, "pulling ")
    async with await connected(settings) as client:
        failed = await client.call_tool("pull_model", {"name": "big"}, progress_callback=stop)
        assert fired.is_set()
        assert failed.is_error
        assert re.fullmatch(
            re.escape(interrupted("pull_model", ollama_double.url, "/api/pull", "N")).replace(
                "N", "[0-9]+"
            ),
            text(failed),
        ), text(failed)
        assert "big:latest" not in ollama_double.installed_names()
        ollama_double.faults.accept_connections()
        retried = await client.call_tool("pull_model", {"name": "big"})
        assert not retried.is_error, text(retried)
        listed = await client.call_tool("list_models", {})
    assert "big:latest" in [m["name"] for m in structured(listed)["models"]]
    assert misnamed_blobs(ollama_double) == []


async def test_ollama_stopping_mid_create_is_a_clear_error(
    settings: Settings, ollama_double: OllamaDouble
) -> None:
    ollama_double.faults.drop_after_lines(1, "/api/create")
    async with await connected(settings) as client:
        failed = await client.call_tool(
            "create_model", {"name": "brief", "modelfile": "FROM llama3.2\nSYSTEM Be brief."}
        )
        assert failed.is_error
        assert text(failed) == interrupted("create_model", ollama_double.url, "/api/create", "1")
        again = await client.call_tool(
            "create_model", {"name": "brief", "modelfile": "FROM llama3.2\nSYSTEM Be brief."}
        )
    assert not again.is_error, text(again)
    assert misnamed_blobs(ollama_double) == []


async def test_ollama_stopping_mid_upload_is_a_clear_error(
    settings: Settings, ollama_double: OllamaDouble, allowed_dir: Path
) -> None:
    adapter = write_peft_dir(allowed_dir / "adapter", hidden=LLAMA_HIDDEN)
    ollama_double.faults.delay("/api/blobs/", 60)  # the upload is in flight when Ollama stops
    arguments = {"path": str(adapter), "name": "tuned", "base_model": "llama3.2"}
    async with await connected(settings) as client, anyio.create_task_group() as group:
        results: list[Any] = []

        async def package() -> None:
            results.append(await client.call_tool("package_adapter", arguments))

        group.start_soon(package)
        await ollama_double.requests.wait_count_async("HEAD", blob_path(adapter), 1, 30)
        ollama_double.faults.refuse_connections()
    ollama_double.faults.reset()
    [failed] = results
    assert failed.is_error
    assert text(failed) == (
        f"Error executing tool package_adapter: Ollama is not running at {ollama_double.url} "
        "(nothing answered): start it with `ollama serve`, or set OLLAMA_HOST to where it runs"
    )
    assert "tuned:latest" not in ollama_double.installed_names()
    assert misnamed_blobs(ollama_double) == []


def blob_path(adapter: Path) -> str:
    """Where the adapter's weights are uploaded: Ollama converts a PEFT adapter itself."""
    digest = hashlib.sha256((adapter / "adapter_model.safetensors").read_bytes()).hexdigest()
    return f"/api/blobs/sha256:{digest}"


async def test_ollama_stopping_mid_generate_is_a_clear_error(
    settings: Settings, ollama_double: OllamaDouble
) -> None:
    ollama_double.faults.drop_after_lines(3, "/api/generate")
    async with await connected(settings) as client:
        failed = await client.call_tool("generate", {"model": "llama3.2", "prompt": LONG_PROMPT})
        next_call = await client.call_tool("generate", {"model": "llama3.2", "prompt": "hi"})
    assert failed.is_error
    assert text(failed) == interrupted("generate", ollama_double.url, "/api/generate", "3")
    assert text(next_call) == "Echo: hi"


# --- Ollama answers, but with an error ---------------------------------------------------------


async def test_an_error_line_mid_stream_is_the_tool_error(
    settings: Settings, ollama_double: OllamaDouble
) -> None:
    ollama_double.faults.error_after_lines(2, "model runner crashed", "/api/generate")
    async with await connected(settings) as client:
        failed = await client.call_tool("generate", {"model": "llama3.2", "prompt": LONG_PROMPT})
    assert failed.is_error
    assert text(failed) == (
        "Error executing tool generate: Ollama error (in the stream): model runner crashed"
    )


async def test_busy_is_retried_then_succeeds(
    settings: Settings, ollama_double: OllamaDouble
) -> None:
    ollama_double.faults.busy(2)
    async with await connected(settings) as client:
        result = await client.call_tool("generate", {"model": "llama3.2", "prompt": "hi"})
    assert text(result) == "Echo: hi"
    assert ollama_double.requests.count("POST", "/api/generate") == 3


async def test_busy_for_good_is_reported(settings: Settings, ollama_double: OllamaDouble) -> None:
    ollama_double.faults.busy(1_000)
    async with await connected(settings) as client:
        result = await client.call_tool("generate", {"model": "llama3.2", "prompt": "hi"})
        ollama_double.faults.busy(0)
        after = await client.call_tool("generate", {"model": "llama3.2", "prompt": "hi"})
    assert result.is_error
    assert text(result) == (
        "Error executing tool generate: Ollama is busy (its queue is full): try again in a "
        f"moment ({BUSY_MESSAGE})"
    )
    assert text(after) == "Echo: hi"


# --- cancellation ------------------------------------------------------------------------------


async def cancel_midway(
    client: Client, tool: str, arguments: dict[str, Any], when: str = ""
) -> None:
    """Call `tool`, and cancel the call at its first progress message containing `when`."""
    started = anyio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        if when in (message or ""):
            started.set()

    async with anyio.create_task_group() as group:

        async def call() -> None:
            await client.call_tool(tool, arguments, progress_callback=on_progress)

        group.start_soon(call)
        await started.wait()
        group.cancel_scope.cancel()


def server_tasks() -> set[asyncio.Task[Any]]:
    return {task for task in asyncio.all_tasks() if task is not asyncio.current_task()}


async def tasks_left_over(idle: set[asyncio.Task[Any]]) -> set[asyncio.Task[Any]]:
    """The tasks beyond `idle` once those still cancelling have ended (a cancelled call's task
    may still be closing its files when the next call answers); a leaked task never ends."""
    extra = server_tasks() - idle
    if extra:
        await asyncio.wait(extra, timeout=10)
    return server_tasks() - idle


@pytest.mark.parametrize(
    ("tool", "path", "when"),
    [
        ("pull_model", "/api/pull", "pulling "),
        ("create_model", "/api/create", "pulling "),  # Ollama pulls the base it lacks
        ("generate", "/api/generate", "chunks"),
    ],
)
async def test_cancelling_leaves_no_task_no_stream_and_no_file(
    tool: str, path: str, when: str, settings: Settings, ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    ollama_double.catalogue.add("slow:latest", model_size=8 * 2**20)
    ollama_double.progress_steps = 50_000
    ollama_double.faults.token_delay = 0.2
    arguments = {
        "pull_model": {"name": "slow"},
        "create_model": {"name": "mine", "modelfile": "FROM slow"},  # create pulls its base
        "generate": {"model": "llama3.2", "prompt": LONG_PROMPT},
    }[tool]
    async with await connected(settings) as client:
        await client.call_tool("list_models", {})
        idle = server_tasks()
        await cancel_midway(client, tool, arguments, when)
        assert await ollama_double.requests.wait_disconnect_async(10)
        assert path in ollama_double.requests.disconnects
        after = await client.call_tool("generate", {"model": "llama3.2", "prompt": "hi"})
        assert text(after) == "Echo: hi"
        assert await tasks_left_over(idle) == set()
    assert misnamed_blobs(ollama_double) == []
    assert leftovers(tmp_path) == []


async def test_cancelling_an_upload_closes_it_and_leaves_nothing(
    settings: Settings, ollama_double: OllamaDouble, allowed_dir: Path, tmp_path: Path
) -> None:
    adapter = write_peft_dir(allowed_dir / "adapter", hidden=LLAMA_HIDDEN)
    ollama_double.faults.delay("/api/blobs/", 60)  # hold the upload open
    arguments = {"path": str(adapter), "name": "tuned", "base_model": "llama3.2"}
    async with await connected(settings) as client:
        await client.call_tool("list_models", {})
        idle = server_tasks()
        async with anyio.create_task_group() as group:

            async def package() -> None:
                await client.call_tool("package_adapter", arguments)

            group.start_soon(package)
            await ollama_double.requests.wait_count_async("HEAD", blob_path(adapter), 1, 30)
            group.cancel_scope.cancel()
        assert await ollama_double.requests.wait_disconnect_async(10)
        assert ollama_double.requests.disconnects[-1].startswith("/api/blobs/")
        ollama_double.faults.reset()
        after = await client.call_tool("generate", {"model": "llama3.2", "prompt": "hi"})
        assert text(after) == "Echo: hi"
        assert await tasks_left_over(idle) == set()
    assert "tuned:latest" not in ollama_double.installed_names()
    assert misnamed_blobs(ollama_double) == []
    assert leftovers(tmp_path) == []


# --- a file changed under an upload --------------------------------------------------------------


def grow(path: Path) -> None:
    with path.open("ab") as file:
        file.write(b"\0" * 4096)


def shrink(path: Path) -> None:
    with path.open("r+b") as file:
        file.truncate(path.stat().st_size // 2)


CHANGES: dict[str, Callable[[Path], None]] = {
    "grows": grow,
    "shrinks": shrink,
    "disappears": Path.unlink,
}


@pytest.mark.parametrize("change", CHANGES)
async def test_a_file_changed_between_check_and_upload_fails_the_call(
    change: str, settings: Settings, ollama_double: OllamaDouble, allowed_dir: Path
) -> None:
    adapter = write_peft_dir(allowed_dir / "adapter", hidden=LLAMA_HIDDEN)
    weights = adapter / "adapter_model.safetensors"
    ollama_double.faults.delay("/api/blobs/", 1)  # hashed and checked; the upload not begun
    arguments = {"path": str(adapter), "name": "tuned", "base_model": "llama3.2"}
    results: list[Any] = []
    async with await connected(settings) as client:
        async with anyio.create_task_group() as group:

            async def package() -> None:
                results.append(await client.call_tool("package_adapter", arguments))

            path = blob_path(adapter)
            group.start_soon(package)
            await ollama_double.requests.wait_count_async("HEAD", path, 1, 30)
            CHANGES[change](weights)
        after = await client.call_tool("generate", {"model": "llama3.2", "prompt": "hi"})
    [failed] = results
    assert failed.is_error
    prefix = "Error executing tool package_adapter: "
    if change == "disappears":
        assert text(failed) == f"{prefix}no such file or folder: {weights}; check the path"
    else:
        expected = (
            re.escape(
                f"{prefix}{str(weights)!r} changed while it was being uploaded (digest mismatch, "
                f'expected "{path.removeprefix("/api/blobs/")}", got "sha256:'
            )
            + '[0-9a-f]{64}"'
            + re.escape("); wait until whatever is writing it has finished, then retry")
        )
        assert re.fullmatch(expected, text(failed)), text(failed)
    assert "tuned:latest" not in ollama_double.installed_names()
    assert misnamed_blobs(ollama_double) == []
    assert text(after) == "Echo: hi"
