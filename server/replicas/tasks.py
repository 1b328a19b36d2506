"""Task records across the replicas: any replica reads, lists, follows and cancels a task another
one runs (the `TaskStore` of `server.tasks.store`, kept in Redis).

* A record is a `RecordStore` of kind `task`, bound to the task's owner (over HTTP with a token,
  the token's hash, as `server.tasks.owner` says), with the schema of `TaskRecord`.
* The replica that runs a task takes the lock `task:ID` (its token: the task id) and then writes
  the record, both before the task's id is handed out. While the task runs it renews the lock and
  writes the record when its status message changed, at most every `SAVE_EVERY` seconds; at the
  end it writes the end (kept `keep_seconds`), tells the others on the `tasks` channel, and only
  then lets the lock go.
* A record that is unfinished while its lock is gone lost its replica (killed, or cut off from
  Redis past the lock's expiry): it is reported, and written down, as failed.
* `tasks/cancel` on another replica asks the owner on the `task-cancel` channel and waits for the
  end to be written.

Every read raises `SharedStateUnavailable` when Redis cannot be reached.
"""

from __future__ import annotations

import logging

import anyio
from mcp.types import INTERNAL_ERROR

from server.tasks.records import TaskRecord
from server.tasks.store import CancelHere, Refresh
from server.tools_api import Channels, RecordStore, RedisLink, SharedLocks, SharedStateUnavailable

logger = logging.getLogger(__name__)

TASKS = "tasks"
TASK_CANCEL = "task-cancel"
SAVE_EVERY = 0.5  # seconds between writes of a running task's status
RUNNING_KEEP = 24 * 3600  # seconds a running record lives without a write
OWNER_GONE = (
    "the replica running this task stopped before it ended (its lock in Redis expired); "
    "call the tool again"
)


def lock_name(task_id: str) -> str:
    return f"task:{task_id}"


class SharedTasks:
    def __init__(
        self, link: RedisLink, channels: Channels, locks: SharedLocks, *, keep: float
    ) -> None:
        self.link = link
        self.channels = channels
        self.locks = locks
        self.keep = max(1, int(keep))
        self._changed: dict[str, anyio.Event] = {}
        self._cancel_here: CancelHere | None = None
        self._unsaved: dict[str, TaskRecord] = {}  # ends Redis did not take yet, by id
        channels.receive(TASKS, self._heard_change)
        channels.receive(TASK_CANCEL, self._heard_cancel)

    @property
    def keep_seconds(self) -> float:
        return float(self.keep)

    def on_cancel(self, cancel: CancelHere) -> None:
        self._cancel_here = cancel

    def _store(self, owner: str) -> RecordStore:
        return RecordStore(self.link, "task", owner=owner)

    async def open(self) -> None:
        """Nothing to load: the records are in Redis, and a dead replica's are found by their
        lock when read."""

    # --- the replica running the task ---------------------------------------------------------
    async def created(self, record: TaskRecord) -> None:
        if not record.ended:
            holder = await self.locks.try_take(lock_name(record.id), record.id)
            if holder is not None:  # 192 random bits: not expected, but never share a lock
                raise SharedStateUnavailable(self.link.where, f"task id {record.id} is taken")
        await self._put(record)

    async def keep_up(self, record: TaskRecord, refresh: Refresh) -> None:
        """Renew the lock, and write the status when it changed (spaced `SAVE_EVERY` apart)."""
        async with anyio.create_task_group() as group:
            group.start_soon(self.locks.keep, lock_name(record.id), record.id)
            written = record.message
            while True:
                await anyio.sleep(SAVE_EVERY)  # the write period, not a wait for an event
                current = refresh()
                if current.ended or current.message == written:
                    continue
                try:
                    await self._put(current)
                    written = current.message
                except SharedStateUnavailable:
                    logger.warning("could not write the status of task %s", record.id[:8])

    async def ended(self, record: TaskRecord) -> None:
        """The end, then the lock let go (in that order: a reader that finds the lock gone
        reads the end)."""
        try:
            await self._put(record)
        except SharedStateUnavailable:
            # Kept here and written once Redis answers again (the next read of the records).
            logger.warning("could not write the end of task %s to Redis", record.id[:8])
            self._unsaved[record.id] = record
        await self.locks.release(lock_name(record.id), record.id)

    async def _put(self, record: TaskRecord) -> None:
        ttl = self.keep if record.ended else RUNNING_KEEP
        await self._store(record.owner).put(
            record.id, record.model_dump_json(), ttl=ttl, order=record.started_at.timestamp()
        )
        await self.channels.publish(TASKS, record.id.encode())

    # --- any replica --------------------------------------------------------------------------
    async def find(self, owner: str, task_id: str) -> TaskRecord | None:
        await self._flush()
        # Watched before it is read, so `changed` hears of any write after this read.
        watch = self._changed.setdefault(task_id, anyio.Event())
        # The record and its lock in one round trip: a poll of a live task is one read.
        lock = self.locks.holder_key(lock_name(task_id))
        raw, holder = await self._store(owner).get_with(task_id, lock)
        record = None
        if raw is not None:
            record = await self._checked(TaskRecord.model_validate_json(raw), holder)
        if record is None or record.ended:  # nothing more to hear of
            self._changed.pop(task_id, None)
            watch.set()
        return record

    async def owned(self, owner: str) -> list[TaskRecord]:
        await self._flush()
        found = [TaskRecord.model_validate_json(body) for _, body in await self._store(owner).all()]
        running = [record for record in found if not record.ended]
        holders = dict(
            zip(
                (record.id for record in running),
                await self.locks.holders([lock_name(record.id) for record in running]),
                strict=True,
            )
        )  # every running task's lock in one round trip
        return [await self._checked(record, holders.get(record.id)) for record in found]

    async def changed(self, task_id: str) -> None:
        """Until the record is written again after the last `find`, or the lock's expiry passes
        (to notice a dead owner): a bounded wait on the `tasks` channel."""
        event = self._changed.setdefault(task_id, anyio.Event())
        with anyio.move_on_after(self.locks.expiry):
            await event.wait()

    async def ask_cancel(self, task_id: str) -> None:
        await self.channels.publish(TASK_CANCEL, task_id.encode())

    async def _checked(self, record: TaskRecord, holder: str | None) -> TaskRecord:
        """An unfinished record whose owner no longer holds its lock (`holder`, read with the
        record) ended with its owner."""
        if record.ended or holder == record.id:
            return record

        def end_it(body: str | None) -> str | None:
            # The owner writes the end before it lets the lock go: only an unfinished record
            # is ended here, in one step against the owner's last write.
            current = record if body is None else TaskRecord.model_validate_json(body)
            if current.ended:
                return None
            error = {"code": INTERNAL_ERROR, "message": OWNER_GONE}
            current.end("failed", OWNER_GONE, error=error)
            return current.model_dump_json()

        stored = await self._store(record.owner).update(record.id, end_it, ttl=self.keep)
        if stored is None:
            return record
        await self.channels.publish(TASKS, record.id.encode())
        return TaskRecord.model_validate_json(stored)

    async def _flush(self) -> None:
        for record in list(self._unsaved.values()):
            await self._put(record)
            del self._unsaved[record.id]

    async def _heard_change(self, data: bytes) -> None:
        event = self._changed.pop(data.decode(), None)
        if event is not None:
            event.set()

    async def _heard_cancel(self, data: bytes) -> None:
        if self._cancel_here is not None:
            self._cancel_here(data.decode())
