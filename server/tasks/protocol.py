"""MCP tasks on the wire, both eras, over one `TaskManager`.

2025-11-25 (the handshake era): the `tasks` capability; tools that may run long say
`execution.taskSupport: "optional"` in `tools/list`; a `tools/call` with `task` returns a
`CreateTaskResult` at once; `tasks/get`, `tasks/result` (waits for the end, then the plain
call's result), `tasks/list` (paged) and `tasks/cancel`. The SDK checks a `tools/call` result
against that era's `CallToolResult`, which would refuse a `CreateTaskResult`, so this era is
served by a middleware, above that check.

2026-07-28: the tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663) through the SDK's
extension framework. The server decides: a call of one of those tools from a client that
declared the extension and that has not ended `HAND_OFF_AFTER` seconds after its body began
becomes a task (`resultType: "task"`); one that ends sooner answers as a plain call. Before the
body begins, the SDK runs the tool's resolvers: a question to the person (a confirmation) goes
back as the plain call's `InputRequiredResult`, however long deciding to ask took. `tasks/get`
carries the result inline; `tasks/update` and `tasks/cancel` are acknowledgements; there is no
`tasks/list` and no `tasks/result`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import anyio
from mcp import MCPError
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Extension, MCPServer, MethodBinding, require_client_extension
from mcp.types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    CallToolRequestParams,
    CancelTaskRequestParams,
    GetTaskPayloadRequestParams,
    GetTaskRequestParams,
    PaginatedRequestParams,
    RequestParams,
    ServerTasksCapability,
    ServerTasksRequestsCapability,
    TasksCallCapability,
    TasksCancelCapability,
    TasksListCapability,
    TasksToolsCapability,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel

from server.tasks.channel import task_context
from server.tasks.manager import RunningTask, TaskAlreadyEnded, TaskManager, UnknownTask
from server.tasks.owner import task_owner
from server.tasks.records import RELATED_TASK, TaskRecord
from server.tools_api import SharedStateUnavailable

TASKS_EXTENSION = "io.modelcontextprotocol/tasks"
HANDSHAKE_TASKS_VERSION = "2025-11-25"  # the one handshake-era revision with tasks
HAND_OFF_AFTER = 1.0  # seconds (2026-07-28): a call that ends sooner is answered as a plain call
PAGE_SIZE = 20
IMMEDIATE_RESPONSE = "io.modelcontextprotocol/model-immediate-response"
TASK_VERSIONS = frozenset({HANDSHAKE_TASKS_VERSION, *MODERN_PROTOCOL_VERSIONS})


class UpdateTaskRequestParams(RequestParams):
    task_id: str
    input_responses: dict[str, Any] | None = None


def wire(result: HandlerResult) -> dict[str, Any]:
    if isinstance(result, BaseModel):
        return result.model_dump(by_alias=True, mode="json", exclude_none=True)
    return dict(result)  # type: ignore[arg-type]


def _manager(ctx: ServerRequestContext[Any, Any]) -> TaskManager:
    tasks = getattr(ctx.lifespan_context, "tasks", None)
    assert isinstance(tasks, TaskManager), "the lifespan state carries the task manager"
    return tasks


@contextmanager
def shared_state_errors() -> Iterator[None]:
    """Redis lost (with --state-url): the task call fails with its text as a JSON-RPC error."""
    try:
        yield
    except SharedStateUnavailable as exc:
        raise MCPError(INTERNAL_ERROR, str(exc)) from None


def _modern(ctx: ServerRequestContext[Any, Any]) -> bool:
    return ctx.protocol_version in MODERN_PROTOCOL_VERSIONS


def _declared(ctx: ServerRequestContext[Any, Any]) -> bool:
    capabilities = ctx.session.client_capabilities
    declared = capabilities.extensions if capabilities else None
    return bool(declared and TASKS_EXTENSION in declared)


class Tasks(Extension):
    """The `tasks/*` methods of both eras and the 2026-07-28 hand-off of long calls."""

    identifier = TASKS_EXTENSION

    def __init__(self, task_tools: frozenset[str], auth_token: str | None) -> None:
        self.task_tools = task_tools
        self.auth_token = auth_token

    def methods(self) -> Sequence[MethodBinding]:
        handshake = frozenset({HANDSHAKE_TASKS_VERSION})
        return (
            MethodBinding("tasks/get", GetTaskRequestParams, self.get, TASK_VERSIONS),
            MethodBinding("tasks/cancel", CancelTaskRequestParams, self.cancel, TASK_VERSIONS),
            MethodBinding("tasks/result", GetTaskPayloadRequestParams, self.result, handshake),
            MethodBinding("tasks/list", PaginatedRequestParams, self.list, handshake),
            MethodBinding(
                "tasks/update",
                UpdateTaskRequestParams,
                self.update,
                frozenset(MODERN_PROTOCOL_VERSIONS),
            ),
        )

    def owner(self, ctx: ServerRequestContext[Any, Any]) -> str:
        return task_owner(ctx, self.auth_token)

    # --- calls --------------------------------------------------------------------------------
    async def intercept_tool_call(
        self,
        params: CallToolRequestParams,
        ctx: ServerRequestContext[Any, Any],
        call_next: CallNext,
    ) -> HandlerResult:
        if not (_modern(ctx) and params.name in self.task_tools and _declared(ctx)):
            return await call_next(ctx)
        tasks = _manager(ctx)

        async def work(task: RunningTask) -> dict[str, Any]:
            return wire(await call_next(task_context(ctx, task, handshake=False)))

        task = tasks.launch(self.owner(ctx), params.name, work)
        try:
            # While the SDK resolves the arguments the call stays a plain call: a resolver's
            # question (an `InputRequiredResult`) must reach the caller, never a task.
            await task.working.wait()
            with anyio.move_on_after(HAND_OFF_AFTER):
                await task.done.wait()
        except anyio.get_cancelled_exc_class():
            task.cancel("cancelled: its caller cancelled the call")
            raise
        if task.done.is_set():  # ended in time: the plain answer, and no task to keep
            tasks.discard(task)
            return plain_outcome(task.record)
        with shared_state_errors():
            record = await tasks.publish(task)
        return {"resultType": "task", **record.modern_wire()}

    async def start_handshake_task(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> dict[str, Any]:
        """A 2025-11-25 `tools/call` with `task`: the task at once, the call in the lifespan."""
        params = ctx.params or {}
        name = params.get("name")
        if name not in self.task_tools:
            raise MCPError(
                METHOD_NOT_FOUND,
                f"{name} does not run as a task (its execution.taskSupport is forbidden): "
                "call it without `task`",
            )

        async def work(task: RunningTask) -> dict[str, Any]:
            return wire(await call_next(task_context(ctx, task, handshake=True)))

        with shared_state_errors():
            task = await _manager(ctx).start(self.owner(ctx), str(name), work)
        record = task.record
        told = (
            f"{name} is running as task {record.id}; it reports its progress and "
            "tasks/result gives its result when it ends"
        )
        return {"task": record.handshake_wire(), "_meta": {IMMEDIATE_RESPONSE: told}}

    # --- tasks/* ------------------------------------------------------------------------------
    async def _find(self, ctx: ServerRequestContext[Any, Any], task_id: str) -> TaskRecord:
        if _modern(ctx):
            require_client_extension(ctx, TASKS_EXTENSION)
        try:
            with shared_state_errors():
                return await _manager(ctx).get(self.owner(ctx), task_id)
        except UnknownTask as exc:
            raise MCPError(INVALID_PARAMS, str(exc)) from None

    async def get(
        self, ctx: ServerRequestContext[Any, Any], params: GetTaskRequestParams
    ) -> dict[str, Any]:
        record = await self._find(ctx, params.task_id)
        return record.modern_wire() if _modern(ctx) else record.handshake_wire()

    async def result(
        self, ctx: ServerRequestContext[Any, Any], params: GetTaskPayloadRequestParams
    ) -> dict[str, Any]:
        await self._find(ctx, params.task_id)
        try:
            with shared_state_errors():
                record = await _manager(ctx).outcome(self.owner(ctx), params.task_id)
        except UnknownTask as exc:  # expired while it was followed
            raise MCPError(INVALID_PARAMS, str(exc)) from None
        related = {RELATED_TASK: {"taskId": record.id}}
        if record.result is not None:
            return {**record.result, "_meta": {**(record.result.get("_meta") or {}), **related}}
        if record.error is not None:
            error = record.error
            raise MCPError(int(error["code"]), str(error["message"]), {**related, "error": error})
        raise MCPError(
            INVALID_REQUEST,
            f"task {record.id} was {record.message}: it has no result; tasks/get shows it",
            related,
        )

    async def list(
        self, ctx: ServerRequestContext[Any, Any], params: PaginatedRequestParams
    ) -> dict[str, Any]:
        with shared_state_errors():
            records = await _manager(ctx).owned(self.owner(ctx))
        start = 0
        if params.cursor is not None:
            ids = [record.id for record in records]
            if params.cursor not in ids:
                raise MCPError(
                    INVALID_PARAMS,
                    "unknown cursor: the task it pointed at has expired; list again from the start",
                )
            start = ids.index(params.cursor) + 1
        page = records[start : start + PAGE_SIZE]
        listed: dict[str, Any] = {"tasks": [record.handshake_wire() for record in page]}
        if start + PAGE_SIZE < len(records):
            listed["nextCursor"] = page[-1].id
        return listed

    async def cancel(
        self, ctx: ServerRequestContext[Any, Any], params: CancelTaskRequestParams
    ) -> dict[str, Any]:
        await self._find(ctx, params.task_id)
        try:
            with shared_state_errors():
                record = await _manager(ctx).cancel(self.owner(ctx), params.task_id)
        except UnknownTask as exc:  # expired while it was being cancelled
            raise MCPError(INVALID_PARAMS, str(exc)) from None
        except TaskAlreadyEnded as exc:
            if _modern(ctx):
                return {}  # cooperative: the task ended first, which tasks/get shows
            raise MCPError(INVALID_PARAMS, str(exc)) from None
        return {} if _modern(ctx) else record.handshake_wire()

    async def update(
        self, ctx: ServerRequestContext[Any, Any], params: UpdateTaskRequestParams
    ) -> dict[str, Any]:
        await self._find(ctx, params.task_id)
        return {}  # these tasks never ask for input: responses to nothing are ignored


def plain_outcome(record: TaskRecord) -> dict[str, Any]:
    """What the call would have answered, from a task that ended while the caller waited."""
    if record.result is not None:
        return record.result
    if record.error is not None:
        raise MCPError(int(record.error["code"]), str(record.error["message"]))
    raise MCPError(INVALID_REQUEST, f"{record.tool} was {record.message}")


def serve_tasks(server: MCPServer[Any], tasks: Tasks) -> None:
    """What the extension framework cannot do for 2025-11-25: the capability, the tools'
    `execution`, and the `tools/call` that returns a task."""
    lowlevel = server._lowlevel_server  # capabilities come from its options
    make_options = lowlevel.create_initialization_options

    def options(*args: Any, **kwargs: Any) -> Any:
        made = make_options(*args, **kwargs)
        made.capabilities.tasks = ServerTasksCapability(
            list=TasksListCapability(),
            cancel=TasksCancelCapability(),
            requests=ServerTasksRequestsCapability(
                tools=TasksToolsCapability(call=TasksCallCapability())
            ),
        )
        return made

    lowlevel.create_initialization_options = options  # type: ignore[method-assign]

    async def handshake_tasks(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> Any:
        if ctx.protocol_version != HANDSHAKE_TASKS_VERSION:
            return await call_next(ctx)
        params = ctx.params if isinstance(ctx.params, Mapping) else {}
        if ctx.method == "tools/call" and params.get("task") is not None:
            return await tasks.start_handshake_task(ctx, call_next)
        result = await call_next(ctx)
        if ctx.method == "tools/list" and isinstance(result, dict):
            optional = {"taskSupport": "optional"}
            listed = [
                {**tool, "execution": optional} if tool.get("name") in tasks.task_tools else tool
                for tool in result.get("tools", [])
            ]
            return {**result, "tools": listed}
        return result

    server.middleware.append(handshake_tasks)
