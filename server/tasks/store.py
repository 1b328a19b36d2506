"""Where task records live: one interface, two stores.

Without `--state-url` the records of one process are in memory and in `tasks.json`
(`FileTaskStore`); with it, in Redis, shared by every replica (`server.replicas.tasks`). The
manager (`server.tasks.manager`) runs its tasks the same way over either: it writes a record
when the task is made (before anyone is told its id), lets the store keep it up while it runs,
writes its end, and reads records through the store (the store decides what is visible, and
to whom).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import anyio
from mcp.types import INTERNAL_ERROR

from server.tasks.records import TaskHistory, TaskRecord

ENDED_BY_RESTART = (
    "the server stopped while this task was running; call the tool again "
    "(a pull goes on from what Ollama already downloaded)"
)

CancelHere = Callable[[str], None]  # stops a task this process runs, by id
Refresh = Callable[[], TaskRecord]  # the running task's record, with its newest status


class TaskStore(Protocol):
    @property
    def keep_seconds(self) -> float:
        """How long a record is kept after its task ended."""
        ...

    def on_cancel(self, cancel: CancelHere) -> None:
        """`cancel(task_id)` stops a task run here when another process asks."""

    async def open(self) -> None:
        """Before the first task: what the store needs to do at start."""

    async def created(self, record: TaskRecord) -> None:
        """Write a new record; raises when it cannot (the task must not be acknowledged)."""

    async def keep_up(self, record: TaskRecord, refresh: Refresh) -> None:
        """Runs while the task runs (cancelled at its end): whatever keeps its record live."""

    async def ended(self, record: TaskRecord) -> None:
        """Write the end; never raises (the outcome stands whether or not it is written)."""

    async def find(self, owner: str, task_id: str) -> TaskRecord | None:
        """The owner's record (None: unknown, expired, or another owner's)."""

    async def owned(self, owner: str) -> list[TaskRecord]:
        """The owner's records (any order)."""

    async def changed(self, task_id: str) -> None:
        """Return once the record may have changed (a bounded wait: read it again after)."""

    async def ask_cancel(self, task_id: str) -> None:
        """Ask the process that runs `task_id` to stop it."""


class FileTaskStore:
    """The records of this process, in memory and in `tasks.json` (written at each start and
    end), so a restarted server reports the tasks the last one was running as ended by it."""

    def __init__(self, history: TaskHistory) -> None:
        self.history = history
        self._records: dict[str, TaskRecord] = {}
        self._ends: dict[str, anyio.Event] = {}

    @property
    def keep_seconds(self) -> float:
        return self.history.keep.total_seconds()

    def on_cancel(self, cancel: CancelHere) -> None:
        """Every task of this store runs in this process: no one else asks."""

    async def open(self) -> None:
        loaded = await anyio.to_thread.run_sync(self.history.load)
        interrupted = [record for record in loaded if not record.ended]
        for record in interrupted:  # the last process stopped while they ran
            error = {"code": INTERNAL_ERROR, "message": ENDED_BY_RESTART}
            record.end("failed", ENDED_BY_RESTART, error=error)
        self._records = {record.id: record for record in loaded}
        if interrupted:
            await self._write()

    async def created(self, record: TaskRecord) -> None:
        self._records[record.id] = record
        await self._write()

    async def keep_up(self, record: TaskRecord, refresh: Refresh) -> None:
        await anyio.sleep_forever()  # in memory it is always current

    async def ended(self, record: TaskRecord) -> None:
        if record.id in self._records:
            await self._write()
        if (event := self._ends.pop(record.id, None)) is not None:
            event.set()

    async def find(self, owner: str, task_id: str) -> TaskRecord | None:
        self._forget_old()
        record = self._records.get(task_id)
        return record if record is not None and record.owner == owner else None

    async def owned(self, owner: str) -> list[TaskRecord]:
        self._forget_old()
        return [r for r in self._records.values() if r.owner == owner]

    async def changed(self, task_id: str) -> None:
        await self._ends.setdefault(task_id, anyio.Event()).wait()

    async def ask_cancel(self, task_id: str) -> None:
        """Nothing to ask: a task not running here is not running anywhere."""

    async def _write(self) -> None:
        await self.history.save_async(list(self._records.values()))

    def _forget_old(self) -> None:
        stale = [i for i, r in self._records.items() if not self.history.fresh(r)]
        for task_id in stale:
            del self._records[task_id]
