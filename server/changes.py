"""When a call that changes models must make the cache forget them.

After a copy, delete, pull, create or packaging call reached Ollama, what the metadata cache
holds about its models (and the model list) may be out of date, however the call ended: done,
failed half-way, or cancelled. A call refused before anything was sent (a bad name, Modelfile,
option or path) changed nothing, and must not throw the cache away either: with Ollama down,
the cached list is what `list_models` still answers from.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

import anyio
from mcp.server.mcpserver.exceptions import ToolError

from server.tools_api import InvalidInput, LocalPathError, ModelCatalog

REFUSED_BEFORE_SENDING = (InvalidInput, LocalPathError, ToolError)


class HasCatalog(Protocol):
    """The server's state (its default host) or one host of several."""

    @property
    def catalog(self) -> ModelCatalog: ...


@asynccontextmanager
async def changing(state: HasCatalog, *names: str) -> AsyncIterator[None]:
    try:
        yield
    except REFUSED_BEFORE_SENDING:
        raise
    except BaseException:
        with anyio.CancelScope(shield=True):  # a cancelled pull may have changed the store
            await state.catalog.invalidate(*names)
        raise
    await state.catalog.invalidate(*names)
