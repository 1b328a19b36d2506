"""Where the metadata cache keeps its entries: one interface, two stores.

* `SqliteCacheStore`, the embedded default: the sqlite file of `tools.catalog.cache_db`, on this
  machine. Only this process invalidates what it reads, so the cache keeps a memory front.
* The Redis store of `tools.state.cache_store`, shared by replicas (`shared = True`): another
  replica may invalidate any entry at any time, so the cache reads it every time, and work
  that began before an invalidation anywhere in the replicas cannot write back (`mark`).

Neither raises: a store that cannot be used is logged and the cache asks Ollama instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Protocol

import anyio.to_thread

from tools.catalog.cache_db import CacheDatabase, CacheEntry, CacheKey

Mark = object | None
"""What a store hands out before a fetch and checks before storing its result (None: no check)."""


class CacheStore(Protocol):
    shared: bool

    async def get(self, key: CacheKey) -> CacheEntry | None: ...

    async def mark(self, host: str) -> Mark:
        """Taken before a fetch; `put` stores only while no invalidation of `host` came since."""
        ...

    async def put(
        self, key: CacheKey, entry: CacheEntry, *, mark: Mark, only_if: Callable[[], bool]
    ) -> None: ...

    async def delete(self, host: str, *, names: Iterable[str], kinds: Iterable[str]) -> None: ...

    async def clear(self, host: str | None) -> None: ...

    def clear_blocking(self, host: str | None) -> None: ...

    def filling(self, key: CacheKey) -> AbstractAsyncContextManager[object]:
        """Held while an entry is fetched: across replicas single flight for a shared store."""
        ...

    def close(self) -> None: ...


class SqliteCacheStore:
    """The sqlite file, its blocking calls run in worker threads."""

    shared = False

    def __init__(self, db: CacheDatabase) -> None:
        self.db = db

    async def get(self, key: CacheKey) -> CacheEntry | None:
        return await anyio.to_thread.run_sync(self.db.get, key)

    async def mark(self, host: str) -> Mark:
        return None  # one process: the cache's own epoch is the whole story

    async def put(
        self, key: CacheKey, entry: CacheEntry, *, mark: Mark, only_if: Callable[[], bool]
    ) -> None:
        await anyio.to_thread.run_sync(lambda: self.db.put(key, entry, only_if=only_if))

    async def delete(self, host: str, *, names: Iterable[str], kinds: Iterable[str]) -> None:
        name_list, kind_list = list(names), list(kinds)
        await anyio.to_thread.run_sync(
            lambda: self.db.delete(host, names=name_list, kinds=kind_list)
        )

    async def clear(self, host: str | None) -> None:
        await anyio.to_thread.run_sync(self.db.clear, host)

    def clear_blocking(self, host: str | None) -> None:
        self.db.clear(host)

    def filling(self, key: CacheKey) -> AbstractAsyncContextManager[object]:
        return nullcontext()

    def close(self) -> None:
        self.db.close()
