"""Telling clients that models changed, in both protocol eras.

On 2026-07-28 events go to the subscription bus (`subscriptions/listen` streams); on the
handshake era (2025-11-25 and older) they are session notifications. A client that listens to
neither loses nothing: every resource read is fresh.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import anyio
from mcp.server.mcpserver import Context
from mcp.server.subscriptions import (
    InMemorySubscriptionBus,
    ResourcesListChanged,
    ResourceUpdated,
    ServerEvent,
)

MODELS_URI = "ollama://models"
RUNNING_URI = "ollama://running"
STATUS_URI = "ollama://status"
PULLS_URI = "ollama://pulls"
MODERN_ERA = "2026-07-28"

logger = logging.getLogger(__name__)


def model_uri(name: str) -> str:
    return f"{MODELS_URI}/{name}"


async def announce_model_changes(ctx: Context[Any, Any], *names: str) -> None:
    """After a create, delete, copy, pull or push: the list changed, and so did each model."""
    uris = [MODELS_URI, STATUS_URI, *(model_uri(n) for n in names if n)]
    try:
        if ctx.protocol_version == MODERN_ERA:
            await ctx.notify_resources_changed()
            for uri in uris:
                await ctx.notify_resource_updated(uri)
        else:
            await ctx.session.send_resource_list_changed()
            for uri in uris:
                await ctx.session.send_resource_updated(uri)
    except Exception:  # a client that went away must not turn a done change into a failure
        logger.warning("could not notify the client of changed models", exc_info=True)


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
        """`events` to every listen stream and, with `to_sessions`, to the kept sessions."""
        await self.deliver(events, to_sessions=to_sessions)

    async def deliver(self, events: Sequence[ServerEvent], *, to_sessions: bool) -> None:
        for event in events:
            await InMemorySubscriptionBus.publish(self, event)
        if to_sessions:
            for sender in self._session_senders:
                await sender(events)


class Broadcast:
    """Notifications from outside any request (a background pull that outlives its call): to the
    subscription bus for 2026-07-28 listeners, and to the handshake-era sessions that touched
    pulls, kept here since such a session hears only what is sent to it. With the replicas' bus both
    reach every replica's listeners and sessions."""

    MAX_SESSIONS = 64
    SEND_TIMEOUT = 2.0  # a session that cannot take a notification in this time is dropped

    def __init__(self, bus: LocalBus) -> None:
        self.bus = bus
        self._sessions: dict[int, Any] = {}
        bus.on_sessions(self._to_sessions)

    def keep(self, ctx: Context[Any, Any]) -> None:
        """Remember the caller's session if it is of the handshake era."""
        if ctx.protocol_version == MODERN_ERA or ctx.protocol_version is None:
            return
        session = ctx.session
        self._sessions.pop(id(session), None)
        self._sessions[id(session)] = session
        while len(self._sessions) > self.MAX_SESSIONS:
            del self._sessions[next(iter(self._sessions))]

    async def updated(self, *uris: str, list_changed: bool = False) -> None:
        events: list[ServerEvent] = [ResourcesListChanged()] if list_changed else []
        events += [ResourceUpdated(uri=uri) for uri in uris]
        await self.bus.send(events, to_sessions=True)

    async def _to_sessions(self, events: Sequence[ServerEvent]) -> None:
        for key, session in list(self._sessions.items()):
            try:
                with anyio.fail_after(self.SEND_TIMEOUT):
                    for event in events:
                        if isinstance(event, ResourcesListChanged):
                            await session.send_resource_list_changed()
                        elif isinstance(event, ResourceUpdated):
                            await session.send_resource_updated(event.uri)
            except Exception:  # that client went away: forget it
                logger.debug("dropping a session that could not be notified", exc_info=True)
                self._sessions.pop(key, None)
