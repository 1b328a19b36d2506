"""Pulls across the server's life: its shutdown cancels them cleanly, finished ones are kept in
the cache folder for a restarted server, old ones are forgotten, and a background pull outlives
the client that started it (over streamable HTTP, where the server outlives its sessions)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from server.app import build_server
from server.http_security import http_app, uvicorn_server
from server.pull_records import FILE_NAME, PullHistory, PullRecord, now
from server.settings import Settings, parse_args
from server.toolsets.registry import describe_pull
from tests.ollama_double.server import OllamaDouble
from tests.server.conftest import Connect, with_settings
from tests.server.test_background_pulls import until_status

MODEL = "big:latest"


def text(result: Any) -> str:
    return str(result.content[0].text)


def last_record(result: Any) -> dict[str, Any]:
    assert not result.is_error, text(result)
    return dict(result.structured_content["pulls"][-1])


async def test_shutdown_cancels_a_background_pull_and_a_restarted_server_reports_it(
    connect: Connect, ollama_double: OllamaDouble, settings: Settings
) -> None:
    ollama_double.catalogue.add(MODEL, model_size=2**20)
    async with connect() as client:
        pulled = await client.call_tool("pull_model", {"name": "tinyllama"})
        gate = ollama_double.faults.gate("/api/pull")
        gate.allow(2)
        await client.call_tool("pull_model", {"name": "big", "background": True})
        assert await gate.wait_held_async(lines=2)
        await until_status(client, lambda r: r["bytes_total"] > 0)
    # Leaving the client ended the server's lifespan: the pull's stream to Ollama is closed.
    assert await ollama_double.requests.wait_disconnect_async(10)
    assert MODEL not in ollama_double.installed_names()
    assert settings.cache_dir is not None
    on_disk = json.loads((settings.cache_dir / FILE_NAME).read_text())
    assert [(r["model"], r["status"]) for r in on_disk["pulls"]] == [
        ("tinyllama:latest", "success"),
        (MODEL, "cancelled"),
    ]
    async with connect() as client:
        big = await client.call_tool("pull_status", {"name": "big"})
        everything = await client.call_tool("pull_status", {})
    assert not pulled.is_error, text(pulled)
    record = last_record(big)
    assert record["status"] == "cancelled"
    assert record["error"] == "cancelled: the server shut down"
    assert record["ended_at"] is not None and record["bytes_total"] > 0
    assert [r["status"] for r in everything.structured_content["pulls"]] == [  # type: ignore[index]
        "success",
        "cancelled",
    ]


async def test_finished_pulls_are_forgotten_after_the_history_window(
    connect: Connect, settings: Settings
) -> None:
    async with connect(with_settings(settings, pull_history=0.0)) as client:
        await client.call_tool("pull_model", {"name": "tinyllama"})
        status = await client.call_tool("pull_status", {"name": "tinyllama"})
    assert status.is_error
    assert text(status) == (
        "Error executing tool pull_status: no pull of tinyllama is running or ended in the last "
        "0 s: start one with pull_model"
    )


def record(model: str, minutes_ago: float, status: str = "success") -> PullRecord:
    ended = now() - timedelta(minutes=minutes_ago)
    return PullRecord(
        id=f"{model}-{minutes_ago}",
        model=model,
        status=status,  # type: ignore[arg-type]
        started_at=ended - timedelta(minutes=1),
        ended_at=ended,
    )


def test_the_history_file_merges_by_id_and_drops_what_is_too_old(tmp_path: Path) -> None:
    first, second = PullHistory(tmp_path, keep=3600), PullHistory(tmp_path, keep=3600)
    first.save([record("a:latest", 5), record("old:latest", 90)])
    second.save([record("b:latest", 1, "failed")])  # another process on the same folder
    loaded = PullHistory(tmp_path, keep=3600).load()
    assert [(r.model, r.status) for r in loaded] == [
        ("a:latest", "success"),
        ("b:latest", "failed"),
    ]
    assert list(tmp_path.iterdir()) == [tmp_path / FILE_NAME]  # no temporary file left behind


def test_a_history_file_that_does_not_parse_is_ignored(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_text('{"format": 1, "pulls": [{"model": ')
    history = PullHistory(tmp_path, keep=3600)
    assert history.load() == []
    history.save([record("a:latest", 1)])
    assert [r.model for r in history.load()] == ["a:latest"]


def test_the_history_setting_has_a_flag_and_an_environment_twin() -> None:
    assert parse_args([], env={}).pull_history == 3600.0
    assert parse_args(["--pull-history", "60"], env={}).pull_history == 60.0
    assert parse_args([], env={"OLLAMA_MCP_PULL_HISTORY": "7200"}).pull_history == 7200.0
    with pytest.raises(SystemExit):
        parse_args(["--pull-history", "-1"], env={})


@pytest.fixture
def http_server(ollama_double: OllamaDouble, tmp_path: Path) -> Iterator[str]:
    """The real streamable HTTP app on a loopback socket: one server, many client sessions."""
    settings = parse_args(
        ["--transport", "streamable-http", "--ollama-host", ollama_double.url,
         "--cache-dir", str(tmp_path / "cache")],
        env={},
    )  # fmt: skip
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    server = uvicorn_server(http_app(build_server(settings), settings), settings)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
    ollama_double.faults.reset()  # let a held pull end, so the server stops at once
    server.should_exit = True
    thread.join(timeout=30)


async def test_a_background_pull_outlives_the_client_that_started_it(
    http_server: str, ollama_double: OllamaDouble
) -> None:
    ollama_double.catalogue.add(MODEL, model_size=2**20)
    gate = ollama_double.faults.gate("/api/pull")
    gate.allow(2)
    async with Client(http_server, read_timeout_seconds=30) as first:
        started = await first.call_tool("pull_model", {"name": "big", "background": True})
        assert await gate.wait_held_async(lines=2)
    heard = anyio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        heard.set()

    async with Client(http_server, read_timeout_seconds=30) as second:
        during = await second.call_tool("pull_status", {"name": "big"})
        async with anyio.create_task_group() as group:
            outcome: dict[str, Any] = {}

            async def wait_for_it() -> None:  # joins the pull the first client started
                result = await second.call_tool(
                    "pull_model", {"name": "big"}, progress_callback=on_progress
                )
                outcome.update(result.structured_content or {"error": text(result)})

            group.start_soon(wait_for_it)
            with anyio.fail_after(10):
                await heard.wait()
            gate.open()
    assert not started.is_error, text(started)
    assert last_record(during)["status"] == "pulling"
    assert outcome["status"] == "success"
    assert ollama_double.requests.disconnects == []
    assert ollama_double.requests.count("POST", "/api/pull") == 1
    assert MODEL in ollama_double.installed_names()


def test_a_record_reads_as_one_line() -> None:
    pulling = record("big:latest", 0).model_copy(
        update={
            "status": "pulling",
            "ended_at": None,
            "bytes_done": 1_500_000_000,
            "bytes_total": 4_000_000_000,
            "bytes_per_second": 12_300_000,
            "eta_seconds": 600,
        }
    )
    assert describe_pull(pulling) == (
        "big:latest: pulling, 1.5 GB of 4.0 GB (37%), 12.3 MB/s, about 10 min left"
    )
    slower = pulling.model_copy(update={"eta_seconds": 7200, "bytes_per_second": None})
    assert describe_pull(slower).endswith("(37%), about 2.0 h left")
    failed = record("big:latest", 0, "failed").model_copy(update={"error": "Ollama said no"})
    assert describe_pull(failed).endswith(" UTC: Ollama said no")
