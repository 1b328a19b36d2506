"""What one replica holds of the state it shares with the others: the Redis link, its channels,
the locks, the metadata cache's Redis store, the bus and the event store (and, for the
lifespan, the pull and task records). Built with the server
(the SDK takes the bus and the event store then); connected by the lifespan (`running`)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from weakref import WeakKeyDictionary

import anyio
from mcp.server.mcpserver import MCPServer

from server.replicas.bus import NOTICES, ReplicaBus
from server.replicas.event_store import RedisEventStore
from server.replicas.pulls import PULL_CANCEL, PULLS, SharedPulls
from server.replicas.tasks import TASK_CANCEL, TASKS, SharedTasks
from server.settings import Settings
from server.tools_api import (
    RELEASED,
    Channels,
    RedisCacheStore,
    RedisLink,
    SharedLocks,
    SharedStateUnavailable,
    owner_of,
)

logger = logging.getLogger(__name__)

_SHARED: WeakKeyDictionary[MCPServer, SharedState] = WeakKeyDictionary()


class SharedState:
    def __init__(self, settings: Settings) -> None:
        assert settings.state_url is not None
        self.link = RedisLink(
            settings.state_url,
            password=settings.state_password,
            prefix=settings.state_prefix,
            ca_file=settings.state_ca_file,
        )
        self.channels = Channels(
            self.link, (NOTICES, RELEASED, PULLS, PULL_CANCEL, TASKS, TASK_CANCEL)
        )
        self.locks = SharedLocks(
            self.link, self.channels, expiry=max(0.5, settings.state_lock_seconds)
        )
        self.bus = ReplicaBus()
        self.bus.attach(self.channels)
        self.cache_store = RedisCacheStore(self.link, self.locks, ttl=settings.cache_ttl)
        self.event_store = RedisEventStore(self.link)
        self.owner = owner_of(settings.auth_token)  # whose records: a hash, never the token

    def pulls(self, host: str, keep: float) -> SharedPulls:
        """The replicas' pulls from this one to the Ollama at `host`."""
        return SharedPulls(
            self.link, self.channels, self.locks, host=host, keep=keep, owner=self.owner
        )

    def tasks(self, keep: float) -> SharedTasks:
        """The replicas' task records (each bound to its task's owner)."""
        return SharedTasks(self.link, self.channels, self.locks, keep=keep)

    def bind(self, server: MCPServer) -> None:
        _SHARED[server] = self

    @asynccontextmanager
    async def running(self) -> AsyncIterator[SharedState]:
        """Check Redis answers (raising `SharedStateUnavailable` if not), listen to the replicas's
        channels while open."""
        await self.link.check()
        async with anyio.create_task_group() as group:
            await group.start(self.channels.run)
            await group.start(self.event_store.run)
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


def shared_state_of(server: MCPServer) -> SharedState | None:
    return _SHARED.get(server)
