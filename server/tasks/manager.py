"""The tasks of one server process: each runs in the lifespan's task group, not in the call that
started it, so it outlives its call; the server's shutdown ends it (recorded as cancelled).

A task is written down before anyone is told its id (the spec's "durably created"), and again
when it ends, in its store (`server.tasks.store`: `tasks.json`, or Redis shared by the
replicas). The records are read by `tasks/get`, `tasks/result`, `tasks/list` and `tasks/cancel`
(`server.tasks.protocol`) through the store, so a replica answers for a task another one runs;
a task run here shows its newest status. A pull task links its record to the pull it follows,
so `pull_status` and `tasks/get` tell of the same pull.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

import anyio
from anyio.abc import TaskGroup
from mcp import MCPError
from mcp.types import INTERNAL_ERROR

from server.tasks.records import TaskRecord
from server.tasks.store import ENDED_BY_RESTART, TaskStore

Work = Callable[["RunningTask"], Awaitable[dict[str, Any]]]  # the call's result, as sent

POLL_MS = 1000  # suggested to pollers; progress notifications, where heard, come faster
ENDING_TIMEOUT = 10.0  # seconds to write down a task's end
CANCELLED_BY_REQUEST = "cancelled with tasks/cancel"
CANCELLED_BY_SHUTDOWN = "cancelled: the server shut down"
CANCELLED_UNRECORDED = "cancelled: its record could not be written"
__all__ = ["ENDED_BY_RESTART", "RunningTask", "TaskManager", "UnknownTask", "running_task"]

logger = logging.getLogger(__name__)


class UnknownTask(LookupError):
    def __init__(self, task_id: str) -> None:
        super().__init__(
            f"Failed to retrieve task: Task not found ({task_id!r}: a task is seen only by the "
            "session, or over HTTP the token, that started it, and kept for the task history "
            "after it ends)"
        )


class TaskAlreadyEnded(ValueError):
    def __init__(self, record: TaskRecord) -> None:
        super().__init__(
            f"task {record.id} already ended ({record.status}): there is nothing to cancel; "
            "tasks/get shows how it ended"
        )


class RunningTask:
    """One task in flight: its record, how to stop it, and what it follows."""

    def __init__(self, record: TaskRecord) -> None:
        self.record = record
        self.scope = anyio.CancelScope()
        self.keeper = anyio.CancelScope()  # the store keeping its record up while it runs
        self.writing = anyio.Lock()  # its record's writes: the start always before the end
        self.published = False  # written down, so its owner may see it
        self.done = anyio.Event()
        # Its tool's body began: the SDK's resolvers are done, any question to the person asked.
        self.working = anyio.Event()
        self.cancel_reason: str | None = None
        self._describe: Callable[[], str] | None = None
        self._pull_cancelled: Callable[[], str | None] | None = None
        self._progress: tuple[float, float | None, str | None] | None = None

    def cancel(self, reason: str) -> None:
        if self.cancel_reason is None:
            self.cancel_reason = reason
        self.scope.cancel()

    def note_progress(self, progress: float, total: float | None, message: str | None) -> None:
        self._progress = (progress, total, message)

    def follow_pull(
        self, pull_id: str, describe: Callable[[], str], cancelled: Callable[[], str | None]
    ) -> None:
        """This task follows a pull: its status is the pull's, and a pull cancelled by anyone
        (`cancel_pull`, another replica) ends the task as cancelled."""
        self.record.pull_id = pull_id
        self._describe, self._pull_cancelled = describe, cancelled

    def pull_cancel_reason(self) -> str | None:
        return self._pull_cancelled() if self._pull_cancelled else None

    def refresh(self) -> TaskRecord:
        """The record with the newest status message (bytes and percent while it runs)."""
        record = self.record
        if record.ended:
            return record
        if self._describe is not None:
            record.message = self._describe()
        elif self._progress is not None:
            progress, total, message = self._progress
            percent = f"{100 * progress / total:.0f}%" if total else ""
            record.message = ": ".join(part for part in (percent, message or "") if part)
        return record


CURRENT_TASK: ContextVar[RunningTask | None] = ContextVar("current_task", default=None)


def running_task() -> RunningTask | None:
    """The task the current tool call runs in, if it runs in one."""
    return CURRENT_TASK.get()


P = ParamSpec("P")
R = TypeVar("R")


def saying_when_it_works(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """A task tool's `fn` that marks its task `working` as its body begins (see
    `Tasks.intercept_tool_call`: a call still resolving its arguments is never handed off)."""

    @functools.wraps(fn)
    async def body(*args: P.args, **kwargs: P.kwargs) -> R:
        task = running_task()
        if task is not None:
            task.working.set()
        return await fn(*args, **kwargs)

    return body


class TaskManager:
    def __init__(self, store: TaskStore) -> None:
        self.store = store
        self._tasks: dict[str, RunningTask] = {}  # in flight here, by id
        self._group: TaskGroup | None = None
        self._closing = False
        store.on_cancel(self._cancel_here)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[TaskManager]:
        """Tasks run while this is open; leaving it cancels each and writes its end down."""
        await self.store.open()
        async with anyio.create_task_group() as group:
            self._group = group
            try:
                yield self
            finally:
                self._closing = True
                for task in list(self._tasks.values()):
                    task.cancel(CANCELLED_BY_SHUTDOWN)
        self._group = None

    # --- starting ---------------------------------------------------------------------------
    def launch(self, owner: str, tool: str, work: Work) -> RunningTask:
        """Start `work` in the lifespan; nobody can see the task until `publish`."""
        if self._group is None or self._closing:
            raise MCPError(INTERNAL_ERROR, "the server is shutting down: call again once it is up")
        record = TaskRecord.start(
            owner=owner, tool=tool, keep_seconds=self.store.keep_seconds, poll_ms=POLL_MS
        )
        task = RunningTask(record)
        self._tasks[record.id] = task
        self._group.start_soon(self._run, task, work, name=f"task {tool} {record.id[:8]}")
        return task

    async def publish(self, task: RunningTask) -> TaskRecord:
        """Make the task visible to its owner, written down first: its id is only handed out
        once the store has it. A store that cannot take it stops the task and raises."""
        async with task.writing:
            try:
                await self.store.created(task.refresh())
            except BaseException:
                task.cancel(CANCELLED_UNRECORDED)
                raise
            task.published = True
        if self._group is not None:
            self._group.start_soon(self._keep_up, task)
        return task.refresh()

    async def start(self, owner: str, tool: str, work: Work) -> RunningTask:
        task = self.launch(owner, tool, work)
        await self.publish(task)
        return task

    def discard(self, task: RunningTask) -> None:
        """Forget a task that ended before it was published (its caller got the result)."""
        self._tasks.pop(task.record.id, None)

    # --- reading ------------------------------------------------------------------------------
    async def get(self, owner: str, task_id: str) -> TaskRecord:
        """The owner's task, wherever it runs; a task run here with its newest status."""
        record = await self.store.find(owner, task_id)
        if record is None:
            raise UnknownTask(task_id)
        return self._newest(record)

    async def owned(self, owner: str) -> list[TaskRecord]:
        """The owner's tasks, oldest first."""
        mine = [self._newest(record) for record in await self.store.owned(owner)]
        return sorted(mine, key=lambda r: (r.started_at, r.id))

    async def outcome(self, owner: str, task_id: str) -> TaskRecord:
        """The task's record once it ended (waits while it runs, here or elsewhere)."""
        record = await self.get(owner, task_id)
        while not record.ended:
            if (task := self._tasks.get(task_id)) is not None:
                await task.done.wait()
                return task.record
            await self.store.changed(task_id)
            record = await self.get(owner, task_id)
        return record

    async def cancel(self, owner: str, task_id: str) -> TaskRecord:
        """Stop the task and return its record once it stopped (cancelled, or how it ended if
        it ended first). A task another replica runs is asked to stop through the store."""
        record = await self.get(owner, task_id)
        if record.ended:
            raise TaskAlreadyEnded(record)
        if (task := self._tasks.get(task_id)) is not None:
            task.cancel(CANCELLED_BY_REQUEST)
            await task.done.wait()
            return task.record
        await self.store.ask_cancel(task_id)
        while True:
            await self.store.changed(task_id)
            if (record := await self.get(owner, task_id)).ended:
                return record

    def _newest(self, record: TaskRecord) -> TaskRecord:
        task = self._tasks.get(record.id)
        if task is not None and task.published:
            return task.refresh()
        return record

    def _cancel_here(self, task_id: str) -> None:
        if (task := self._tasks.get(task_id)) is not None:
            task.cancel(CANCELLED_BY_REQUEST)

    # --- running ------------------------------------------------------------------------------
    async def _keep_up(self, task: RunningTask) -> None:
        with task.keeper:
            await self.store.keep_up(task.record, task.refresh)

    async def _run(self, task: RunningTask, work: Work) -> None:
        CURRENT_TASK.set(task)  # this coroutine's own context: the tool sees its task
        record = task.record
        try:
            with task.scope:
                try:
                    result = await work(task)
                except MCPError as exc:
                    error = exc.error.model_dump(by_alias=True, mode="json", exclude_none=True)
                    record.end("failed", exc.error.message, error=error)
                except Exception:
                    logger.exception("task %s (%s) failed", record.id[:8], record.tool)
                    message = f"{record.tool} failed unexpectedly; the server log has details"
                    error = {"code": INTERNAL_ERROR, "message": message}
                    record.end("failed", message, error=error)
                else:
                    self._finish(task, result)
            if not record.ended:
                record.end("cancelled", task.cancel_reason or CANCELLED_BY_REQUEST)
        except anyio.get_cancelled_exc_class():
            record.end("cancelled", task.cancel_reason or CANCELLED_BY_SHUTDOWN)
            raise
        finally:
            task.keeper.cancel()
            with anyio.CancelScope(shield=True, deadline=anyio.current_time() + ENDING_TIMEOUT):
                async with task.writing:
                    if task.published:
                        await self.store.ended(record)
            self._tasks.pop(record.id, None)
            task.working.set()  # also for a call that ended before its body began
            task.done.set()

    @staticmethod
    def _finish(task: RunningTask, result: dict[str, Any]) -> None:
        record = task.record
        if (reason := task.pull_cancel_reason()) is not None:
            record.end("cancelled", reason, result=result)
        elif result.get("isError"):
            record.end("failed", _first_text(result), result=result)
        else:
            record.end("completed", _first_text(result), result=result)


def _first_text(result: dict[str, Any]) -> str:
    """The first line of the result's text: the status message of an ended task."""
    for block in result.get("content") or []:
        if isinstance(block, dict) and block.get("type") == "text":
            return str(block.get("text", "")).split("\n", 1)[0]
    return ""
