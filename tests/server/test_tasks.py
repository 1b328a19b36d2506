"""MCP tasks, both eras, against the double with a slow pull (its gate lets lines out only as each
test allows): calls that return a task at once, `tasks/get`, `tasks/result`, `tasks/list`,
`tasks/cancel`, who may see a task, and background pulls as tasks."""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.types import INVALID_PARAMS, METHOD_NOT_FOUND

from server.app import build_server
from server.settings import Settings
from server.tasks.manager import CANCELLED_BY_REQUEST, CANCELLED_BY_SHUTDOWN, ENDED_BY_RESTART
from server.tasks.protocol import PAGE_SIZE
from server.tasks.records import RELATED_TASK, TaskHistory, TaskRecord
from tests.ollama_double.server import OllamaDouble
from tests.server.tasks_client import (
    TasksClient,
    call_as_task,
    cancel_task,
    get_task,
    list_tasks,
    task_result,
    until_task,
)
from tests.server.test_background_pulls import MODEL, make_big, status
from tests.server.test_http_security import TOKEN, Start, start_http  # noqa: F401 - a fixture
from tests.server.test_stdio import server_args
from tests.server.test_subscriptions import http_url  # noqa: F401 - a fixture

OTHER_TOKEN = "another-horse-battery-staple-9876543210"
TASK_TOOLS = {"pull_model", "push_model", "create_model", "package_adapter", "generate", "chat"}


def legacy(settings: Settings, **options: Any) -> Client:
    return Client(build_server(settings), mode="legacy", read_timeout_seconds=30, **options)


def without_meta(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != "_meta"}


# --- 2025-11-25 -----------------------------------------------------------------------------


