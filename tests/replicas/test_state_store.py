"""The pieces in tools/state against a real redis-server, in process: the metadata cache on
Redis (two caches for two replicas), locks (a dead holder frees its lock), the link's
view of a lost and a returning Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.lowlevel
import pytest

from tests.replicas.processes import RedisServer
from tools.catalog.cache import MetadataCache
from tools.catalog.cache_db import CacheKey
from tools.errors import OllamaUnavailable, SharedStateUnavailable
from tools.state.cache_store import RedisCacheStore
from tools.state.channels import Channels
from tools.state.link import RedisLink
from tools.state.lock import RELEASED, SharedLocks

KEY = CacheKey("http://127.0.0.1:11434", "show", "llama3.2:latest")


class Replica:
    """What one replica holds of Redis, here in one process."""

    def __init__(self, url: str, *, expiry: float = 15.0) -> None:
        self.link = RedisLink(url, prefix="test:")
        self.channels = Channels(self.link, (RELEASED,))
        self.locks = SharedLocks(self.link, self.channels, expiry=expiry)
        self.cache = MetadataCache(
            "/nonexistent", ttl=60, store=RedisCacheStore(self.link, self.locks, ttl=60)
        )


@asynccontextmanager
async def two(redis_server: RedisServer) -> AsyncIterator[tuple[Replica, Replica]]:
    """Two replicas listening to their channels (a context manager, not a fixture: a task group
    is left in the task that entered it)."""
    pair = (Replica(redis_server.url, expiry=1.0), Replica(redis_server.url, expiry=1.0))
    async with anyio.create_task_group() as group:
        for replica in pair:
            await group.start(replica.channels.run)
        yield pair
        group.cancel_scope.cancel()
    for replica in pair:
        await replica.link.aclose()


def loader(answer: str, calls: list[str]) -> object:
    async def load() -> str:
        calls.append(answer)
        return answer

    return load


async def test_one_replica_fills_the_cache_and_the_other_reads_it(
    redis_server: RedisServer,
) -> None:
    async with two(redis_server) as (first, second):
        calls: list[str] = []
        filled = await first.cache.lookup(KEY, loader("v1", calls), expect_digest="d1")  # type: ignore[arg-type]
        read = await second.cache.lookup(KEY, loader("v2", calls), expect_digest="d1")  # type: ignore[arg-type]
        assert (filled.source, read.source, read.value.payload, calls) == (
            "live",
            "cache",
            "v1",
            ["v1"],
        )
        # Another digest: refreshed however young, as on one machine.
        newer = await second.cache.lookup(KEY, loader("v3", calls), expect_digest="d2")  # type: ignore[arg-type]
        assert (newer.source, newer.value.payload) == ("live", "v3")


async def test_an_invalidation_on_one_replica_holds_for_the_other(
    redis_server: RedisServer,
) -> None:
    async with two(redis_server) as (first, second):
        calls: list[str] = []
        await first.cache.lookup(KEY, loader("old", calls))  # type: ignore[arg-type]
        started = anyio.Event()
        release = anyio.Event()

        async def slow_load() -> str:
            started.set()
            await release.wait()
            return "from before the invalidation"

        async with anyio.create_task_group() as group:
            group.start_soon(lambda: second.cache.lookup(KEY, slow_load, use_cache=False))
            await started.wait()
            await first.cache.invalidate(KEY.host, names=[KEY.name])
            release.set()
        # The fetch that began before the invalidation did not write back.
        assert await second.cache.get(KEY) is None
        fresh = await first.cache.lookup(KEY, loader("new", calls))  # type: ignore[arg-type]
        assert (fresh.source, fresh.value.payload) == ("live", "new")


async def test_two_replicas_filling_one_key_ask_ollama_once(redis_server: RedisServer) -> None:
    async with two(redis_server) as (first, second):
        calls: list[str] = []
        release = anyio.Event()

        async def load() -> str:
            calls.append("load")
            await release.wait()
            return "answer"

        results = []

        async def look(replica: Replica) -> None:
            results.append(await replica.cache.lookup(KEY, load))

        async with anyio.create_task_group() as group:
            group.start_soon(look, first)
            while not calls:  # the first replica holds the fill lock and is loading
                await anyio.lowlevel.checkpoint()
            group.start_soon(look, second)
            while not second.locks._waiting:  # the second waits for the first's fill lock
                await anyio.lowlevel.checkpoint()
            release.set()
        assert calls == ["load"]
        assert sorted(r.source for r in results) == ["cache", "live"]


async def test_a_dead_holder_frees_its_lock_when_it_expires(redis_server: RedisServer) -> None:
    async with two(redis_server) as (first, second):
        # The first replica takes the lock and dies: it never renews nor releases it.
        assert await first.locks.try_take("work", "dead-token") is None
        assert await second.locks.try_take("work", "other") == "dead-token"
        with anyio.fail_after(5):
            async with second.locks.hold("work") as token:
                assert await second.locks.holder("work") == token


async def test_a_released_lock_wakes_its_waiter_at_once(redis_server: RedisServer) -> None:
    async with two(redis_server) as (first, second):
        order: list[str] = []
        async with anyio.create_task_group() as group, first.locks.hold("work"):

            async def wait() -> None:
                async with second.locks.hold("work"):
                    order.append("second")

            group.start_soon(wait)
            await anyio.wait_all_tasks_blocked()
            order.append("first done")
        assert order == ["first done", "second"]


async def test_without_redis_the_cache_asks_ollama_and_the_link_says_lost(
    redis_server: RedisServer,
) -> None:
    replica = Replica(redis_server.url)
    calls: list[str] = []
    redis_server.stop()
    found = await replica.cache.lookup(KEY, loader("live", calls))  # type: ignore[arg-type]
    assert (found.source, calls) == ("live", ["live"])
    assert not replica.link.available
    with pytest.raises(SharedStateUnavailable, match="cannot be reached"):
        await replica.locks.try_take("work", "t")

    async def down() -> str:
        raise OllamaUnavailable(KEY.host, "refused")

    with pytest.raises(OllamaUnavailable):  # nothing stale to serve: Redis held it
        await replica.cache.lookup(KEY, down)
    redis_server.start()
    assert await replica.locks.try_take("work", "t") is None  # back, with no restart
    assert replica.link.available
    await replica.link.aclose()


async def test_the_blocking_clear_empties_the_shared_cache(redis_server: RedisServer) -> None:
    async with two(redis_server) as (first, second):
        calls: list[str] = []
        await first.cache.lookup(KEY, loader("v1", calls))  # type: ignore[arg-type]
        await anyio.to_thread.run_sync(second.cache.clear)  # the seed's synchronous clear()
        assert await first.cache.get(KEY) is None
