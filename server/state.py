"""What one server process holds: the settings, one Ollama client, one metadata cache and its
catalog, one digest cache. Made once per process by the lifespan in `server.app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver import Context

from server.settings import Settings
from server.tools_api import DigestCache, MetadataCache, ModelCatalog, OllamaClient


@dataclass
class AppState:
    settings: Settings
    client: OllamaClient
    cache: MetadataCache
    catalog: ModelCatalog
    digests: DigestCache


@asynccontextmanager
async def open_state(settings: Settings) -> AsyncIterator[AppState]:
    cache = MetadataCache(settings.cache_dir, ttl=settings.cache_ttl)
    digests = DigestCache(settings.cache_dir)
    client = OllamaClient(settings.ollama_host)
    try:
        yield AppState(
            settings=settings,
            client=client,
            cache=cache,
            catalog=ModelCatalog(client, cache),
            digests=digests,
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
