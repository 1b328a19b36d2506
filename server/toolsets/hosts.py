"""With several Ollama hosts: the merged model list, what each host has loaded, each host's
status, and `ollama://hosts`. These replace `list_models`, `list_running` and `ollama_status`
(same names, same arguments) when more than one host is configured; with one host the tools of
`server.toolsets.models` answer as they always did."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import anyio
import mcp.types as types
from mcp.server.mcpserver import Context, Resolve
from pydantic import BaseModel

from server.confirm import confirmation_line
from server.progress import human_bytes
from server.results import tool_result
from server.roots import allowed_roots, roots_always
from server.state import AppState, app_state
from server.tools_api import (
    AnswerSource,
    FleetHost,
    HostListing,
    OllamaError,
    merge_lists,
    without_connect_retries,
)
from server.toolsets.models import (
    ModelEntry,
    RunningEntry,
    Status,
    entry_of,
    running_entry,
    status,
)


class HostedModel(ModelEntry):
    hosts: list[str]
    digests_agree: bool


class HostAnswer(BaseModel):
    host: str
    reachable: bool  # False: marked down (its part of the list is what was last known)
    source: AnswerSource | None = None  # None: no answer and nothing cached
    cached_at: datetime | None = None
    error: str | None = None


class HostedModelList(BaseModel):
    models: list[HostedModel]
    hosts: list[HostAnswer]


class HostRunning(BaseModel):
    host: str
    reachable: bool
    models: list[RunningEntry]
    error: str | None = None


class RunningOnHosts(BaseModel):
    hosts: list[HostRunning]


class HostInfo(BaseModel):
    name: str
    base_url: str
    default: bool
    reachable: bool
    version: str | None = None
    model_count: int | None = None
    models_source: AnswerSource | None = None
    loaded: list[str] = []
    vram_bytes: int = 0
    in_flight: int = 0
    down_since: datetime | None = None
    error: str | None = None


class HostsReport(BaseModel):
    hosts: list[HostInfo]


class StatusOnHosts(HostsReport):
    default: Status  # the default host's status, with the server's own settings


# --- shared with the resources ---------------------------------------------------------------


def hosted_list(listings: list[HostListing]) -> HostedModelList:
    merged = merge_lists([(x.host.name, x.found.value) for x in listings if x.found is not None])
    return HostedModelList(
        models=[
            HostedModel(
                **entry_of(m.summary).model_dump(), hosts=m.hosts, digests_agree=m.digests_agree
            )
            for m in merged
        ],
        hosts=[
            HostAnswer(
                host=x.host.name,
                reachable=x.host.up and x.error is None,
                source=x.found.source if x.found else None,
                cached_at=x.found.cached_at if x.found else None,
                error=str(x.error) if x.error else None,
            )
            for x in listings
        ],
    )


async def gather(state: AppState, each: Any) -> list[Any]:
    """`each(host)` for every host at once, in configured order."""
    hosts = state.fleet.hosts
    answers: list[Any] = [None] * len(hosts)

    async def one(index: int, host: FleetHost) -> None:
        answers[index] = await each(host)

    async with anyio.create_task_group() as group:
        for index, host in enumerate(hosts):
            group.start_soon(one, index, host)
    return answers


async def running_on_hosts(state: AppState) -> RunningOnHosts:
    async def one(host: FleetHost) -> HostRunning:
        if not host.up:
            return HostRunning(host=host.name, reachable=False, models=[], error=_down(host))
        try:
            async with state.fleet.using(host):
                running = (await host.client.ps()).models
        except OllamaError as exc:
            return HostRunning(host=host.name, reachable=False, models=[], error=str(exc))
        return HostRunning(
            host=host.name, reachable=True, models=[running_entry(m) for m in running]
        )

    return RunningOnHosts(hosts=await gather(state, one))


async def hosts_report(state: AppState) -> HostsReport:
    fleet = state.fleet

    async def one(host: FleetHost) -> HostInfo:
        common: dict[str, Any] = {
            "name": host.name,
            "base_url": host.url,
            "default": host is fleet.default,
            "in_flight": host.in_flight,
        }
        try:
            with without_connect_retries():  # "is it up?" is answered by one attempt
                version = await host.client.version()
                running = (await host.client.ps()).models
        except OllamaError as exc:
            if fleet.several:
                fleet.mark_down(host, "nothing answered")
            known = await _offline_count(host)
            return HostInfo(
                reachable=False,
                model_count=known[0],
                models_source=known[1],
                down_since=host.down_since,
                error=str(exc),
                **common,
            )
        fleet.saw_answer(host)
        try:
            found = await host.catalog.list_models()
            count, source = len(found.value), found.source
        except OllamaError:
            count, source = None, None
        return HostInfo(
            reachable=True,
            version=version,
            model_count=count,
            models_source=source,
            loaded=[m.name for m in running],
            vram_bytes=sum(m.size_vram for m in running),
            **common,
        )

    return HostsReport(hosts=await gather(state, one))


async def _offline_count(host: FleetHost) -> tuple[int | None, AnswerSource | None]:
    try:
        found = await host.catalog.list_models()
    except OllamaError:
        return None, None
    return len(found.value), found.source


def _down(host: FleetHost) -> str:
    since = f" since {host.down_since:%H:%M:%S} UTC" if host.down_since else ""
    return f"down{since} ({host.last_error or 'not answering'}); probed in the background"


def describe_host(info: HostInfo) -> str:
    mark = " (default)" if info.default else ""
    if not info.reachable:
        known = f"; {info.model_count} model(s) known ({info.models_source})"
        return f"{info.name}{mark}: unreachable at {info.base_url}" + (
            known if info.model_count else ""
        )
    loaded = ", ".join(info.loaded) or "none"
    return (
        f"{info.name}{mark}: Ollama {info.version} at {info.base_url}, {info.model_count} "
        f"model(s), loaded: {loaded} ({human_bytes(info.vram_bytes)} VRAM)"
    )


# --- tools -----------------------------------------------------------------------------------


async def list_models(ctx: Context) -> Annotated[types.CallToolResult, HostedModelList]:
    state = app_state(ctx)
    result = hosted_list(await state.fleet.list_models())
    lines = [
        f"{m.name}  {human_bytes(m.size)}  {m.family} {m.parameter_size} {m.quantization}".rstrip()
        + f"  on {', '.join(m.hosts)}"
        + ("" if m.digests_agree else " (different builds: digests differ)")
        for m in result.models
    ]
    notes = [
        f"{h.host}: {h.error or 'no answer'}"
        if h.source is None
        else f"{h.host}: unreachable, models as last known ({h.source})"
        for h in result.hosts
        if not h.reachable
    ]
    head = f"{len(lines)} model(s) on {len(result.hosts)} hosts"
    return tool_result("\n".join([head, *lines, *notes]), result)


async def list_running(ctx: Context) -> Annotated[types.CallToolResult, RunningOnHosts]:
    result = await running_on_hosts(app_state(ctx))
    lines: list[str] = []
    for host in result.hosts:
        if not host.reachable:
            lines.append(f"{host.host}: unreachable ({host.error})")
            continue
        lines.append(f"{host.host}: {len(host.models)} model(s) loaded")
        lines.extend(
            f"  {m.name}  {human_bytes(m.size_vram)} VRAM  context {m.context_length or '?'}  "
            f"until {m.expires_at.isoformat() if m.expires_at else '?'}"
            for m in host.models
        )
    return tool_result("\n".join(lines), result)


async def ollama_status(
    ctx: Context, roots: Annotated[types.ListRootsResult, Resolve(roots_always)]
) -> Annotated[types.CallToolResult, StatusOnHosts]:
    state = app_state(ctx)
    gate = allowed_roots(state.settings.allow_dirs, roots)
    result = await status_on_hosts(state, list(gate.roots))
    default = result.default
    lines = [
        *(describe_host(info) for info in result.hosts),
        f"cache: {default.cache_dir} ({default.cache_state})",
        f"allowed folders: {', '.join(default.allowed_roots) or 'none'}",
        f"read-only: {'yes' if default.read_only else 'no'}; "
        f"toolsets: {', '.join(default.toolsets)}; push: {'on' if default.push_enabled else 'off'}",
        confirmation_line(ctx),
    ]
    return tool_result("\n".join(lines), result)


async def status_on_hosts(state: AppState, roots: list[Path]) -> StatusOnHosts:
    report = await hosts_report(state)
    return StatusOnHosts(hosts=report.hosts, default=await status(state, roots))
