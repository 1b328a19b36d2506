"""Records shared by the replicas: JSON bodies keyed by id, each with its own expiry, listed in
the order they were made, and updated atomically. Pull records use it; task records will.

Keys, in the link's namespace: `KIND:OWNER:ID` holds a record, `KIND-index:OWNER:SCOPE` (a
sorted set, scored by creation time) lists them. OWNER binds records to whoever made them: the
hash of the bearer token (`owner_of`), never the token, so replicas started with another token
(or none) neither see nor change them. SCOPE splits a kind further (the Ollama host of a pull).

Every method raises `SharedStateUnavailable` when Redis cannot be reached: a record is what was
acknowledged to a client, and must not silently be kept anywhere else.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

from tools.errors import SharedStateUnavailable
from tools.state.link import RedisLink, text

ANYONE = "open"  # the owner of records made on servers without a bearer token
MAX_RETRIES = 50  # optimistic updates retried when another replica wrote in between
Change = Callable[[str | None], str | None]


def owner_of(token: str | None) -> str:
    """Whose records: a hash of the bearer token (the token itself is never stored)."""
    if not token:
        return ANYONE
    return hashlib.sha256(b"ollama-mcp records\x00" + token.encode()).hexdigest()[:32]


class RecordStore:
    """Records of one kind, for one owner, in one scope."""

    def __init__(self, link: RedisLink, kind: str, *, owner: str, scope: str = "") -> None:
        self.link = link
        self.kind = kind
        self.owner = owner
        self.index = link.key(f"{kind}-index", owner, scope)

    def key(self, record_id: str) -> str:
        return self.link.key(self.kind, self.owner, record_id)

    async def put(self, record_id: str, body: str, *, ttl: float, order: float) -> None:
        """Write (or overwrite) a record, kept `ttl` seconds past this write."""
        key = self.key(record_id)

        async def write(r: Any) -> None:
            async with r.pipeline(transaction=True) as pipe:
                pipe.set(key, body, ex=max(1, int(ttl)))
                pipe.zadd(self.index, {record_id: order})
                await pipe.execute()

        await self.link.call(write)

    async def get(self, record_id: str) -> str | None:
        key = self.key(record_id)
        raw: object = await self.link.call(lambda r: r.get(key))
        return None if raw is None else text(raw)

    async def get_with(self, record_id: str, key: str) -> tuple[str | None, str | None]:
        """The record and the value at another `key` (a lock's holder, say), read together in
        one round trip (MGET), as one read of the two."""
        record_key = self.key(record_id)
        raws: list[object] = await self.link.call(lambda r: r.mget([record_key, key]))
        body, other = raws
        return (None if body is None else text(body)), (None if other is None else text(other))

    async def all(self) -> list[tuple[str, str]]:
        """Every live record as (id, body), oldest first; expired ones leave the index."""
        listed: list[object] = await self.link.call(lambda r: r.zrange(self.index, 0, -1))
        ids = [text(i) for i in listed]
        if not ids:
            return []
        keys = [self.key(i) for i in ids]
        raws: list[object] = await self.link.call(lambda r: r.mget(keys))
        gone = [i for i, raw in zip(ids, raws, strict=True) if raw is None]
        if gone:
            await self.link.call(lambda r: r.zrem(self.index, *gone))
        return [(i, text(raw)) for i, raw in zip(ids, raws, strict=True) if raw is not None]

    async def update(
        self, record_id: str, change: Change, *, ttl: float, order: float | None = None
    ) -> str | None:
        """Apply `change(body or None)` as one step against every replica's writes (WATCH and
        MULTI, retried when another wrote in between); it returns the new body, or None to
        leave the record as it is. A record it creates is listed at `order` (default: now).
        The body now stored (None: no record)."""
        from redis.exceptions import WatchError

        key = self.key(record_id)

        async def attempt(r: Any) -> str | None:
            for _ in range(MAX_RETRIES):
                async with r.pipeline(transaction=True) as pipe:
                    try:
                        await pipe.watch(key)
                        raw = await pipe.get(key)
                        current = None if raw is None else text(raw)
                        changed = change(current)
                        if changed is None or changed == current:
                            await pipe.unwatch()
                            return current
                        pipe.multi()
                        pipe.set(key, changed, ex=max(1, int(ttl)))
                        if current is None:
                            made = time.time() if order is None else order
                            pipe.zadd(self.index, {record_id: made})
                        await pipe.execute()
                        return changed
                    except WatchError:
                        continue
            raise SharedStateUnavailable(
                self.link.where, f"{key} kept changing under {MAX_RETRIES} concurrent updates"
            )

        return await self.link.call(attempt)

    async def delete(self, record_id: str) -> None:
        key = self.key(record_id)

        async def remove(r: Any) -> None:
            async with r.pipeline(transaction=True) as pipe:
                pipe.delete(key)
                pipe.zrem(self.index, record_id)
                await pipe.execute()

        await self.link.call(remove)
