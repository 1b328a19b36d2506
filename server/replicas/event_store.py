"""Resumable SSE streams: the SDK's `EventStore` in Redis, bounded per stream and expiring.

What the SDK (mcp 2.3.0) resumes, and so what this gives:

* Sessions (handshake era, `--stateless` off): the transport stores each message of a request's
  SSE stream here and, when the client comes back with `Last-Event-ID`, replays what it missed.
  A session lives in the replica that opened it, so the client must come back to that replica
  (a load balancer routes on `Mcp-Session-Id`); another replica answers 404 "Session not found"
  whatever the store holds. What Redis adds: the events are bounded and expire, outside the
  process's memory.
* `--stateless` and 2026-07-28 requests: the SDK stores no events and mints no event ids, so
  nothing is resumed, on any replica; a client whose stream dropped asks again (reads are fresh,
  tasks and pulls have records to read).

The interface knows no session: stream ids are JSON-RPC request ids, which every session numbers
from the start. So each event id carries a random scope of its own session: a session's tasks
(which store its messages) run in the context of the request that opened it, `scoped` sets that
context's scope, and `SessionScopes` gives every later request of the session the same one (so a
request's priming event and its messages are in one stream).

What a call waits for: nothing. A priming event (the first event of each SSE stream, with no
message) is not written: its id points at the start of its stream (`0-0`), and a client that
resumes from it gets every message of the stream. A message is queued and written by one writer
task, in order, in batches at most `WRITE_AFTER` after the answer went out (see
`RedisEventStore`); a replay waits for the queue first. A session lives in its replica, so the
events of the last moments before a crash are lost with the session itself. On a machine where
Redis shares the cores, each round trip on a call's path costs a wake-up of Redis and back, so
the events that make a call resumable are kept off that path.
"""

from __future__ import annotations

import contextvars
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from anyio.abc import TaskStatus
from mcp.server.streamable_http import EventCallback, EventId, EventMessage, EventStore, StreamId
from mcp_types import JSONRPCMessage
from pydantic import TypeAdapter, ValidationError

from server.tools_api import RedisLink, SharedStateUnavailable, text

logger = logging.getLogger(__name__)

MAX_EVENTS = 1000  # per stream; older ones are dropped (a client that far behind refetches)
KEEP_SECONDS = 15 * 60  # a stream untouched this long is dropped
MAX_SESSIONS = 10_000  # sessions whose scope is remembered; the oldest is forgotten first
START = "0-0"  # the entry before every entry of a stream: where a priming event points
WRITE_AFTER = 0.05  # seconds from the first queued event to its batch's write
MAX_QUEUED = 10_000  # events waiting for Redis; past this (Redis far behind) they are not kept
_MESSAGE = TypeAdapter[JSONRPCMessage](JSONRPCMessage)
_SCOPE = contextvars.ContextVar[str]("ollama_mcp_event_scope", default="")


@asynccontextmanager
async def scoped(scope: str | None = None) -> AsyncIterator[str]:
    """`scope`, or a fresh one, for what runs inside (one HTTP request, and a session it
    opens); yields it."""
    current = scope or uuid.uuid4().hex
    token = _SCOPE.set(current)
    try:
        yield current
    finally:
        _SCOPE.reset(token)


class SessionScopes:
    """The scope of each live session (by its `Mcp-Session-Id`): the one of the request that
    opened it. Sessions live in this process, so this is memory of its own, bounded."""

    def __init__(self, limit: int = MAX_SESSIONS) -> None:
        self.limit = limit
        self._scopes: OrderedDict[str, str] = OrderedDict()

    def of(self, session_id: str | None) -> str | None:
        return None if session_id is None else self._scopes.get(session_id)

    def opened(self, session_id: str, scope: str) -> None:
        self._scopes[session_id] = scope
        while len(self._scopes) > self.limit:
            self._scopes.popitem(last=False)

    def closed(self, session_id: str) -> None:
        self._scopes.pop(session_id, None)


