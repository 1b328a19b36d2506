"""The shared record store (tools/state/records.py) against a real redis-server: records by id,
listed oldest first, bound to their owner, updated atomically by concurrent replicas, expiring."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import anyio
import pytest
import redis.asyncio

from tests.replicas.processes import RedisServer
from tools.errors import SharedStateUnavailable
from tools.state.link import RedisLink
from tools.state.records import ANYONE, RecordStore, owner_of


@pytest.fixture
async def link(redis_server: RedisServer) -> AsyncIterator[RedisLink]:
    opened = RedisLink(redis_server.url, prefix="test:")
    yield opened
    await opened.aclose()


def test_the_owner_is_a_hash_of_the_token_never_the_token() -> None:
    owner = owner_of("secret-token")
    assert owner != owner_of("another-token")
    assert len(owner) == 32 and "secret" not in owner
    assert owner_of(None) == owner_of("") == ANYONE


async def test_records_are_listed_oldest_first_and_only_to_their_owner(link: RedisLink) -> None:
    mine = RecordStore(link, "task", owner=owner_of("a"), scope="host1")
    theirs = RecordStore(link, "task", owner=owner_of("b"), scope="host1")
    await mine.put("second", '{"n": 2}', ttl=60, order=2.0)
    await mine.put("first", '{"n": 1}', ttl=60, order=1.0)
    assert await mine.all() == [("first", '{"n": 1}'), ("second", '{"n": 2}')]
    assert await theirs.all() == []
    assert await theirs.get("first") is None
    await mine.delete("first")
    assert await mine.all() == [("second", '{"n": 2}')]


async def test_concurrent_updates_from_two_replicas_lose_nothing(
    link: RedisLink, redis_server: RedisServer
) -> None:
    other = RedisLink(redis_server.url, prefix="test:")
    stores = [RecordStore(each, "task", owner=ANYONE) for each in (link, other)]
    await stores[0].put("t1", json.dumps({"count": 0}), ttl=60, order=1.0)

    def bump(body: str | None) -> str | None:
        assert body is not None
        return json.dumps({"count": json.loads(body)["count"] + 1})

    async with anyio.create_task_group() as group:
        for index in range(40):
            group.start_soon(lambda i=index: stores[i % 2].update("t1", bump, ttl=60))
    await other.aclose()
    assert json.loads(await stores[0].get("t1") or "{}") == {"count": 40}


async def test_an_update_can_create_a_record_or_leave_it_as_it_is(link: RedisLink) -> None:
    store = RecordStore(link, "task", owner=ANYONE)
    assert await store.update("new", lambda body: body or '{"made": 1}', ttl=60) == '{"made": 1}'
    assert await store.all() == [("new", '{"made": 1}')]
    assert await store.update("new", lambda body: None, ttl=60) == '{"made": 1}'


async def test_a_record_expires_with_its_ttl(link: RedisLink, redis_server: RedisServer) -> None:
    store = RecordStore(link, "task", owner=ANYONE)
    await store.put("brief", "{}", ttl=30, order=1.0)
    async with redis.asyncio.Redis.from_url(redis_server.url) as r:
        assert 0 < await r.ttl(store.key("brief")) <= 30
        await r.delete(store.key("brief"))  # as Redis does when the TTL passes
    assert await store.all() == []
    async with redis.asyncio.Redis.from_url(redis_server.url) as r:
        assert await r.zrange(store.index, 0, -1) == []  # the index forgets it too


async def test_without_redis_every_method_raises_with_the_fix(
    link: RedisLink, redis_server: RedisServer
) -> None:
    store = RecordStore(link, "task", owner=ANYONE)
    redis_server.stop()
    with pytest.raises(SharedStateUnavailable, match=r"^the shared state store at redis://"):
        await store.put("t", "{}", ttl=60, order=1.0)
    with pytest.raises(SharedStateUnavailable):
        await store.update("t", lambda body: "{}", ttl=60)
    with pytest.raises(SharedStateUnavailable):
        await store.all()
