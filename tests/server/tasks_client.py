"""The client side of MCP tasks for the tests, on the SDK's real client: it has no tasks of its own.

2025-11-25: the SDK client checks a `tools/call` result against that era's `CallToolResult`, which a
`CreateTaskResult` is not, so a task-augmented call goes out on the client's raw channel; the
`tasks/*` requests use the session's typed path. 2026-07-28: a client extension that declares
`io.modelcontextprotocol/tasks` and claims `resultType: "task"`, polling `tasks/get` to the end.
"""

from __future__ import annotations

from typing import Any, Literal

import anyio
from mcp import Client
from mcp.client.extension import ClaimContext, ClientExtension, ResultClaim
from mcp.types import (
    CallToolResult,
    CancelTaskRequest,
    CancelTaskRequestParams,
    GetTaskPayloadRequest,
    GetTaskPayloadRequestParams,
    GetTaskRequest,
    GetTaskRequestParams,
    ListTasksRequest,
    PaginatedRequestParams,
    Result,
)
from pydantic import ConfigDict, Field, TypeAdapter

TASKS = "io.modelcontextprotocol/tasks"
ANY_DICT: TypeAdapter[dict[str, Any]] = TypeAdapter(dict[str, Any])
TERMINAL = ("completed", "failed", "cancelled")


async def call_as_task(
    client: Client, name: str, arguments: dict[str, Any], *, progress_token: str | None = None
) -> dict[str, Any]:
    """A 2025-11-25 `tools/call` with `task`: the raw `CreateTaskResult`."""
    params: dict[str, Any] = {"name": name, "arguments": arguments, "task": {"ttl": 60000}}
    if progress_token is not None:
        params["_meta"] = {"progressToken": progress_token}
    dispatcher = client.session._dispatcher  # the typed path would refuse a CreateTaskResult
    return await dispatcher.send_raw_request("tools/call", params, {"timeout": 30})


async def get_task(client: Client, task_id: str) -> dict[str, Any]:
    request = GetTaskRequest(params=GetTaskRequestParams(task_id=task_id))
    return await client.session.send_request(request, ANY_DICT)


async def task_result(client: Client, task_id: str) -> dict[str, Any]:
    request = GetTaskPayloadRequest(params=GetTaskPayloadRequestParams(task_id=task_id))
    return await client.session.send_request(request, ANY_DICT)


async def cancel_task(client: Client, task_id: str) -> dict[str, Any]:
    request = CancelTaskRequest(params=CancelTaskRequestParams(task_id=task_id))
    return await client.session.send_request(request, ANY_DICT)


async def list_tasks(client: Client, cursor: str | None = None) -> dict[str, Any]:
    request = ListTasksRequest(params=PaginatedRequestParams(cursor=cursor))
    return await client.session.send_request(request, ANY_DICT)


async def until_task(client: Client, task_id: str, done: Any) -> dict[str, Any]:
    """`tasks/get` until `done(task)` holds; every poll is a round trip, never a sleep."""
    with anyio.fail_after(15):
        while True:
            task = await get_task(client, task_id)
            if done(task):
                return task


class TaskHandle(Result):
    """A 2026-07-28 `CreateTaskResult`."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    result_type: Literal["task"] = Field(alias="resultType")
    task_id: str = Field(alias="taskId")
    status: str


class TasksClient(ClientExtension):
    """Declares the tasks extension; a task answer is polled to its end and its result returned.
    `handles` keeps every task the server handed out, `polls` every `tasks/get` answer."""

    identifier = TASKS

    def __init__(self, poll_cap_ms: int = 20) -> None:
        self.poll_cap_ms = poll_cap_ms  # the server's pollIntervalMs, shortened for tests
        self.handles: list[TaskHandle] = []
        self.polls: list[dict[str, Any]] = []
        self.started = anyio.Event()

    def claims(self) -> list[ResultClaim[Any]]:
        return [ResultClaim(result_type="task", model=TaskHandle, resolve=self._resolve)]

    async def _resolve(self, handle: TaskHandle, ctx: ClaimContext) -> CallToolResult:
        self.handles.append(handle)
        self.started.set()
        request = GetTaskRequest(params=GetTaskRequestParams(task_id=handle.task_id))
        with anyio.fail_after(30):
            while True:
                task = await ctx.session.send_request(request, ANY_DICT)
                self.polls.append(task)
                if task["status"] in TERMINAL:
                    break
                # A client's polling cadence (the spec asks clients to honour pollIntervalMs).
                await anyio.sleep(min(task["pollIntervalMs"], self.poll_cap_ms) / 1000)
        if task["status"] == "completed":
            return CallToolResult.model_validate(task["result"])
        raise RuntimeError(f"task {handle.task_id} ended {task['status']}: {task}")
