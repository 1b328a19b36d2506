"""Builds the MCP server from settings: one lifespan holding the process's Ollama client, cache
and catalog; the tools of `server.registry`; resources, prompts and completions."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mcp.server.mcpserver import MCPServer, RequestStateSecurity
from mcp.server.subscriptions import InMemorySubscriptionBus

from server.app_ui.wiring import finish, library_app
from server.notifications import Broadcast
from server.prompts import register_prompts
from server.registry import register_tools
from server.resources import register_completions, register_resources
from server.settings import Settings
from server.state import AppState, StateHolder, open_state
from server.tools_api import VERSION

SERVER_NAME = "ollama-connector-mcp"
INSTRUCTIONS = (
    "Tools and resources for a local Ollama: browse installed models and the models Ollama "
    "recommends, read their metadata, build Modelfiles, package LoRA adapters, pull and push "
    "models, and run local inference."
)


def build_server(settings: Settings) -> MCPServer[AppState]:
    """The configured server; which tools it offers is decided by `server.registry.offered`."""
    holder = StateHolder()
    bus = InMemorySubscriptionBus()  # kept: background pulls publish on it outside requests

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppState]) -> AsyncIterator[AppState]:
        async with open_state(settings, Broadcast(bus)) as state:
            holder.current = state
            try:
                yield state
            finally:
                holder.current = None

    app = library_app(settings)
    server: MCPServer[AppState] = MCPServer(
        SERVER_NAME,
        version=VERSION,
        instructions=INSTRUCTIONS,
        log_level=settings.log_level,
        lifespan=lifespan,
        subscriptions=bus,
        request_state_security=request_state_security(settings),
        extensions=[app] if app else None,
    )
    register_tools(server, settings)
    if app:
        finish(server)
    register_resources(server, holder)
    register_prompts(server)
    register_completions(server, holder)
    return server


def request_state_security(settings: Settings) -> RequestStateSecurity | None:
    """How the state a stateless request hands to the client is sealed. Replicas behind a load
    balancer must open each other's, so with `--stateless` and a token every replica derives the
    same key from the token they share; otherwise (None) the SDK's key held by this process."""
    if not (settings.stateless and settings.auth_token):
        return None
    key = hmac.new(settings.auth_token.encode(), b"ollama-mcp request state", hashlib.sha256)
    return RequestStateSecurity(keys=[key.digest()])
