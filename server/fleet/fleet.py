"""What one replica holds of the fleet: the Redis link, its channels, the fleet's locks, the
metadata cache's shared store, the fleet bus and the event store. Built with the server (the SDK
takes the bus and the event store then); connected by the lifespan (`running`)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from weakref import WeakKeyDictionary

import anyio
from mcp.server.mcpserver import MCPServer

from server.fleet.bus import NOTICES, FleetBus
from server.fleet.event_store import RedisEventStore
from server.fleet.pulls import PULL_CANCEL, PULLS, FleetPulls
from server.settings import Settings
from server.tools_api import (
    RELEASED,
    Channels,
    FleetLocks,
    RedisCacheStore,
    RedisLink,
    SharedStateUnavailable,
)

logger = logging.getLogger(__name__)

_FLEETS: WeakKeyDictionary[MCPServer, Fleet] = WeakKeyDictionary()


class Fleet:
    def __init__(self, settings: Settings) -> None:
        assert settings.state_url is not None
        self.link = RedisLink(
            settings.state_url, password=settings.state_password, prefix=settings.state_prefix
        )
        self.channels = Channels(self.link, (NOTICES, RELEASED, PULLS, PULL_CANCEL))
        self.locks = FleetLocks(
            self.link, self.channels, expiry=max(0.5, settings.state_lock_seconds)
        )
        self.bus = FleetBus()
        self.bus.attach(self.channels)
        self.cache_store = RedisCacheStore(self.link, self.locks, ttl=settings.cache_ttl)
        self.event_store = RedisEventStore(self.link)

    def pulls(self, host: str, keep: float) -> FleetPulls:
        """The fleet's pulls from this replica to the Ollama at `host`."""
        return FleetPulls(self.link, self.channels, self.locks, host=host, keep=keep)

    def bind(self, server: MCPServer) -> None:
        _FLEETS[server] = self

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Fleet]:
        """Check Redis answers (raising `SharedStateUnavailable` if not), listen to the fleet's
        channels while open."""
        await self.link.check()
        async with anyio.create_task_group() as group:
            await group.start(self.channels.run)
            try:
                yield self
            finally:
                group.cancel_scope.cancel()
        with anyio.CancelScope(shield=True):
            await self.link.aclose()

    async def describe(self) -> str:
        """One line for status: where, and whether it answers now (one PING)."""
        with contextlib.suppress(SharedStateUnavailable):
            await self.link.check()
        status = self.link.status()
        if status.available:
            return f"Redis at {status.where}: connected"
        since = datetime.fromtimestamp(status.lost_since or 0, UTC)
        return (
            f"Redis at {status.where}: LOST since {since:%H:%M:%S} UTC ({status.error}); "
            "pulls and tasks wait for it, reads ask Ollama"
        )


def fleet_of(server: MCPServer) -> Fleet | None:
    return _FLEETS.get(server)
