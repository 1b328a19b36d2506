"""The metadata cache's entries in Redis, shared by every replica (see `tools.catalog.cache_store`).

One hash per Ollama host, `cache:HOST`, field `KIND\\x1fNAME`, value the entry as JSON; and a
generation counter per host, `cache-gen:HOST`, bumped by every invalidation. A fetch notes the
generation first and stores only if it is unchanged (a Lua script: the check and the write are one
step), so work begun before another replica's invalidation never writes back what is no longer
true. The TTL is the cache's own rule (`stored_at`); Redis drops a host's hash once nothing has
been stored in it for the TTL plus `KEEP_STALE` (a stale entry is what offline reads serve).

A Redis that does not answer makes every method a miss or a no-op, logged: the cache then asks
Ollama, which is never wrong, only slower.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

from tools.catalog.cache_db import CacheEntry, CacheKey
from tools.catalog.cache_store import Mark
from tools.errors import SharedStateUnavailable
from tools.state.link import RedisLink, text
from tools.state.lock import SharedLocks

logger = logging.getLogger(__name__)

T = TypeVar("T")
KEEP_STALE = 7 * 24 * 3600  # seconds past the TTL an entry stays for offline reads
SEP = "\x1f"

_PUT_IF_CURRENT = """
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""
_DELETE = """
local names, kinds = {}, {}
for i = 2, #ARGV do
  if string.sub(ARGV[i], 1, 1) == 'n' then names[string.sub(ARGV[i], 2)] = true
  else kinds[string.sub(ARGV[i], 2)] = true end
end
redis.call('INCR', KEYS[2])
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  local cut = string.find(field, ARGV[1], 1, true)
  if names[string.sub(field, cut + 1)] or kinds[string.sub(field, 1, cut - 1)] then
    redis.call('HDEL', KEYS[1], field)
  end
end
return 1
"""


class RedisCacheStore:
    shared = True

    def __init__(self, link: RedisLink, locks: SharedLocks, *, ttl: float) -> None:
        self.link = link
        self.locks = locks
        self.keep = max(1, int(ttl + KEEP_STALE))

    def _keys(self, host: str) -> tuple[str, str]:
        return self.link.key("cache", host), self.link.key("cache-gen", host)

    async def get(self, key: CacheKey) -> CacheEntry | None:
        entries, _ = self._keys(key.host)
        raw = await self._quietly(lambda r: r.hget(entries, _field(key)), None)
        if raw is None:
            return None
        try:
            item = json.loads(raw)
            return CacheEntry(str(item["payload"]), str(item["digest"]), float(item["stored_at"]))
        except (ValueError, KeyError, TypeError):
            logger.warning("ignoring an unreadable cache entry in %s", entries)
            return None

    async def mark(self, host: str) -> Mark:
        _, generation = self._keys(host)
        raw: object = await self._quietly(lambda r: r.get(generation), False)
        if raw is False:
            return None
        return "0" if raw is None else text(raw)

    async def put(
        self, key: CacheKey, entry: CacheEntry, *, mark: Mark, only_if: Callable[[], bool]
    ) -> None:
        if not isinstance(mark, str) or not only_if():
            return  # no generation was read: storing could undo an invalidation
        entries, generation = self._keys(key.host)
        value = json.dumps(
            {"payload": entry.payload, "digest": entry.digest, "stored_at": entry.stored_at}
        )
        await self._quietly(
            lambda r: r.eval(
                _PUT_IF_CURRENT, 2, entries, generation, mark, _field(key), value, self.keep
            ),
            None,
        )

    async def delete(self, host: str, *, names: Iterable[str], kinds: Iterable[str]) -> None:
        entries, generation = self._keys(host)
        marked = [*(f"n{n}" for n in names), *(f"k{k}" for k in kinds)]
        if marked:
            await self._quietly(
                lambda r: r.eval(_DELETE, 2, entries, generation, SEP, *marked), None
            )

    async def clear(self, host: str | None) -> None:
        if host is not None:
            entries, generation = self._keys(host)
            await self._quietly(lambda r: _clear_host(r, entries, generation), None)
            return
        pattern = self.link.key("cache", "*")

        async def wipe(r: Any) -> None:
            async for name in r.scan_iter(match=pattern):
                await r.delete(name)
            async for name in r.scan_iter(match=self.link.key("cache-gen", "*")):
                await r.incr(name)

        await self._quietly(wipe, None)

    def clear_blocking(self, host: str | None) -> None:
        """`clear` for callers that cannot await, with a blocking client; never raises."""
        from redis.exceptions import RedisError

        client = self.link.blocking_client()
        try:
            hosts = [host] if host is not None else [
                text(name).removeprefix(self.link.key("cache", ""))
                for name in client.scan_iter(match=self.link.key("cache", "*"))
            ]  # fmt: skip
            for each in hosts:
                entries, generation = self._keys(each)
                with client.pipeline(transaction=True) as pipe:
                    pipe.delete(entries)
                    pipe.incr(generation)
                    pipe.execute()
        except (RedisError, OSError) as exc:
            logger.warning("could not clear the shared metadata cache: %s", exc)
        finally:
            client.close()

    def filling(self, key: CacheKey) -> AbstractAsyncContextManager[object]:
        return self._filling(key)

    @asynccontextmanager
    async def _filling(self, key: CacheKey) -> AsyncIterator[object]:
        try:
            holding = self.locks.hold(f"fill:{key.host}{SEP}{key.kind}{SEP}{key.name}")
            token = await holding.__aenter__()
        except SharedStateUnavailable:
            yield None  # no lock without Redis: this replica asks Ollama itself
            return
        try:
            yield token
        except BaseException as exc:
            if not await holding.__aexit__(type(exc), exc, exc.__traceback__):
                raise
        else:
            await holding.__aexit__(None, None, None)

    def close(self) -> None:
        pass  # the link belongs to whoever opened it

    async def _quietly(self, command: Callable[[Any], Awaitable[T]], fallback: T) -> T:
        try:
            return await self.link.call(command)
        except SharedStateUnavailable as exc:
            logger.debug("metadata cache without Redis this time: %s", exc.detail)
            return fallback


def _field(key: CacheKey) -> str:
    return f"{key.kind}{SEP}{key.name}"


async def _clear_host(r: Any, entries: str, generation: str) -> None:
    async with r.pipeline(transaction=True) as pipe:
        pipe.delete(entries)
        pipe.incr(generation)
        await pipe.execute()
