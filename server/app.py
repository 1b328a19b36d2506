"""Builds the MCP server from settings: one lifespan holding the process's Ollama client, cache
and catalog; the tools of `server.registry`; resources, prompts and completions."""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mcp.server.lowlevel.server import NotificationOptions
from mcp.server.mcpserver import MCPServer, RequestStateSecurity
from mcp.types import SetLevelRequestParams, SubscribeRequestParams, UnsubscribeRequestParams

from server.app_ui.wiring import finish, library_app
from server.client_log import ClientLog, set_level_handler
from server.notifications import Broadcast, LocalBus, subscription_handlers
from server.prompts import register_prompts
from server.registry import TASK_TOOLS, register_tools
from server.replicas.shared import SharedState
from server.resources import register_completions, register_resources
from server.settings import Settings
from server.state import AppState, StateHolder, open_state
from server.tasks.protocol import Tasks, serve_tasks
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
    broadcast = Broadcast(bus)
    client_log = ClientLog(secrets=(settings.auth_token, os.environ.get("OLLAMA_API_KEY")))

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppState]) -> AsyncIterator[AppState]:
        async with client_log.running(), open_state(settings, broadcast, shared) as state:
            holder.current = state
            try:
                yield state
            finally:
                holder.current = None

    app = library_app(settings)
    # Tasks first, the outer interceptor: a call run as a task passes through the App's too.
    tasks = Tasks(TASK_TOOLS, settings.auth_token)
    server: MCPServer[AppState] = MCPServer(
        SERVER_NAME,
        version=VERSION,
        instructions=INSTRUCTIONS,
        log_level=settings.log_level,
        lifespan=lifespan,
        subscriptions=bus,
        request_state_security=request_state_security(settings),
        extensions=[tasks, app] if app else [tasks],
    )
    if shared is not None:
        shared.bind(server)
    _HOLDERS[server] = holder
    serve_handshake_era_methods(server, broadcast, client_log)
    serve_tasks(server, tasks)
    register_tools(server, settings)
    if app:
        finish(server)
    register_resources(server, holder)
    register_prompts(server, several_hosts=len(settings.ollama_hosts) > 1)
    register_completions(server, holder)
    return server


def serve_handshake_era_methods(
    server: MCPServer[AppState], broadcast: Broadcast, client_log: ClientLog
) -> None:
    """`resources/subscribe`, `resources/unsubscribe` and `logging/setLevel`, which `MCPServer`
    does not serve; 2026-07-28 has `subscriptions/listen` and per-request logging instead. The
    low-level server derives `subscribe` and `logging` in the capabilities from these handlers;
    `listChanged` it takes from the notification options, so they are given here."""
    lowlevel = server._lowlevel_server
    on_subscribe, on_unsubscribe = subscription_handlers(broadcast)
    lowlevel.add_request_handler("resources/subscribe", SubscribeRequestParams, on_subscribe)
    lowlevel.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, on_unsubscribe)
    on_set_level = set_level_handler(client_log)
    lowlevel.add_request_handler("logging/setLevel", SetLevelRequestParams, on_set_level)
    options = functools.partial(
        lowlevel.create_initialization_options, NotificationOptions(resources_changed=True)
    )
    lowlevel.create_initialization_options = options  # type: ignore[method-assign]


def request_state_security(settings: Settings) -> RequestStateSecurity | None:
    """How the state a stateless request hands to the client is sealed. Replicas behind a load
    balancer must open each other's, so with `--stateless` and a token every replica derives the
    same key from the token they share; otherwise (None) the SDK's key held by this process."""
    if not (settings.stateless and settings.auth_token):
        return None
    key = hmac.new(settings.auth_token.encode(), b"ollama-mcp request state", hashlib.sha256)
    return RequestStateSecurity(keys=[key.digest()])
