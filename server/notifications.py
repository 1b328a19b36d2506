"""Telling clients that resources changed, by the spec, in both protocol eras.

On 2026-07-28 events go to the subscription bus, which serves `subscriptions/listen` streams
(each stream names what it wants). On the handshake era (2025-11-25 and older) a client asks
with `resources/subscribe` and hears `notifications/resources/updated` for those URIs only:
`ollama://models` for any change to the list, `ollama://models/{name}` for that model,
`ollama://pulls` for pulls. `list_changed` would mean that the set of listed resources changed;
it is fixed while the server runs, so it is never sent. A client that listens to neither loses
nothing: every resource read is fresh.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol
from urllib.parse import unquote

import anyio
from mcp import MCPError
from mcp.server.connection import Connection
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import Context
from mcp.server.session import ServerSession
from mcp.server.subscriptions import InMemorySubscriptionBus, ResourceUpdated, ServerEvent
from mcp.types import INVALID_PARAMS, EmptyResult, SubscribeRequestParams, UnsubscribeRequestParams

MODELS_URI = "ollama://models"
RUNNING_URI = "ollama://running"
STATUS_URI = "ollama://status"
PULLS_URI = "ollama://pulls"
MODERN_ERA = "2026-07-28"
URI_SCHEME = "ollama://"

logger = logging.getLogger(__name__)


def model_uri(name: str) -> str:
    return f"{MODELS_URI}/{name}"


def connection_of(session: ServerSession) -> Connection:
    """The client's connection. The SDK hands each request a new `ServerSession`; the
    connection it wraps is the one object that lives as long as the client does."""
    connection: Connection = session._connection
    return connection


SessionSender = Callable[[Sequence[ServerEvent]], Awaitable[None]]


class LocalBus(InMemorySubscriptionBus):
    """The subscription bus of one process, which also hands events meant for handshake-era
    sessions to `Broadcast`. Replicas use `server.replicas.bus.ReplicaBus`, which carries the same
    events to every replica through Redis."""

    def __init__(self) -> None:
        super().__init__()
        self._session_senders: list[SessionSender] = []

    def on_sessions(self, sender: SessionSender) -> None:
        self._session_senders.append(sender)

    async def send(self, events: Sequence[ServerEvent], *, to_sessions: bool) -> None:
        """`events` to every listen stream and, with `to_sessions`, to the subscribed sessions."""
        await self.deliver(events, to_sessions=to_sessions)

    async def deliver(self, events: Sequence[ServerEvent], *, to_sessions: bool) -> None:
        for event in events:
            await InMemorySubscriptionBus.publish(self, event)
        if to_sessions:
            for sender in self._session_senders:
                await sender(events)


class Broadcast:
    """The one way the server says that resources changed, from a request or from background
    work: to the bus for 2026-07-28 listeners, and to each handshake-era connection for the
    URIs it subscribed to. Connections are held weakly: a client that went away is forgotten.
    With the replicas' bus both reach every replica's listeners and subscribed sessions."""

    MAX_SUBSCRIPTIONS = 256  # per connection; resource URIs are few, so this is only a fence
    SEND_TIMEOUT = 2.0  # a connection that cannot take a notification in this time is dropped

    def __init__(self, bus: LocalBus) -> None:
        self.bus = bus
        self._subscriptions: weakref.WeakKeyDictionary[Connection, set[str]] = (
            weakref.WeakKeyDictionary()
        )
        bus.on_sessions(self._to_subscribers)

    def subscribe(self, connection: Connection, uri: str) -> None:
        uris = self._subscriptions.setdefault(connection, set())
        if len(uris) >= self.MAX_SUBSCRIPTIONS and uri not in uris:
            raise MCPError(
                INVALID_PARAMS,
                f"too many subscriptions ({self.MAX_SUBSCRIPTIONS}); unsubscribe from some first",
            )
        uris.add(uri)

    def unsubscribe(self, connection: Connection, uri: str) -> None:
        self._subscriptions.get(connection, set()).discard(uri)

    def subscribed(self, connection: Connection) -> frozenset[str]:
        return frozenset(self._subscriptions.get(connection, ()))

    async def updated(self, *uris: str) -> None:
        await self.bus.send([ResourceUpdated(uri=uri) for uri in uris], to_sessions=True)

    async def _to_subscribers(self, events: Sequence[ServerEvent]) -> None:
        uris = [event.uri for event in events if isinstance(event, ResourceUpdated)]
        for connection, subscribed in list(self._subscriptions.items()):
            wanted = [uri for uri in uris if uri in subscribed]
            if not wanted:
                continue
            try:
                with anyio.fail_after(self.SEND_TIMEOUT):
                    for uri in wanted:
                        await connection.send_resource_updated(uri)
            except Exception:  # that client went away: forget it
                logger.debug("dropping a connection that could not be notified", exc_info=True)
                self._subscriptions.pop(connection, None)


class HasBroadcast(Protocol):
    @property
    def broadcast(self) -> Broadcast: ...


async def announce_model_changes(ctx: Context[Any, Any], *names: str) -> None:
    """After a create, delete, copy, pull or push: the list changed, and so did each model."""
    state: HasBroadcast = ctx.request_context.lifespan_context
    try:
        await state.broadcast.updated(MODELS_URI, STATUS_URI, *(model_uri(n) for n in names if n))
    except Exception:  # a client that went away must not turn a done change into a failure
        logger.warning("could not notify clients of changed models", exc_info=True)


def subscription_uri(uri: str) -> str:
    """The URI as notifications name it (`%3A` read as `:`), or a protocol error for a URI that
    is not one of this server's."""
    uri = unquote(str(uri))
    if not uri.startswith(URI_SCHEME):
        raise MCPError(
            INVALID_PARAMS,
            f"cannot subscribe to {uri!r}: this server's resources start with {URI_SCHEME} "
            "(resources/list and resources/templates/list name them)",
        )
    return uri


def subscription_handlers(broadcast: Broadcast) -> tuple[Any, Any]:
    """The handshake-era `resources/subscribe` and `resources/unsubscribe` handlers."""

    async def on_subscribe(
        ctx: ServerRequestContext[Any, Any], params: SubscribeRequestParams
    ) -> EmptyResult:
        broadcast.subscribe(connection_of(ctx.session), subscription_uri(params.uri))
        return EmptyResult()

    async def on_unsubscribe(
        ctx: ServerRequestContext[Any, Any], params: UnsubscribeRequestParams
    ) -> EmptyResult:
        broadcast.unsubscribe(connection_of(ctx.session), subscription_uri(params.uri))
        return EmptyResult()

    return on_subscribe, on_unsubscribe
