"""The shared async metadata cache: an in-memory front over a small sqlite file.

What it promises, in order of importance:

* Correct before fast. An entry can be tied to a digest (for model metadata: the model's manifest
  digest from `/api/tags`); an entry whose digest is not the one expected is refreshed however young
  it is. Invalidation drops entries at once, and work begun before it cannot write them back.
* Never slow: a hit is served from memory without touching the disk; sqlite runs in a worker thread.
* Single flight: concurrent lookups of one key make one request to Ollama.
* Stale while offline: when Ollama cannot be reached, the last value known is served, marked
  `"stale"` with the time it was cached.
* Never the reason something fails: file trouble is logged and the cache works on in memory
  (see `tools.catalog.cache_db`).

Every value handed out is a `Cached[T]`, which says where it came from.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Generic, Literal, TypeVar

from tools.catalog.cache_db import DEFAULT_BUSY_TIMEOUT, CacheDatabase, CacheEntry, CacheKey
from tools.catalog.cache_store import CacheStore, SqliteCacheStore
from tools.errors import OllamaUnavailable
from tools.shared.cache_dir import default_cache_dir
from tools.shared.singleflight import SingleFlight

__all__ = [
    "DB_FILE_NAME",
    "DEFAULT_TTL",
    "AnswerSource",
    "CacheEntry",
    "CacheKey",
    "Cached",
    "Clock",
    "MetadataCache",
]

DEFAULT_TTL = 24 * 60 * 60.0  # seconds
DB_FILE_NAME = "metadata.sqlite3"

Clock = Callable[[], float]
"""Seconds since the epoch (`time.time`); injectable so tests need no sleeps."""

AnswerSource = Literal["live", "cache", "stale", "disk"]
"""Where a value came from:

