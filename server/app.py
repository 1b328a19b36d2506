"""Builds the MCP server from settings: one lifespan holding the process's Ollama client, cache
and catalog; the tools of `server.registry`; resources, prompts and completions."""

from __future__ import annotations

import hashlib
import hmac
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mcp.server.mcpserver import MCPServer, RequestStateSecurity

from server.app_ui.wiring import finish, library_app
from server.notifications import Broadcast, LocalBus
from server.prompts import register_prompts
from server.registry import register_tools
from server.replicas.shared import SharedState
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


_HOLDERS: weakref.WeakKeyDictionary[MCPServer[AppState], StateHolder] = weakref.WeakKeyDictionary()


def state_of(server: MCPServer[AppState]) -> AppState:
    """The running server's state (its fleet of hosts, cache, pulls), for code that embeds it."""
    return _HOLDERS[server].get()


def build_server(settings: Settings) -> MCPServer[AppState]:
    """The configured server; which tools it offers is decided by `server.registry.offered`."""
    holder = StateHolder()
    # Replicas share state through Redis; alone, everything stays in this process and folder.
    shared = SharedState(settings) if settings.state_url else None
    bus = shared.bus if shared else LocalBus()  # kept: background pulls publish outside requests

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppState]) -> AsyncIterator[AppState]:
        async with open_state(settings, Broadcast(bus), shared) as state:
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
    if shared is not None:
        shared.bind(server)
    _HOLDERS[server] = holder
    register_tools(server, settings)
    if app:
        finish(server)
    register_resources(server, holder)
    register_prompts(server, several_hosts=len(settings.ollama_hosts) > 1)
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