class RedisEventStore(EventStore):
    """Events are written by one writer task (`run`), in the order they were stored, a batch
    every `WRITE_AFTER` at most, each batch in one round trip; `store_event` only queues, so a
    call's answer goes out without waiting for Redis. Each entry's id is minted here (increasing
    in this process, which alone writes its sessions' streams), so the id is known before the
    write. A replay first waits for what is queued, so it finds every event already sent."""

    def __init__(
        self, link: RedisLink, *, max_events: int = MAX_EVENTS, keep: int = KEEP_SECONDS
    ) -> None:
        self.link = link
        self.max_events = max_events
        self.keep = keep
        self._queue: list[tuple[str, bytes, str]] = []  # (key, message, entry id), in order
        self._queued = 0  # events queued so far
        self._written = 0  # of those, events the writer is done with (written or not)
        self._last = (0, 0)  # the last entry id minted, (milliseconds, sequence)
        self._woken: anyio.Event | None = None  # set when the queue has work
        self._progress: anyio.Event | None = None  # set after each batch

    def _mint(self) -> str:
        milliseconds, sequence = self._last
        now = int(time.time() * 1000)
        self._last = (now, 0) if now > milliseconds else (milliseconds, sequence + 1)
        return f"{self._last[0]}-{self._last[1]}"

    async def store_event(self, stream_id: StreamId, message: JSONRPCMessage | None) -> EventId:
        """Never raises, never waits: without Redis the message still goes out live, it just
        cannot be replayed."""
        scope = _SCOPE.get() or "none"
        if message is None:  # a priming event: nothing to replay, so nothing to write
            return f"{scope}/{stream_id}/{START}"
        if self._woken is None:  # no writer running (the lifespan has not started it)
            return f"{scope}/{stream_id}/lost-{uuid.uuid4().hex}"
        if len(self._queue) >= MAX_QUEUED:
            logger.debug("event not kept for replay: %d events wait for Redis", len(self._queue))
            return f"{scope}/{stream_id}/lost-{uuid.uuid4().hex}"
        data = message.model_dump_json(by_alias=True, exclude_none=True).encode()
        entry = self._mint()
        self._queue.append((self.link.key("stream", scope, stream_id), data, entry))
        self._queued += 1
        self._woken.set()
        return f"{scope}/{stream_id}/{entry}"

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Write queued events until cancelled; a batch Redis does not take is logged and
        dropped (those events cannot be replayed)."""
        self._woken, self._progress = anyio.Event(), anyio.Event()
        task_status.started()
        try:
            while True:
                await self._woken.wait()
                # The write period (not a wait for an event): the answer that queued this goes
                # out first, and the events of the calls that follow meanwhile join the batch,
                # so a busy replica writes one batch per period, not a round trip per call.
                await anyio.sleep(WRITE_AFTER)
                self._woken = anyio.Event()
                batch, self._queue = self._queue, []
                try:
                    await self._write(batch)
                except SharedStateUnavailable as exc:
                    logger.debug("%d events not kept for replay: %s", len(batch), exc.detail)
                except Exception:  # a refused write must not stop the writer
                    logger.warning("%d events not kept for replay", len(batch), exc_info=True)
                self._written += len(batch)
                self._progress.set()
                self._progress = anyio.Event()
        finally:
            self._woken = None

    async def _write(self, batch: list[tuple[str, bytes, str]]) -> None:
        async def write(r: Any) -> None:
            pipe = r.pipeline(transaction=False)
            for key, data, entry in batch:
                pipe.xadd(key, {"m": data}, id=entry, maxlen=self.max_events, approximate=False)
                pipe.expire(key, self.keep)
            await pipe.execute()

        await self.link.call(write)

    async def _drained(self) -> None:
        """Until every event queued before this call is written (or given up)."""
        upto = self._queued
        while self._written < upto and self._progress is not None:
            await self._progress.wait()

    async def replay_events_after(
        self, last_event_id: EventId, send_callback: EventCallback
    ) -> StreamId | None:
        scope, _, rest = last_event_id.partition("/")
        stream_id, _, entry = rest.rpartition("/")
        if not (scope and stream_id and entry) or entry.startswith("lost-"):
            return None
        key = self.link.key("stream", scope, stream_id)
        await self._drained()  # what was sent before the client came back is in Redis
        try:
            found: list[Any] = await self.link.call(
                lambda r: r.xrange(key, min=f"({entry}", max="+")
            )
        except SharedStateUnavailable as exc:
            logger.warning("cannot replay a stream: %s", exc.detail)
            return None
        except Exception:  # a malformed entry id from the client
            logger.debug("no replay for event id %r", last_event_id, exc_info=True)
            return None
        # A stream primed but with no message stored yet is still this session's stream.
        if not found and entry != START and not await self.link.call(lambda r: r.exists(key)):
            return None
        for raw_id, fields in found:
            data = fields.get(b"m", b"")
            if not data:
                continue  # a priming event: nothing to send
            try:
                message = _MESSAGE.validate_json(data)
            except ValidationError:
                continue
            event_id = f"{scope}/{stream_id}/{text(raw_id)}"
            await send_callback(EventMessage(message, event_id))
        return stream_id
