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
from the start. So each event id carries a random scope of its own session: a session's tasks run
in the context of the request that opened it, and `scoped` sets that context's scope.
"""

from __future__ import annotations

import contextvars
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.streamable_http import EventCallback, EventId, EventMessage, EventStore, StreamId
from mcp_types import JSONRPCMessage
from pydantic import TypeAdapter, ValidationError

from server.tools_api import RedisLink, SharedStateUnavailable, text

logger = logging.getLogger(__name__)

MAX_EVENTS = 1000  # per stream; older ones are dropped (a client that far behind refetches)
KEEP_SECONDS = 15 * 60  # a stream untouched this long is dropped
_MESSAGE = TypeAdapter[JSONRPCMessage](JSONRPCMessage)
_SCOPE = contextvars.ContextVar[str]("ollama_mcp_event_scope", default="")


@asynccontextmanager
async def scoped() -> AsyncIterator[None]:
    """A fresh scope for what runs inside (one HTTP request, and a session it opens)."""
    token = _SCOPE.set(uuid.uuid4().hex)
    try:
        yield
    finally:
        _SCOPE.reset(token)


class RedisEventStore(EventStore):
    def __init__(
        self, link: RedisLink, *, max_events: int = MAX_EVENTS, keep: int = KEEP_SECONDS
    ) -> None:
        self.link = link
        self.max_events = max_events
        self.keep = keep

    async def store_event(self, stream_id: StreamId, message: JSONRPCMessage | None) -> EventId:
        """Never raises: without Redis the message still goes out live, it just cannot be
        replayed (the id handed out then matches nothing)."""
        scope = _SCOPE.get() or "none"
        key = self.link.key("stream", scope, stream_id)
        data = (
            b""
            if message is None
            else message.model_dump_json(by_alias=True, exclude_none=True).encode()
        )

        async def add(r: object) -> bytes:
            pipe = r.pipeline(transaction=True)  # type: ignore[attr-defined]
            pipe.xadd(key, {"m": data}, maxlen=self.max_events, approximate=False)
            pipe.expire(key, self.keep)
            added, _ = await pipe.execute()
            return bytes(added)

        try:
            entry = (await self.link.call(add)).decode()
        except SharedStateUnavailable as exc:
            logger.debug("event not kept for replay: %s", exc.detail)
            entry = f"lost-{uuid.uuid4().hex}"
        return f"{scope}/{stream_id}/{entry}"

    async def replay_events_after(
        self, last_event_id: EventId, send_callback: EventCallback
    ) -> StreamId | None:
        scope, _, rest = last_event_id.partition("/")
        stream_id, _, entry = rest.rpartition("/")
        if not (scope and stream_id and entry) or entry.startswith("lost-"):
            return None
        key = self.link.key("stream", scope, stream_id)
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
        if not found and not await self.link.call(lambda r: r.exists(key)):
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