async def test_the_handshake_era_declares_tasks_and_which_tools_take_them(
    settings: Settings,
) -> None:
    async with legacy(settings) as client:
        capabilities = client.server_capabilities.model_dump(by_alias=True, exclude_none=True)
        tools = (await client.list_tools()).tools
    assert capabilities["tasks"] == {"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}}
    optional = {t.name for t in tools if t.execution and t.execution.task_support == "optional"}
    assert optional == TASK_TOOLS
    assert all(t.execution is None for t in tools if t.name not in TASK_TOOLS)


async def test_a_task_augmented_pull_returns_at_once_and_reports_its_bytes(
    settings: Settings, ollama_double: OllamaDouble
) -> None:
    gate = make_big(ollama_double)
    async with legacy(settings) as client:
        created = await call_as_task(client, "pull_model", {"name": "big"})
        assert gate.passed == 0  # answered before Ollama sent a line
        task = created["task"]
        assert task["status"] == "working" and task["ttl"] is None and task["pollInterval"] > 0
        assert len(task["taskId"]) >= 32  # 192 random bits, URL-safe
        messages = []
        for lines in (3, 6):
            gate.allow(lines - gate.passed)
            assert await gate.wait_held_async(lines=lines)
            polled = await until_task(
                client,
                task["taskId"],
                lambda t: "%" in t["statusMessage"] and t["statusMessage"] not in messages,
            )
            assert polled["status"] == "working"
            messages.append(polled["statusMessage"])
        # pull_status reads the same pull as the task
        assert (await status(client))["status"] == "pulling"
        gate.open()
        result = await task_result(client, task["taskId"])
        ended = await get_task(client, task["taskId"])
        plain = await client.call_tool("pull_model", {"name": "big"})
    percents = [int(re.findall(r"\((\d+)%\)", m)[0]) for m in messages]
    assert percents == sorted(percents) and len(set(percents)) == 2, messages
    assert all(m.startswith(f"{MODEL}: pulling, ") for m in messages), messages
    assert ended["status"] == "completed" and ended["ttl"] > 3_000_000
    assert ended["statusMessage"].startswith(f"pulled {MODEL}")
    assert result["_meta"][RELATED_TASK] == {"taskId": task["taskId"]}
    plain_wire = plain.model_dump(by_alias=True, exclude_none=True, mode="json")
    assert without_meta(result) == {k: v for k, v in plain_wire.items() if k != "resultType"}


async def test_a_failing_pull_task_ends_failed_with_ollamas_error(settings: Settings) -> None:
    async with legacy(settings) as client:
        created = await call_as_task(client, "pull_model", {"name": "no-such-model"})
        result = await task_result(client, created["task"]["taskId"])
        ended = await get_task(client, created["task"]["taskId"])
    assert result["isError"] is True
    assert "pull model manifest: file does not exist" in result["content"][0]["text"]
    assert ended["status"] == "failed"
    assert "pull model manifest: file does not exist" in ended["statusMessage"]


async def test_cancelling_a_task_closes_the_stream_to_ollama(
    settings: Settings, ollama_double: OllamaDouble
) -> None:
    gate = make_big(ollama_double)
    gate.allow(2)
    async with legacy(settings) as client:
        created = await call_as_task(client, "pull_model", {"name": "big"})
        task_id = created["task"]["taskId"]
        assert await gate.wait_held_async(lines=2)
        cancelled = await cancel_task(client, task_id)
        assert await ollama_double.requests.wait_disconnect_async(10)
        with pytest.raises(MCPError) as again:
            await cancel_task(client, task_id)
        pulls = await client.call_tool("pull_status", {"name": "big"})
    assert cancelled["status"] == "cancelled"
    assert cancelled["statusMessage"] == CANCELLED_BY_REQUEST
    assert again.value.code == INVALID_PARAMS
    assert str(again.value) == (
        f"task {task_id} already ended (cancelled): there is nothing to cancel; "
        "tasks/get shows how it ended"
    )
    assert pulls.structured_content["pulls"][-1]["status"] == "cancelled"  # type: ignore[index]
    assert MODEL not in ollama_double.installed_names()


async def test_tasks_list_pages_and_refuses_a_made_up_cursor(settings: Settings) -> None:
    async with legacy(settings) as client:
        made = []
        for n in range(PAGE_SIZE + 1):
            created = await call_as_task(
                client, "generate", {"model": "llama3.2", "prompt": f"{n}"}
            )
            made.append(created["task"]["taskId"])
        first = await list_tasks(client)
        second = await list_tasks(client, first["nextCursor"])
        with pytest.raises(MCPError) as made_up:
            await list_tasks(client, "not-a-cursor")
    listed = [t["taskId"] for t in first["tasks"] + second["tasks"]]
    assert listed == made
    assert len(first["tasks"]) == PAGE_SIZE and "nextCursor" not in second
    assert made_up.value.code == INVALID_PARAMS
    assert "unknown cursor" in str(made_up.value)


async def test_a_tool_that_does_not_run_as_a_task_is_refused(settings: Settings) -> None:
    async with legacy(settings) as client:
        with pytest.raises(MCPError) as refused:
            await call_as_task(client, "list_models", {})
    assert refused.value.code == METHOD_NOT_FOUND
    assert str(refused.value) == (
        "list_models does not run as a task (its execution.taskSupport is forbidden): "
        "call it without `task`"
    )


async def test_progress_keeps_flowing_marked_with_its_task(
    settings: Settings, ollama_double: OllamaDouble
) -> None:
    gate = make_big(ollama_double)
    heard = anyio.Event()
    notes: list[dict[str, Any]] = []

    async def on_message(message: object) -> None:
        root = getattr(message, "root", message)
        if type(root).__name__ == "ProgressNotification":
            notes.append(root.model_dump(by_alias=True, exclude_none=True))  # type: ignore[attr-defined]
            heard.set()

    async with legacy(settings, message_handler=on_message) as client:
        created = await call_as_task(client, "pull_model", {"name": "big"}, progress_token="p1")
        gate.allow(3)
        with anyio.fail_after(10):
            await heard.wait()
        gate.open()
        await task_result(client, created["task"]["taskId"])
    assert notes[0]["params"]["progressToken"] == "p1"
    assert notes[0]["params"]["_meta"][RELATED_TASK] == {"taskId": created["task"]["taskId"]}


async def test_another_sessions_task_is_unknown(http_url: str, ollama_double: OllamaDouble) -> None:  # noqa: F811
    make_big(ollama_double).open()
    async with (
        Client(http_url, mode="legacy") as mine,
        Client(http_url, mode="legacy") as theirs,
    ):
        created = await call_as_task(mine, "pull_model", {"name": "big"})
        task_id = created["task"]["taskId"]
        with pytest.raises(MCPError) as unknown:
            await get_task(theirs, task_id)
        assert task_id not in [t["taskId"] for t in (await list_tasks(theirs))["tasks"]]
        assert (await task_result(mine, task_id))["isError"] is False
    assert unknown.value.code == INVALID_PARAMS
    assert str(unknown.value).startswith("Failed to retrieve task: Task not found")


# --- background pulls are tasks ---------------------------------------------------------------


async def test_a_background_pull_is_a_task_and_a_task_is_in_pull_status(
    settings: Settings, ollama_double: OllamaDouble
) -> None:
    gate = make_big(ollama_double)
    async with legacy(settings) as client:
        started = await client.call_tool("pull_model", {"name": "big", "background": True})
        task_id = started.structured_content["task_id"]  # type: ignore[index]
        gate.allow(3)
        assert await gate.wait_held_async(lines=3)
        polled = await until_task(client, task_id, lambda t: "%" in t["statusMessage"])
        listed = [t["taskId"] for t in (await list_tasks(client))["tasks"]]
        gate.open()
        result = await task_result(client, task_id)
    assert polled["statusMessage"].startswith(f"{MODEL}: pulling, ")
    assert listed == [task_id]
    assert result["structuredContent"]["action"] == "pulled"
    assert task_id in started.content[0].text  # type: ignore[union-attr]


# --- 2026-07-28 -------------------------------------------------------------------------------


async def test_the_2026_era_offers_the_extension_and_no_legacy_capability(
    settings: Settings,
) -> None:
    async with Client(build_server(settings)) as client:
        capabilities = client.server_capabilities
        tools = (await client.list_tools()).tools
    assert (
        capabilities.extensions is not None
        and "io.modelcontextprotocol/tasks" in capabilities.extensions
    )
    assert capabilities.tasks is None
    assert all(t.execution is None for t in tools)


async def test_a_slow_call_becomes_a_task_and_a_quick_one_answers_plainly(
    settings: Settings, ollama_double: OllamaDouble
) -> None:
    gate = make_big(ollama_double)
    tasks = TasksClient()
    async with Client(
        build_server(settings), extensions=[tasks], read_timeout_seconds=30
    ) as client:
        quick = await client.call_tool("generate", {"model": "llama3.2", "prompt": "hi"})
        assert tasks.handles == []
        async with anyio.create_task_group() as group:
            results: list[Any] = []

            async def pull() -> None:
                results.append(await client.call_tool("pull_model", {"name": "big"}))

            group.start_soon(pull)
            with anyio.fail_after(10):
                await tasks.started.wait()
            assert (await status(client))["status"] == "pulling"  # the same pull
            gate.open()
    assert not quick.is_error
    [handle] = tasks.handles
    assert handle.status == "working"
    assert results[0].structured_content["action"] == "pulled"
    assert tasks.polls[-1]["status"] == "completed" and tasks.polls[-1]["resultType"] == "complete"


async def test_2026_tasks_get_needs_the_extension_declared(
    settings: Settings,
) -> None:
    async with Client(build_server(settings)) as client:
        with pytest.raises(MCPError) as refused:
            await get_task(client, "anything")
    assert refused.value.code == -32021


# --- restarts -------------------------------------------------------------------------------


async def test_a_restarted_server_reports_the_tasks_of_the_last_one(
    settings: Settings, ollama_double: OllamaDouble
) -> None:
    gate = make_big(ollama_double)
    tasks = TasksClient()
    async with Client(build_server(settings), extensions=[tasks]) as client:
        started = await client.call_tool("pull_model", {"name": "big", "background": True})
        task_id = started.structured_content["task_id"]  # type: ignore[index]
        assert await gate.wait_held_async(lines=0)
    # as if a process had been killed while a task ran: its record says "working"
    assert settings.cache_dir is not None
    history = TaskHistory(settings.cache_dir, 3600)
    killed = TaskRecord.start(owner="open", tool="generate", keep_seconds=3600, poll_ms=1000)
    history.save([killed])
    async with Client(build_server(settings), extensions=[TasksClient()]) as client:
        shut = await get_task(client, task_id)
        interrupted = await get_task(client, killed.id)
    assert shut["status"] == "cancelled" and shut["statusMessage"] == CANCELLED_BY_SHUTDOWN
    assert interrupted["status"] == "failed"
    assert interrupted["error"]["message"] == ENDED_BY_RESTART


# --- over HTTP: the 2026 era, and tasks bound to the bearer token -----------------------------


async def test_over_http_the_2026_era_hands_a_slow_pull_off_to_a_task(
    http_url: str,  # noqa: F811
    ollama_double: OllamaDouble,
) -> None:
    gate = make_big(ollama_double)
    tasks = TasksClient()
    results: list[Any] = []
    async with (
        Client(http_url, extensions=[tasks], read_timeout_seconds=30) as client,
        anyio.create_task_group() as group,
    ):

        async def pull() -> None:
            results.append(await client.call_tool("pull_model", {"name": "big"}))

        group.start_soon(pull)
        with anyio.fail_after(10):
            await tasks.started.wait()
        gate.open()
    [handle] = tasks.handles
    assert handle.status == "working"
    assert tasks.polls[-1]["status"] == "completed"
    assert results[0].structured_content["action"] == "pulled"


@asynccontextmanager
async def token_client(url: str, token: str) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http,
        Client(streamable_http_client(f"{url}/mcp", http_client=http), mode="legacy") as client,
    ):
        yield client


