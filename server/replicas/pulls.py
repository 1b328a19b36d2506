"""Pulls across the replicas: one pull per model in all the replicas, and every replica reads the
same records.

* The replica that starts a pull takes the lock `pull:OWNER HOST MODEL` with the record's id as
  its token, and writes the record (a `RecordStore` of kind `pull`) before the call is answered.
  It keeps the lock while the pull runs, writes the record at each change of phase (and at most
  every `SAVE_EVERY` seconds in between), and tells followers on the `pulls` channel.
* A replica asked for a model whose lock another holds follows that record instead of asking
  Ollama; `cancel_pull` on it asks the owner, over the `pull-cancel` channel, to stop.
* A record whose pull is unfinished but whose lock is gone lost its replica (killed, or cut off
  from Redis past the lock's expiry): it is reported, and written down, as failed.

Records keep the schema of `server.pull_records`; a finished one stays `pull_history` seconds.
They and the locks are bound to the owner, the hash of the bearer token (`owner_of`): replicas
started with another token neither see these pulls nor join them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import anyio

from server.pull_records import PullRecord, now
from server.tools_api import (
    ANYONE,
    Channels,
    RecordStore,
    RedisLink,
    SharedLocks,
    SharedStateUnavailable,
)

logger = logging.getLogger(__name__)

PULLS = "pulls"
PULL_CANCEL = "pull-cancel"
SAVE_EVERY = 0.5  # seconds between progress writes of a running pull
RUNNING_KEEP = 24 * 3600  # seconds a running record lives without a write
OWNER_GONE = (
    "the replica running this pull stopped before it ended (its lock in Redis expired); "
    "pull the model again"
)


class SharedPulls:
    def __init__(
        self,
        link: RedisLink,
        channels: Channels,
        locks: SharedLocks,
        *,
        host: str,
        keep: float,
        owner: str = ANYONE,
    ) -> None:
        self.link = link
        self.host = host  # the Ollama these pulls go to: part of every lock's name
        self.owner = owner
        self.store = RecordStore(link, "pull", owner=owner, scope=host)
        self.channels = channels
        self.locks = locks
        self.keep = max(1, int(keep))
        self._changed: dict[str, anyio.Event] = {}
        self._cancel_here: Callable[[str], None] | None = None
        self._saved_at: dict[str, float] = {}
        channels.receive(PULLS, self._heard_change)
        channels.receive(PULL_CANCEL, self._heard_cancel)

    def on_cancel(self, cancel: Callable[[str], None]) -> None:
        """`cancel(record_id)` stops a pull this replica owns, when another replica asks."""
        self._cancel_here = cancel

    def lock_name(self, key: tuple[str, ...]) -> str:
        return "pull:" + "\x1f".join((self.owner, self.host, *key))

    # --- owning ------------------------------------------------------------------------------
    async def claim(self, lock: str, record: PullRecord) -> PullRecord | None:
        """Take the pull for `record` (None: ours, and written down), or the record of the
        pull another replica runs. Raises `SharedStateUnavailable`."""
        while True:
            holder = await self.locks.try_take(lock, record.id)
            if holder is None:
                await self.save(record, force=True)
                return None
            found = await self.read(holder)
            if found is not None and not found.finished:
                return found
            # a holder with no live record (it just ended, or died): free it, try again
            await self.locks.release(lock, holder)

    async def keep_lock(self, lock: str, record_id: str) -> None:
        await self.locks.keep(lock, record_id)

    async def release(self, lock: str, record_id: str) -> None:
        await self.locks.release(lock, record_id)

    async def save(self, record: PullRecord, *, force: bool = False) -> None:
        """Write `record` and tell followers; progress writes are spaced `SAVE_EVERY` apart.
        A write that fails is logged; a forced one (start, end) raises."""
        clock = time.monotonic()
        if not force and clock - self._saved_at.get(record.id, 0.0) < SAVE_EVERY:
            return
        self._saved_at[record.id] = clock
        if record.finished:
            self._saved_at.pop(record.id, None)
        try:
            await self.store.put(
                record.id,
                record.model_dump_json(),
                ttl=self._ttl(record),
                order=record.started_at.timestamp(),
            )
            await self.channels.publish(PULLS, record.id.encode())
        except SharedStateUnavailable:
            if force:
                raise
            logger.warning("could not write the progress of the pull of %s", record.model)

    def _ttl(self, record: PullRecord) -> int:
        return self.keep if record.finished else RUNNING_KEEP

    # --- reading -----------------------------------------------------------------------------
    async def read(self, record_id: str) -> PullRecord | None:
        raw = await self.store.get(record_id)
        if raw is None:
            return None
        record = PullRecord.model_validate_json(raw)
        if record.finished:
            return record
        return await self._checked(record, await self.locks.holder(self._lock_of(record)))

    async def records(self) -> list[PullRecord]:
        """Every record the replicas keep for this owner, oldest first. Raises
        `SharedStateUnavailable`."""
        found = [PullRecord.model_validate_json(body) for _, body in await self.store.all()]
        running = [record for record in found if not record.finished]
        # Every running pull's lock in one round trip, however many pulls run.
        holders = await self.locks.holders([self._lock_of(record) for record in running])
        holder_of = dict(zip((record.id for record in running), holders, strict=True))
        return [await self._checked(record, holder_of.get(record.id)) for record in found]

    def _lock_of(self, record: PullRecord) -> str:
        from server.pulls import pull_key  # the same key as the registry's

        return self.lock_name(pull_key(record.model))

    async def _checked(self, record: PullRecord, holder: str | None) -> PullRecord:
        """An unfinished record whose owner no longer holds its lock (`holder`) ended with its
        owner."""
        if record.finished or holder == record.id:
            return record

        def end_it(body: str | None) -> str | None:
            # The owner writes the end before it lets the lock go: only an unfinished record
            # is ended here, in one step against the owner's last write.
            current = record if body is None else PullRecord.model_validate_json(body)
            if current.finished:
                return None
            return current.model_copy(
                update={
                    "status": "failed",
                    "error": OWNER_GONE,
                    "ended_at": now(),
                    "eta_seconds": None,
                }
            ).model_dump_json()

        stored = await self.store.update(record.id, end_it, ttl=self.keep)
        if stored is None:
            return record
        ended = PullRecord.model_validate_json(stored)
        await self.channels.publish(PULLS, record.id.encode())
        return ended

    # --- following ---------------------------------------------------------------------------
    async def wait_change(self, record_id: str) -> None:
        """Until the record is written again, or the lock's expiry passes (to notice a dead
        owner)."""
        event = self._changed.setdefault(record_id, anyio.Event())
        with anyio.move_on_after(self.locks.expiry):
            await event.wait()

    async def ask_cancel(self, record_id: str) -> None:
        await self.channels.publish(PULL_CANCEL, record_id.encode())

    async def _heard_change(self, data: bytes) -> None:
        event = self._changed.pop(data.decode(), None)
        if event is not None:
            event.set()

    async def _heard_cancel(self, data: bytes) -> None:
        if self._cancel_here is not None:
            self._cancel_here(data.decode())