* `live`: just fetched from Ollama;
* `cache`: cached, and fresh by every rule (age within the TTL, digest still current);
* `stale`: cached, served because Ollama could not be reached; it may be out of date;
* `disk`: read from Ollama's model folder with Ollama stopped (basic fields only).
"""

T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True, slots=True)
class Cached(Generic[T]):
    """A value and its provenance. `cached_at` is when it was fetched from Ollama (None for
    values read from disk)."""

    value: T
    source: AnswerSource
    cached_at: datetime | None = None

    @property
    def is_stale(self) -> bool:
        return self.source == "stale"

    def map(self, convert: Callable[[T], U]) -> Cached[U]:
        """The same provenance around `convert(value)`."""
        return Cached(convert(self.value), self.source, self.cached_at)


class MetadataCache:
    """Cache of Ollama answers (JSON text), keyed by host, kind and model name.

    One instance serves a whole process and any number of Ollama hosts; `folder` may be shared
    by several processes. `clear()` is synchronous, as the seed calls it; `aclear()` does not
    block the event loop. `store` replaces the sqlite file in `folder` (replicas pass the Redis
    store they share; see `tools.catalog.cache_store`).
    """

    def __init__(
        self,
        folder: str | os.PathLike[str] | None = None,
        *,
        ttl: float = DEFAULT_TTL,
        clock: Clock = time.time,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        store: CacheStore | None = None,
    ) -> None:
        self.folder = Path(folder).expanduser() if folder is not None else default_cache_dir()
        self.ttl = ttl
        self.clock = clock
        self._db = CacheDatabase(self.folder / DB_FILE_NAME, busy_timeout=busy_timeout)
        self.store: CacheStore = store if store is not None else SqliteCacheStore(self._db)
        # A shared store is invalidated by other replicas too: a memory front would go stale.
        self._front = not self.store.shared
        self._memory: dict[CacheKey, CacheEntry] = {}
        self._flights: SingleFlight[tuple[CacheKey, bool, str | None, bool], Cached[CacheEntry]]
        self._flights = SingleFlight()
        # Bumped by every invalidation; a fetch that began under an older epoch must not store.
        self._epoch = 0

    @property
    def path(self) -> Path:
        return self._db.path

    # --- the policy ----------------------------------------------------------------------------

    async def lookup(
        self,
        key: CacheKey,
        load: Callable[[], Awaitable[str]],
        *,
        use_cache: bool = True,
        max_age: float | None = None,
        expect_digest: str | None = None,
        stale_ok: bool = True,
    ) -> Cached[CacheEntry]:
        """The entry for `key`: from the cache when it is fresh, else from `load()`.

        Fresh means younger than `max_age` (default: the TTL) and, when `expect_digest` is
        given, stored for that digest. `use_cache=False` always loads. When `load` raises
        `OllamaUnavailable` the previous entry is returned as `"stale"` (if `stale_ok` and there
        is one); otherwise the error propagates. A loaded value is stored with `expect_digest`.
        """
        if use_cache:
            entry = self._memory.get(key)
            if entry is not None and self._is_fresh(entry, max_age, expect_digest):
                return self.wrap(entry, "cache")
        flight = (key, use_cache, expect_digest, stale_ok)
        return await self._flights.run(
            flight, lambda: self._fetch(key, load, use_cache, max_age, expect_digest, stale_ok)
        )

    async def _fetch(
        self,
        key: CacheKey,
        load: Callable[[], Awaitable[str]],
        use_cache: bool,
        max_age: float | None,
        expect_digest: str | None,
        stale_ok: bool,
    ) -> Cached[CacheEntry]:
        epoch = self._epoch
        previous = await self.get(key) if use_cache else None
        if previous is not None and self._is_fresh(previous, max_age, expect_digest):
            return self.wrap(previous, "cache")
        mark = await self.store.mark(key.host)  # before the load: what it must not overtake
        async with self.store.filling(key):
            if use_cache and self.store.shared:  # another replica may have filled it meanwhile
                previous = await self.get(key) or previous
                if previous is not None and self._is_fresh(previous, max_age, expect_digest):
                    return self.wrap(previous, "cache")
            try:
                payload = await load()
            except OllamaUnavailable:
                if stale_ok:
                    previous = previous or await self.get(key)
                    if previous is not None:
                        return self.wrap(previous, "stale")
                raise
            entry = CacheEntry(payload, expect_digest or "", self.clock())
            await self._store(key, entry, epoch, mark)
        return self.wrap(entry, "live")

    def _is_fresh(self, entry: CacheEntry, max_age: float | None, digest: str | None) -> bool:
        if digest is not None and entry.digest != digest:
            return False
        age = self.clock() - entry.stored_at
        return 0 <= age < (self.ttl if max_age is None else max_age)

    @staticmethod
    def wrap(entry: CacheEntry, source: AnswerSource) -> Cached[CacheEntry]:
        """`entry` with its provenance; `cached_at` is when it was stored."""
        return Cached(entry, source, datetime.fromtimestamp(entry.stored_at, UTC))

    # --- plain access --------------------------------------------------------------------------

    async def get(self, key: CacheKey) -> CacheEntry | None:
        """The stored entry, fresh or not: memory first, then the store."""
        entry = self._memory.get(key)
        if entry is None:
            epoch = self._epoch
            entry = await self.store.get(key)
            if epoch != self._epoch:
                return None  # invalidated while it was being read
            if entry is not None and self._front:
                self._memory.setdefault(key, entry)
        return entry

    async def put(self, key: CacheKey, entry: CacheEntry) -> None:
        await self._store(key, entry, self._epoch, await self.store.mark(key.host))

    async def _store(self, key: CacheKey, entry: CacheEntry, epoch: int, mark: object) -> None:
        """Store unless an invalidation came after `epoch` (here) or `mark` (in the replicas). The
        check is repeated in the store, under its lock, so a deletion is never overtaken."""
        if epoch != self._epoch:
            return
        if self._front:
            self._memory[key] = entry
        await self.store.put(key, entry, mark=mark, only_if=lambda: epoch == self._epoch)

    async def invalidate(
        self, host: str, *, names: Iterable[str] = (), kinds: Iterable[str] = ()
    ) -> None:
        """Drop the entries of `host` whose model name is in `names` or whose kind is in `kinds`."""
        name_set, kind_set = set(names), set(kinds)
        self._forget(
            lambda key: key.host == host and (key.name in name_set or key.kind in kind_set)
        )
        await self.store.delete(host, names=name_set, kinds=kind_set)

    def clear(self, host: str | None = None) -> None:
        """Drop everything (or everything about `host`), in memory and on disk. Blocking."""
        self._forget_host(host)
        self.store.clear_blocking(host)

    async def aclear(self, host: str | None = None) -> None:
        """`clear` without blocking the event loop."""
        self._forget_host(host)
        await self.store.clear(host)

    def close(self) -> None:
        self.store.close()

    def _forget_host(self, host: str | None) -> None:
        self._forget(lambda key: host is None or key.host == host)

    def _forget(self, matches: Callable[[CacheKey], bool]) -> None:
        self._epoch += 1
        self._flights.forget()
        for key in [key for key in self._memory if matches(key)]:
            del self._memory[key]