async def test_a_task_is_bound_to_the_token_that_made_it(
    start_http: Start,  # noqa: F811
    ollama_double: OllamaDouble,
    tmp_path: Path,
) -> None:
    """Two servers on one task history (as after a restart with a new token): a record made with
    one token is unknown to a server that accepts another, found by one that accepts the same."""
    common = ("--ollama-host", ollama_double.url, "--cache-dir", str(tmp_path / "cache"))
    made_with = start_http("--auth-token", TOKEN, *common)
    async with token_client(made_with, TOKEN) as client:
        created = await call_as_task(client, "pull_model", {"name": "llama3.2"})
        task_id = created["task"]["taskId"]
        assert (await task_result(client, task_id))["isError"] is False
    other, same = (start_http("--auth-token", t, *common) for t in (OTHER_TOKEN, TOKEN))
    async with token_client(other, OTHER_TOKEN) as client:
        with pytest.raises(MCPError) as unknown:
            await get_task(client, task_id)
        listed = (await list_tasks(client))["tasks"]
    async with token_client(same, TOKEN) as client:
        found = await get_task(client, task_id)
    assert str(unknown.value).startswith("Failed to retrieve task: Task not found")
    assert listed == []
    assert found["status"] == "completed"


# --- over stdio, both eras --------------------------------------------------------------------


