"""What one server process holds: the settings, one metadata cache, one digest cache, the fleet
of Ollama hosts (one client and catalog each; `client`, `catalog` and `pulls` are the default
host's), the pulls of each host, the tasks (their records in Redis with --state-url), the
progress pacemaker and the broadcast to clients. Made once per process by the lifespan in
`server.app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import Context

from server.notifications import Broadcast, LocalBus
from server.pacemaker import Pacemaker
from server.pull_records import PullHistory
from server.pulls import PullRegistry
from server.replicas.pulls import SharedPulls
from server.replicas.shared import SharedState
from server.settings import Settings
from server.tasks.manager import TaskManager
from server.tasks.records import TaskHistory
from server.tasks.store import FileTaskStore, TaskStore
from server.tools_api import (
    DigestCache,
    Fleet,
    FleetHost,
    MetadataCache,
    ModelCatalog,
    OllamaClient,
    default_cache_dir,
    host_specs,
)

HOSTS_URI = "ollama://hosts"


@dataclass
class AppState:
    settings: Settings
    client: OllamaClient
    cache: MetadataCache
    catalog: ModelCatalog
    digests: DigestCache
    pulls: PullRegistry
    broadcast: Broadcast
    fleet: Fleet
    host_pulls: dict[str, PullRegistry]  # by host name
    tasks: TaskManager
    pacemaker: Pacemaker  # keeps generate's and chat's progress alive, one task for all calls
    shared: SharedState | None = None  # the replicas' shared state, with --state-url

    def pulls_on(self, host: FleetHost) -> PullRegistry:
        return self.host_pulls[host.name]


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
    broadcast = broadcast or Broadcast(LocalBus())
    folder = settings.cache_dir or default_cache_dir()
    # No hosts listed: the one host is --ollama-host or OLLAMA_HOST, as before there were several.
    specs = host_specs(settings.ollama_hosts, settings.ollama_host)
    several = len(specs) > 1
    hosts: list[FleetHost] = []
    host_pulls: dict[str, PullRegistry] = {}
    for spec in specs:
        client = OllamaClient(spec.url)
        # The cache key holds the host's name: a model on two hosts is two entries.
        catalog = ModelCatalog(client, cache, cache_host=f"{spec.name}={client.base_url}")
        hosts.append(FleetHost(spec, client, catalog))
        host_pulls[spec.name] = _pulls(
            client,
            catalog,
            folder / "hosts" / spec.name if several else folder,
            settings,
            broadcast,
            shared.pulls(f"{spec.name}={client.base_url}", settings.pull_history)
            if shared
            else None,
        )

    async def announce(_: FleetHost) -> None:
        await broadcast.updated(HOSTS_URI, "ollama://status")

    fleet = Fleet(hosts, on_change=announce)
    default = hosts[0]
    task_store: TaskStore = (
        shared.tasks(settings.pull_history)
        if shared is not None
        else FileTaskStore(TaskHistory(folder, settings.pull_history))
    )
    tasks = TaskManager(task_store)
    pacemaker = Pacemaker()
    try:
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(tasks.running())
            await stack.enter_async_context(pacemaker.running())
            for pulls in host_pulls.values():
                await stack.enter_async_context(pulls.running())
            await stack.enter_async_context(fleet.running())
            yield AppState(
                settings=settings,
                client=default.client,
                cache=cache,
                catalog=default.catalog,
                digests=digests,
                pulls=host_pulls[default.name],
                broadcast=broadcast,
                fleet=fleet,
                host_pulls=host_pulls,
                tasks=tasks,
                pacemaker=pacemaker,
                shared=shared,
            )
    finally:
        for host in hosts:
            await host.client.aclose()
        cache.close()
        digests.close()


def _pulls(
    client: OllamaClient,
    catalog: ModelCatalog,
    folder: Path,
    settings: Settings,
    broadcast: Broadcast,
    shared: SharedPulls | None,
) -> PullRegistry:
    return PullRegistry(
        open_stream=lambda name, insecure: client.pull_stream(name, insecure=insecure),
        on_end=catalog.invalidate,
        history=PullHistory(folder, settings.pull_history),
        broadcast=broadcast,
        shared=shared,
    )


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
