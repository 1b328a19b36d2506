"""`library_view`, the one tool only the App calls (visibility `app`): in one round trip, what
the page shows beside the answer that opened it (installed models with their context length,
models loaded now, pulls, the last packaging report) and which of its buttons this server
offers. With several hosts it says which host has each model, runs each loaded model and makes
each pull, so that the page names the host in every call it makes. Every button still calls the
model-visible tool it stands for (`pull_model`, `cancel_pull`, `delete_model`), so read-only
mode, toolsets and `--allow-push` decide what the App may do by the one predicate in
`server.registry`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated

import anyio
import mcp.types as types
from mcp.server.mcpserver import Context
from pydantic import BaseModel

from server.confirm import asks
from server.pull_records import PullRecord
from server.registry import TOOLS, ToolSpec, offered
from server.results import tool_result
from server.settings import Settings
from server.state import AppState, app_state
from server.tools_api import AnswerSource, FleetHost, OllamaError
from server.toolsets.hosts import HostAnswer, hosted_list, running_on_hosts
from server.toolsets.models import ModelEntry, RunningEntry, model_details, model_list, running_list
from server.toolsets.packaging import Packaged

SHOW_CONCURRENCY = 4  # /api/show calls at once for the context lengths (each cached afterwards)


class InstalledModel(ModelEntry):
    context_length: int | None = None
    hosts: list[str] | None = None  # several hosts: the ones that have it
    digests_agree: bool | None = None  # several hosts: false when they hold different builds


class RunningOnHost(RunningEntry):
    host: str | None = None  # several hosts: the one it is loaded on


class PullOnHost(PullRecord):
    host: str | None = None  # several hosts: the one pulling


class Actions(BaseModel):
    """Which buttons the page shows: each true when the tool behind it is offered."""

    pull: bool
    cancel_pull: bool
    delete: bool
    browse: bool
    push: bool  # --allow-push
    # The server asks the person itself before delete_model (this client has elicitation): the
    # page does not ask a second time.
    delete_asks: bool = False


class PackagedOnHost(Packaged):
    host: str | None = None  # several hosts: the one it was created on


class LibraryView(BaseModel):
    installed: list[InstalledModel] | None  # None: list_models is not offered
    source: AnswerSource | None = None  # one host (several: each in `hosts`)
    cached_at: datetime | None = None
    running: list[RunningOnHost] | None  # None: not offered, or Ollama did not answer
    pulls: list[PullOnHost] | None  # None: pull_status is not offered
    hosts: list[HostAnswer] | None = None  # several hosts: each one's answer, the default first
    last_package: PackagedOnHost | None = None  # this process's last package_adapter result
    actions: Actions


def is_offered(name: str, settings: Settings) -> bool:
    spec: ToolSpec = next(s for s in TOOLS if s.name == name)
    return offered(spec, settings)


def actions(settings: Settings) -> Actions:
    return Actions(
        pull=is_offered("pull_model", settings),
        cancel_pull=is_offered("cancel_pull", settings),
        delete=is_offered("delete_model", settings),
        browse=is_offered("browse_library", settings),
        push=is_offered("push_model", settings),
    )


class Installed(BaseModel):
    models: list[InstalledModel]
    source: AnswerSource | None = None
    cached_at: datetime | None = None
    hosts: list[HostAnswer] | None = None


async def installed(state: AppState) -> Installed:
    """The installed models with their context lengths (from /api/show, on a host that has
    each); with several hosts, the merged list of `list_models`."""
    if state.fleet.several:
        merged = hosted_list(await state.fleet.list_models())
        where: dict[str, FleetHost | None] = {
            m.name: state.fleet.get(m.hosts[0]) for m in merged.models
        }
        lengths = await context_lengths(state, where)
        models = [
            InstalledModel(**m.model_dump(), context_length=lengths.get(m.name))
            for m in merged.models
        ]
        return Installed(models=models, hosts=merged.hosts)
    listed = model_list(await state.catalog.list_models())
    lengths = await context_lengths(state, {m.name: None for m in listed.models})
    models = [
        InstalledModel(**m.model_dump(), context_length=lengths.get(m.name)) for m in listed.models
    ]
    return Installed(models=models, source=listed.source, cached_at=listed.cached_at)


async def context_lengths(
    state: AppState, where: dict[str, FleetHost | None]
) -> dict[str, int | None]:
    lengths: dict[str, int | None] = {}
    limiter = anyio.Semaphore(SHOW_CONCURRENCY)

    async def context_length(name: str, host: FleetHost | None) -> None:
        async with limiter:
            try:
                lengths[name] = (await model_details(state, name, [], host)).context_length
            except OllamaError:
                lengths[name] = None  # the table shows "?"; the list itself still stands

    async with anyio.create_task_group() as group:
        for name, host in where.items():
            group.start_soon(context_length, name, host)
    return lengths


async def running(state: AppState) -> list[RunningOnHost] | None:
    if state.fleet.several:  # a host that does not answer shows as down in `hosts`
        on_hosts = (await running_on_hosts(state)).hosts
        return [
            RunningOnHost(**m.model_dump(), host=each.host)
            for each in on_hosts
            for m in each.models
        ]
    try:
        return [RunningOnHost(**m.model_dump()) for m in (await running_list(state)).models]
    except OllamaError:
        return None


async def pulls(state: AppState) -> list[PullOnHost]:
    """Every host's pulls, as `pull_status` without a host gives them, each with its host."""
    named = state.fleet.several
    return [
        PullOnHost(**record.model_dump(), host=name if named else None)
        for name, registry in state.host_pulls.items()
        for record in await registry.records()
    ]


async def view(state: AppState, last_package: PackagedOnHost | None) -> LibraryView:
    settings = state.settings
    found = await installed(state) if is_offered("list_models", settings) else None
    return LibraryView(
        installed=found.models if found else None,
        source=found.source if found else None,
        cached_at=found.cached_at if found else None,
        hosts=found.hosts if found else None,
        running=await running(state) if is_offered("list_running", settings) else None,
        pulls=await pulls(state) if is_offered("pull_status", settings) else None,
        last_package=last_package,
        actions=actions(settings),
    )


ViewTool = Callable[[Context], Awaitable[types.CallToolResult]]


def library_view_tool(last_package: LastPackage) -> ViewTool:
    async def library_view(ctx: Context) -> Annotated[types.CallToolResult, LibraryView]:
        result = await view(app_state(ctx), last_package.report)
        result.actions.delete_asks = result.actions.delete and asks(ctx)
        count = "?" if result.installed is None else str(len(result.installed))
        return tool_result(f"the model library App's view: {count} model(s) installed", result)

    return library_view


class LastPackage:
    """The last `package_adapter` result in this process (the App's packaging section)."""

    def __init__(self) -> None:
        self.report: PackagedOnHost | None = None