def stdio(double: OllamaDouble, tmp_path: Path) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=server_args(double, tmp_path))


async def test_over_stdio_a_legacy_task_runs_to_its_result(
    ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    gate = make_big(ollama_double)
    params = stdio(ollama_double, tmp_path)
    async with Client(params, mode="legacy", read_timeout_seconds=30) as client:
        created = await call_as_task(client, "pull_model", {"name": "big"})
        task_id = created["task"]["taskId"]
        working = await get_task(client, task_id)
        gate.open()
        result = await task_result(client, task_id)
    assert created["task"]["status"] == working["status"] == "working"
    assert result["structuredContent"]["action"] == "pulled"


async def test_over_stdio_the_2026_era_hands_a_slow_pull_off_to_a_task(
    ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    gate = make_big(ollama_double)
    tasks = TasksClient()
    results: list[Any] = []
    params = stdio(ollama_double, tmp_path)
    async with (
        Client(params, extensions=[tasks], read_timeout_seconds=30) as client,
        anyio.create_task_group() as group,
    ):

        async def pull() -> None:
            results.append(await client.call_tool("pull_model", {"name": "big"}))

        group.start_soon(pull)
        with anyio.fail_after(10):
            await tasks.started.wait()
        gate.open()
    assert tasks.polls[-1]["status"] == "completed"
    assert results[0].structured_content["action"] == "pulled"
