"""The event store of resumable streams against a real redis-server, in process: a priming event
writes nothing and resuming from it replays the whole stream; a stored message is written by the
writer after `store_event` returned, and a replay finds every message stored before it; without
Redis nothing raises and nothing is replayed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import redis.asyncio
from mcp.server.streamable_http import EventMessage
from mcp_types import JSONRPCMessage, JSONRPCNotification

from server.replicas.event_store import RedisEventStore, scoped
from tests.replicas.processes import RedisServer
from tools.state.link import RedisLink

PREFIX = "test:"


def progress(n: int) -> JSONRPCMessage:
    return JSONRPCNotification(jsonrpc="2.0", method="notifications/progress", params={"n": n})


@asynccontextmanager
async def running_store(url: str) -> AsyncIterator[RedisEventStore]:
    link = RedisLink(url, prefix=PREFIX)
    store = RedisEventStore(link)
    async with anyio.create_task_group() as group:
        await group.start(store.run)
        yield store
        group.cancel_scope.cancel()
    await link.aclose()


async def replayed(store: RedisEventStore, last_id: str) -> tuple[str | None, list[EventMessage]]:
    got: list[EventMessage] = []

    async def send(event: EventMessage) -> None:
        got.append(event)

    return await store.replay_events_after(last_id, send), got


async def stream_keys(redis_server: RedisServer) -> list[bytes]:
    client = redis.asyncio.Redis.from_url(redis_server.url)
    try:
        return sorted(await client.keys(f"{PREFIX}stream:*"))
    finally:
        await client.aclose()


async def test_a_priming_event_writes_nothing_and_resuming_from_it_replays_the_stream(
    redis_server: RedisServer,
) -> None:
    async with running_store(redis_server.url) as store, scoped() as scope:
        priming = await store.store_event("7", None)
        assert priming == f"{scope}/7/0-0"
        assert await stream_keys(redis_server) == []  # nothing written for it
        # primed, no message yet: still the session's stream, to follow live
        assert await replayed(store, priming) == ("7", [])
        first = await store.store_event("7", progress(1))
        second = await store.store_event("7", progress(2))
        stream_id, got = await replayed(store, priming)
    assert stream_id == "7"
    assert [event.event_id for event in got] == [first, second]
    assert [event.message.params for event in got] == [{"n": 1}, {"n": 2}]  # type: ignore[union-attr]
    assert await stream_keys(redis_server) == [f"{PREFIX}stream:{scope}:7".encode()]


async def test_a_replay_finds_every_message_stored_before_it_in_order(
    redis_server: RedisServer,
) -> None:
    async with running_store(redis_server.url) as store, scoped():
        ids = [await store.store_event("3", progress(n)) for n in range(50)]
        # store_event only queued them: the replay waits for the writer, then reads
        stream_id, got = await replayed(store, ids[9])
    assert stream_id == "3"
    assert [event.event_id for event in got] == ids[10:]
    assert [event.message.params for event in got] == [{"n": n} for n in range(10, 50)]  # type: ignore[union-attr]


async def test_streams_of_two_scopes_are_apart_and_an_unknown_stream_is_not_replayed(
    redis_server: RedisServer,
) -> None:
    async with running_store(redis_server.url) as store:
        async with scoped():
            mine = await store.store_event("1", progress(1))
        async with scoped():
            theirs = await store.store_event("1", progress(2))
        _, got = await replayed(store, mine)
        assert got == []
        assert (await replayed(store, theirs.rsplit("/", 1)[0] + "/0-0"))[1][0].event_id == theirs
        assert await replayed(store, "nosuchscope/1/0-1") == (None, [])


async def test_without_redis_nothing_raises_and_nothing_is_replayed(
    redis_server: RedisServer,
) -> None:
    async with running_store(redis_server.url) as store, scoped():
        redis_server.stop()
        event_id = await store.store_event("5", progress(1))  # queued: the call goes on
        assert await replayed(store, event_id.rsplit("/", 1)[0] + "/0-0") == (None, [])
