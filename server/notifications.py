"""Telling clients that models changed, in both protocol eras.

On 2026-07-28 events go to the subscription bus (`subscriptions/listen` streams); on the
handshake era (2025-11-25 and older) they are session notifications. A client that listens to
neither loses nothing: every resource read is fresh.
"""

from __future__ import annotations

import logging
from typing import Any

from mcp.server.mcpserver import Context

MODELS_URI = "ollama://models"
RUNNING_URI = "ollama://running"
STATUS_URI = "ollama://status"
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
