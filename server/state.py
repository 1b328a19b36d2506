"""What one server process holds: the settings, one Ollama client, one metadata cache and its
catalog, one digest cache, the pulls and the broadcast to clients. Made once per process by the
lifespan in `server.app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver import Context

from server.notifications import Broadcast, LocalBus
from server.pull_records import PullHistory
from server.pulls import PullRegistry
from server.replicas.shared import SharedState
from server.settings import Settings
from server.tools_api import (
    DigestCache,
    MetadataCache,
    ModelCatalog,
    OllamaClient,
    default_cache_dir,
)


@dataclass
class AppState:
    settings: Settings
    client: OllamaClient
    cache: MetadataCache
    catalog: ModelCatalog
    digests: DigestCache
    pulls: PullRegistry
    broadcast: Broadcast
    shared: SharedState | None = None  # the replicas' shared state, with --state-url


@asynccontextmanager
async def open_state(
    settings: Settings, broadcast: Broadcast | None = None, shared: SharedState | None = None
) -> AsyncIterator[AppState]:
    """`broadcast` reaches clients from outside requests (background pulls); it should carry
    the bus the server was built with. With `shared`, Redis must answer (else
    `SharedStateUnavailable`), and the metadata cache lives there."""
    async with AsyncExitStack() as stack:
        if shared is not None:
            await stack.enter_async_context(shared.running())
        async with _open_state(settings, broadcast, shared) as state:
            yield state


@asynccontextmanager
async def _open_state(
    settings: Settings, broadcast: Broadcast | None, shared: SharedState | None
) -> AsyncIterator[AppState]:
    store = shared.cache_store if shared is not None else None
    cache = MetadataCache(settings.cache_dir, ttl=settings.cache_ttl, store=store)
    digests = DigestCache(settings.cache_dir)
    client = OllamaClient(settings.ollama_host)
    catalog = ModelCatalog(client, cache)
    broadcast = broadcast or Broadcast(LocalBus())
    pulls = PullRegistry(
        open_stream=lambda name, insecure: client.pull_stream(name, insecure=insecure),
        on_end=catalog.invalidate,
        history=PullHistory(settings.cache_dir or default_cache_dir(), settings.pull_history),
        broadcast=broadcast,
        shared=shared.pulls(str(client.base_url), settings.pull_history) if shared else None,
    )
    try:
        async with pulls.running():
            yield AppState(
                settings=settings,
                client=client,
                cache=cache,
                catalog=catalog,
                digests=digests,
                pulls=pulls,
                broadcast=broadcast,
                shared=shared,
            )
    finally:
        await client.aclose()
        cache.close()
        digests.close()


class StateHolder:
    """The lifespan's state, for the handlers the SDK gives no `Context` (static resources and
    completions); tools read it from their `Context`."""

    def __init__(self) -> None:
        self.current: AppState | None = None

    def get(self) -> AppState:
        if self.current is None:
            raise RuntimeError("the server is not running (its lifespan has not started)")
        return self.current


def app_state(ctx: Context[Any, Any]) -> AppState:
    state = ctx.request_context.lifespan_context
    assert isinstance(state, AppState)
    return state
