"""Pulls across the replicas: one pull per model in all the replicas, and every replica reads the
same records.

* The replica that starts a pull takes the lock `pull:HOST MODEL` with the record's id as
  its token, and writes the record (`pull:ID`, listed in `pulls`) before the call is answered.
  It keeps the lock while the pull runs, writes the record at each change of phase (and at most
  every `SAVE_EVERY` seconds in between), and tells followers on the `pulls` channel.
* A replica asked for a model whose lock another holds follows that record instead of asking
  Ollama; `cancel_pull` on it asks the owner, over the `pull-cancel` channel, to stop.
* A record whose pull is unfinished but whose lock is gone lost its replica (killed, or cut off
  from Redis past the lock's expiry): it is reported, and written down, as failed.

Records keep the schema of `server.pull_records`; a finished one stays `pull_history` seconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import anyio

from server.pull_records import PullRecord, now
from server.tools_api import Channels, RedisLink, SharedLocks, SharedStateUnavailable, text

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
        self, link: RedisLink, channels: Channels, locks: SharedLocks, *, host: str, keep: float
    ) -> None:
        self.link = link
        self.host = host  # the Ollama these pulls go to: part of every lock's name
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
        return "pull:" + self.host + "\x1f" + "\x1f".join(key)

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
        key, index = self.link.key("pull", record.id), self.link.key("pulls", self.host)
        body = record.model_dump_json()
        ttl = self.keep if record.finished else RUNNING_KEEP

        async def write(r: object) -> None:
            pipe = r.pipeline(transaction=True)  # type: ignore[attr-defined]
            pipe.set(key, body, ex=ttl)
            pipe.zadd(index, {record.id: record.started_at.timestamp()})
            await pipe.execute()

        try:
            await self.link.call(write)
            await self.channels.publish(PULLS, record.id.encode())
        except SharedStateUnavailable:
            if force:
                raise
            logger.warning("could not write the progress of the pull of %s", record.model)

    # --- reading -----------------------------------------------------------------------------
    async def read(self, record_id: str) -> PullRecord | None:
        raw = await self.link.call(lambda r: r.get(self.link.key("pull", record_id)))
        if raw is None:
            return None
        return await self._checked(PullRecord.model_validate_json(raw))

    async def records(self) -> list[PullRecord]:
        """Every record the replicas keeps, oldest first. Raises `SharedStateUnavailable`."""
        index = self.link.key("pulls", self.host)
        listed: list[object] = await self.link.call(lambda r: r.zrange(index, 0, -1))
        ids = [text(i) for i in listed]
        if not ids:
            return []
        keys = [self.link.key("pull", i) for i in ids]
        raws = await self.link.call(lambda r: r.mget(keys))
        gone = [i for i, raw in zip(ids, raws, strict=True) if raw is None]
        if gone:
            await self.link.call(lambda r: r.zrem(index, *gone))
        found = [PullRecord.model_validate_json(raw) for raw in raws if raw is not None]
        return [await self._checked(record) for record in found]

    async def _checked(self, record: PullRecord) -> PullRecord:
        """An unfinished record whose owner no longer holds its lock ended with its owner."""
        if record.finished:
            return record
        from server.pulls import pull_key  # the same key as the registry's

        if await self.locks.holder(self.lock_name(pull_key(record.model))) == record.id:
            return record
        # The owner writes the end before it lets the lock go: read once more.
        raw = await self.link.call(lambda r: r.get(self.link.key("pull", record.id)))
        if raw is not None:
            again = PullRecord.model_validate_json(raw)
            if again.finished:
                return again
        ended = record.model_copy(
            update={"status": "failed", "error": OWNER_GONE, "ended_at": now(), "eta_seconds": None}
        )
        await self.save(ended, force=True)
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
