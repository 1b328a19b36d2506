"""The hosts of one server, whether each answers, and where a call goes.

Routing a model (generate, chat, embed, show) without a host named: a host where it is loaded,
else one where it is installed, else `ModelOnNoHost` naming the hosts that lack it; among equals,
the one with the fewest calls in flight from this server, then the first configured. What each
host has installed and loaded is a snapshot (`HostView`) read at most every `view_max_age`
seconds, from all hosts at once, so choosing a host costs a few dictionary lookups.

Faults: a host that fails to connect once is marked down, left out of routing and probed in the
background (`HEAD /`, one attempt, backoff doubling to `max_backoff`); the first answer marks it
up again. A call already on it fails with `HostDown`, naming it and what to do.

With one host configured nothing of this applies: every call goes to it, and its errors are
the client's own, as they were before there was a fleet.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import anyio
from anyio.abc import TaskGroup

from tools.api.client import OllamaClient
from tools.api.transport import without_connect_retries
from tools.api.types import ModelSummary, RunningModel
from tools.catalog.cache import Cached
from tools.catalog.model_catalog import ModelCatalog, model_key
from tools.errors import (
    AmbiguousHost,
    HostDown,
    InvalidArgument,
    ModelOnNoHost,
    OllamaError,
    OllamaUnavailable,
    StreamInterrupted,
    UnknownHost,
)
from tools.fleet.config import HostSpec
from tools.shared.suggest import did_you_mean

logger = logging.getLogger(__name__)

DEFAULT_VIEW_MAX_AGE = 2.0  # seconds a host's installed/loaded snapshot is trusted for routing
DEFAULT_FIRST_BACKOFF = 0.5
DEFAULT_MAX_BACKOFF = 30.0
OFFLINE_SOURCES = ("stale", "disk")  # answers a catalog gives when its Ollama did not answer


@dataclass
class HostView:
    """What a host had when last asked: installed model keys (to their digests), loaded keys."""

    installed: dict[str, str] = field(default_factory=dict)
    loaded: set[str] = field(default_factory=set)
    read_at: float = -math.inf


@dataclass(eq=False)
class FleetHost:
    spec: HostSpec
    client: OllamaClient
    catalog: ModelCatalog
    in_flight: int = 0  # calls from this server running on it now
    up: bool = True
    down_since: datetime | None = None
    last_error: str | None = None
    view: HostView = field(default_factory=HostView)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def url(self) -> str:
        return self.spec.url


@dataclass
class HostListing:
    """One host's part of the merged model list: its answer, or why there is none."""

    host: FleetHost
    found: Cached[list[ModelSummary]] | None
    error: OllamaError | None = None


class Fleet:
    def __init__(
        self,
        hosts: Sequence[FleetHost],
        *,
        view_max_age: float = DEFAULT_VIEW_MAX_AGE,
        first_backoff: float = DEFAULT_FIRST_BACKOFF,
        max_backoff: float = DEFAULT_MAX_BACKOFF,
        on_change: Callable[[FleetHost], Coroutine[Any, Any, None]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not hosts:
            raise InvalidArgument("a fleet needs at least one host")
        self.hosts = tuple(hosts)
        self._by_name = {host.name: host for host in self.hosts}
        self.default = self.hosts[0]
        self.several = len(self.hosts) > 1
        self.view_max_age = view_max_age
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self._on_change = on_change
        self._clock = clock
        self._group: TaskGroup | None = None
        self._changed = anyio.Event()

    @property
    def names(self) -> list[str]:
        return [host.name for host in self.hosts]

    def get(self, name: str) -> FleetHost:
        """The configured host of that name; `UnknownHost` (listing the names) otherwise."""
        host = self._by_name.get(name.strip())
        if host is None:
            raise UnknownHost(
                f"no host is named {name!r}{did_you_mean(name, self.names)}: the configured "
                f"hosts are {', '.join(self.names)} (hosts come only from --ollama-host or "
                "OLLAMA_MCP_HOSTS, never from a tool argument)"
            )
        return host

    # --- health ----------------------------------------------------------------------------

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Fleet]:
        """Background probes of down hosts run while this is open."""
        async with anyio.create_task_group() as group:
            self._group = group
            try:
                yield self
            finally:
                self._group = None
                group.cancel_scope.cancel()

    def mark_down(self, host: FleetHost, reason: str) -> None:
        if not host.up:
            return
        host.up = False
        host.down_since = datetime.now(UTC)
        host.last_error = reason
        host.view = HostView()
        logger.warning("Ollama host %s (%s) is down: %s", host.name, host.url, reason)
        if self._group is not None:
            self._group.start_soon(self._probe, host)
        self._tell(host)

    def saw_answer(self, host: FleetHost) -> None:
        """A call got an answer from `host`: if it was down, it is up again now."""
        if not host.up:
            self._mark_up(host)

    def _mark_up(self, host: FleetHost) -> None:
        host.client.forget_version()  # it may come back as another Ollama version
        host.up = True
        host.down_since = None
        host.last_error = None
        logger.warning("Ollama host %s (%s) answers again", host.name, host.url)
        self._tell(host)

    def _tell(self, host: FleetHost) -> None:
        changed, self._changed = self._changed, anyio.Event()
        changed.set()
        if self._on_change is not None and self._group is not None:
            self._group.start_soon(self._on_change, host)

    async def _probe(self, host: FleetHost) -> None:
        delay = self.first_backoff
        while not host.up:
            await anyio.sleep(delay)
            if await host.client.reachable():
                self._mark_up(host)
                return
            delay = min(delay * 2, self.max_backoff)

    async def wait_for(self, name: str, *, up: bool) -> FleetHost:
        """Return once host `name` is up (or down): the event the prober and routing set."""
        host = self.get(name)
        while host.up != up:
            await self._changed.wait()
        return host

    # --- where a call goes -----------------------------------------------------------------

    @asynccontextmanager
    async def routed(self, model: str, requested: str | None = None) -> AsyncIterator[FleetHost]:
        """The host for a call on `model` (see the module docstring), counted in flight while
        the block runs."""
        host = await self.route(model, requested)
        async with self.using(host):
            yield host
        if self.several:
            host.view.loaded.add(model_key(model))  # Ollama keeps what it just ran loaded

    @asynccontextmanager
    async def targeted(self, requested: str | None = None) -> AsyncIterator[FleetHost]:
        """The host a change is made on: the one named, else the default."""
        host = self._chosen(requested) if requested is not None else self.default
        async with self.using(host):
            yield host
        host.view.read_at = -math.inf  # what it has installed changed

    @asynccontextmanager
    async def using(self, host: FleetHost) -> AsyncIterator[FleetHost]:
        """Count a call in flight on `host`; with several hosts a connection that fails marks
        it down at once (no connect retries: the others can serve) and says so."""
        host.in_flight += 1
        try:
            with without_connect_retries() if self.several else nullcontext():
                yield host
        except HostDown:
            raise
        except OllamaUnavailable as exc:
            if not self.several:
                raise
            what = (
                f"its answer stopped after {exc.lines} line(s)"
                if isinstance(exc, StreamInterrupted)
                else "nothing answered"
            )
            self.mark_down(host, what)
            raise HostDown(
                host.name,
                host.url,
                f"host {host.name!r} ({host.url}) stopped answering ({what}): it is now marked "
                "down and left out of routing until it answers again; call again without host "
                f"to use another host, or start Ollama on {host.name}",
            ) from exc
        finally:
            host.in_flight -= 1

    async def route(self, model: str, requested: str | None = None) -> FleetHost:
        if requested is not None:
            return self._chosen(requested)
        if not self.several:
            return self.default
        key = model_key(model)
        await self.refresh_views()
        found = self._best(key)
        if found is None and any(h.up for h in self.hosts):
            await self.refresh_views(force=True)  # it may be newer than the snapshot
            found = self._best(key)
        if found is None:
            raise self._nowhere(model)
        return found

    def _chosen(self, name: str) -> FleetHost:
        host = self.get(name)
        if not host.up:
            since = f" since {host.down_since:%H:%M:%S} UTC" if host.down_since else ""
            raise HostDown(
                host.name,
                host.url,
                f"host {host.name!r} ({host.url}) is down (not answering{since}): omit host to "
                f"let the server choose, or start Ollama on {host.name}; it is used again as "
                "soon as it answers",
            )
        return host

    def _best(self, key: str) -> FleetHost | None:
        up = [h for h in self.hosts if h.up]
        candidates = [h for h in up if key in h.view.loaded] or [
            h for h in up if key in h.view.installed
        ]
        if not candidates:
            return None
        return min(candidates, key=lambda h: h.in_flight)  # min keeps the first among equals

    def _nowhere(self, model: str) -> ModelOnNoHost:
        lacking = [h.name for h in self.hosts if h.up]
        down = [h.name for h in self.hosts if not h.up]
        where = f"not installed on {', '.join(lacking)}" if lacking else "no host answers"
        note = f"; down now: {', '.join(down)}" if down else ""
        target = lacking[0] if lacking else self.default.name
        return ModelOnNoHost(
            model,
            f"model {model!r} is on no host that answers ({where}{note}): pull it where it "
            f'should run, e.g. pull_model name "{model.strip()}" host "{target}"',
        )

    def hosts_with(self, model: str) -> list[FleetHost]:
        """The up hosts whose snapshot lists `model` (read fresh first)."""
        key = model_key(model)
        return [h for h in self.hosts if h.up and key in h.view.installed]

    async def refuse_ambiguous(self, model: str, requested: str | None) -> None:
        """Refuse a change of `model` without a host when it is on several (delete_model)."""
        if requested is not None or not self.several:
            return
        await self.refresh_views(force=True)
        holders = self.hosts_with(model)
        if len(holders) > 1:
            names = ", ".join(h.name for h in holders)
            raise AmbiguousHost(
                f"model {model!r} is on several hosts ({names}): say which with host, e.g. "
                f'host "{holders[0].name}" (call once per host to change each)'
            )

    # --- snapshots ---------------------------------------------------------------------------

    async def refresh_views(self, *, force: bool = False) -> None:
        """Read what every up host has installed and loaded, at once, when older than
        `view_max_age` (or always, with `force`)."""
        now = self._clock()
        stale = [
            h for h in self.hosts if h.up and (force or now - h.view.read_at > self.view_max_age)
        ]
        if not stale:
            return
        async with anyio.create_task_group() as group:
            for host in stale:
                group.start_soon(self._refresh, host, force)

    async def _refresh(self, host: FleetHost, force: bool) -> None:
        listing = await self._listing(host, use_cache=not force)
        if listing.found is None or not host.up:
            return
        view = HostView(read_at=self._clock())
        view.installed = {_key_of(m.name): m.digest for m in listing.found.value}
        try:
            with without_connect_retries():
                running: list[RunningModel] = (await host.client.ps()).models
        except OllamaError:
            running = []
        view.loaded = {_key_of(m.name) for m in running}
        host.view = view

    async def list_models(self) -> list[HostListing]:
        """Every host's model list, asked at once; a host that does not answer is marked down
        and gives its cached list (or Ollama's folder, for a host on this machine)."""
        listings: list[HostListing | None] = [None] * len(self.hosts)

        async def one(index: int, host: FleetHost) -> None:
            listings[index] = await self._listing(host, use_cache=True)

        if not self.several:
            return [await self._listing(self.default, use_cache=True)]
        async with anyio.create_task_group() as group:
            for index, host in enumerate(self.hosts):
                group.start_soon(one, index, host)
        return [listing for listing in listings if listing is not None]

    async def _listing(self, host: FleetHost, *, use_cache: bool) -> HostListing:
        try:
            found = await host.catalog.list_models(use_cache=use_cache)
        except OllamaError as exc:
            if self.several and isinstance(exc, OllamaUnavailable):
                self.mark_down(host, "nothing answered")
            return HostListing(host, None, exc)
        if self.several and found.source in OFFLINE_SOURCES:
            self.mark_down(host, "nothing answered")
        return HostListing(host, found)


def _key_of(name: str) -> str:
    try:
        return model_key(name)
    except ValueError:
        return name.lower()
