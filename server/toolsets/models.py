"""The `models` toolset: what is installed and running, copy, delete, and the server's status."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import mcp.types as types
from mcp.server.mcpserver import Context, Resolve
from pydantic import BaseModel, Field

from server.changes import changing
from server.confirm import (
    Answer,
    confirm_copy,
    confirm_delete,
    confirmation_line,
    go_ahead,
    not_deleted,
    not_replaced,
)
from server.hosts import requested_host, routed, targeted
from server.notifications import announce_model_changes
from server.progress import human_bytes
from server.results import tool_result
from server.roots import allowed_roots, roots_always
from server.state import AppState, app_state
from server.tools_api import (
    AnswerSource,
    Cached,
    CloudStatus,
    FleetHost,
    ModelSummary,
    OllamaError,
    RunningModel,
    ShowResponse,
    from_show,
    render,
    show_parameter_texts,
    without_connect_retries,
)

Include = Literal["template", "license", "modelfile", "model_info"]
ModelName = Annotated[str, Field(description="e.g. llama3.2:3b")]


# --- output models -------------------------------------------------------------------------


class ModelEntry(BaseModel):
    name: str
    size: int
    family: str = ""
    parameter_size: str = ""
    quantization: str = ""
    modified_at: datetime | None = None
    digest: str = ""


class ModelList(BaseModel):
    models: list[ModelEntry]
    source: AnswerSource  # live, cache, stale (Ollama unreachable) or disk (read offline)
    cached_at: datetime | None = None


class ModelDetails(BaseModel):
    name: str
    family: str = ""
    families: list[str] | None = None
    format: str = ""
    parameter_size: str = ""
    quantization: str = ""
    context_length: int | None = None
    embedding_length: int | None = None
    capabilities: list[str] = Field(default_factory=list)
    parameters: dict[str, list[str]] = Field(default_factory=dict)
    system: str = ""
    modified_at: datetime | None = None
    source: AnswerSource
    cached_at: datetime | None = None
    template: str | None = None
    license: str | None = None
    modelfile: str | None = None
    model_info: dict[str, Any] | None = None


class RunningEntry(BaseModel):
    name: str
    size: int
    size_vram: int
    expires_at: datetime | None = None
    context_length: int | None = None
    parameter_size: str = ""
    quantization: str = ""


class RunningList(BaseModel):
    models: list[RunningEntry]


class Changed(BaseModel):
    model: str
    action: Literal["copied", "deleted"]
    source: str | None = None


class Status(BaseModel):
    reachable: bool
    version: str | None = None
    base_url: str
    model_count: int | None = None
    models_source: AnswerSource | None = None
    cache_dir: str
    cache_state: str
    allowed_roots: list[str]
    read_only: bool
    toolsets: list[str]
    push_enabled: bool
    confirm_changes: bool  # asks the person before a delete or a replacement (see confirm.py)
    error: str | None = None
    # From /api/status; None when not reported (Ollama before 0.16.2, or unreachable).
    cloud_disabled: bool | None = None
    cloud_disabled_by: str | None = None  # env (OLLAMA_NO_CLOUD), config (server.json), both
    shared_state: str | None = None  # with --state-url: the Redis replicas share, and its health


# --- shared with the resources ---------------------------------------------------------------


def model_list(found: Cached[list[ModelSummary]]) -> ModelList:
    return ModelList(
        models=[entry_of(m) for m in found.value], source=found.source, cached_at=found.cached_at
    )


def entry_of(m: ModelSummary) -> ModelEntry:
    return ModelEntry(
        name=m.name,
        size=m.size,
        family=m.details.family,
        parameter_size=m.details.parameter_size,
        quantization=m.details.quantization_level,
        modified_at=m.modified_at,
        digest=m.digest,
    )


async def model_details(
    state: AppState, name: str, include: list[Include], on: FleetHost | None = None
) -> ModelDetails:
    """`on`: the host to ask (default: the default host)."""
    found = await (on or state).catalog.get_model_metadata(name)
    show = found.value
    info = show.model_info
    return ModelDetails(
        name=name,
        family=show.details.family,
        families=show.details.families,
        format=show.details.format,
        parameter_size=show.details.parameter_size,
        quantization=show.details.quantization_level,
        context_length=_info_int(info, "context_length") or show.details.context_length,
        embedding_length=_info_int(info, "embedding_length") or show.details.embedding_length,
        capabilities=show.capabilities or [],
        parameters=_parameters(show.parameters),
        system=show.system,
        modified_at=show.modified_at,
        source=found.source,
        cached_at=found.cached_at,
        template=show.template if "template" in include else None,
        license=show.license if "license" in include else None,
        modelfile=modelfile_text(show, name) if "modelfile" in include else None,
        model_info=info if "model_info" in include else None,
    )


def modelfile_text(show: ShowResponse, name: str) -> str:
    """A Modelfile that starts a new model from the installed one (FROM its name)."""
    return render(from_show(show.model_dump(mode="json"), name))


def _info_int(info: dict[str, Any], suffix: str) -> int | None:
    for key, value in info.items():
        if key.endswith(f".{suffix}") and isinstance(value, int):
            return value
    return None


def _parameters(shown: str) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, text in show_parameter_texts(shown):
        grouped.setdefault(name, []).append(text)
    return grouped


async def running_list(state: AppState) -> RunningList:
    running = (await state.client.ps()).models
    return RunningList(models=[running_entry(m) for m in running])


def running_entry(m: RunningModel) -> RunningEntry:
    return RunningEntry(
        name=m.name,
        size=m.size,
        size_vram=m.size_vram,
        expires_at=m.expires_at,
        context_length=m.context_length,
        parameter_size=m.details.parameter_size,
        quantization=m.details.quantization_level,
    )


async def status(state: AppState, roots: list[Path]) -> Status:
    settings = state.settings
    cache_path = state.cache.path
    common: dict[str, Any] = {
        "base_url": str(state.client.base_url),
        "cache_dir": str(cache_path.parent),
        "cache_state": _cache_state(state),
        "allowed_roots": [str(r) for r in roots],
        "read_only": settings.read_only,
        "toolsets": list(settings.toolsets),
        "push_enabled": settings.allow_push,
        "confirm_changes": not settings.no_confirm,
        "shared_state": await state.shared.describe() if state.shared else None,
    }
    try:
        with without_connect_retries():  # "is it up?" is answered by one attempt
            version = await state.client.version()
    except OllamaError as exc:
        listed = await _offline_list(state)
        return Status(
            reachable=False,
            error=str(exc),
            model_count=len(listed.value) if listed else None,
            models_source=listed.source if listed else None,
            **common,
        )
    found = await state.catalog.list_models()
    cloud = await _cloud(state)
    return Status(
        reachable=True,
        version=version,
        model_count=len(found.value),
        models_source=found.source,
        cloud_disabled=cloud.disabled if cloud else None,
        cloud_disabled_by=cloud.source if cloud and cloud.disabled else None,
        **common,
    )


def _cache_state(state: AppState) -> str:
    if state.shared is not None:
        return "metadata in Redis, shared by the replicas"
    return "in use" if state.cache.path.exists() else "empty (created on first use)"


async def _cloud(state: AppState) -> CloudStatus | None:
    """Ollama's cloud switch; None from a server too old to say (404) or one that failed."""
    try:
        return (await state.client.cloud_status()).cloud
    except OllamaError:
        return None


async def _offline_list(state: AppState) -> Cached[list[ModelSummary]] | None:
    try:
        return await state.catalog.list_models()
    except OllamaError:
        return None


# --- tools -----------------------------------------------------------------------------------


async def list_models(ctx: Context) -> Annotated[types.CallToolResult, ModelList]:
    result = model_list(await app_state(ctx).catalog.list_models())
    lines = [
        f"{m.name}  {human_bytes(m.size)}  {m.family} {m.parameter_size} {m.quantization}".rstrip()
        for m in result.models
    ]
    head = f"{len(lines)} model(s) installed{_provenance(result.source, result.cached_at)}"
    return tool_result("\n".join([head, *lines]), result)


async def show_model(
    name: ModelName,
    ctx: Context,
    include: Annotated[list[Include] | None, Field(description="Long texts to add")] = None,
) -> Annotated[types.CallToolResult, ModelDetails]:
    state = app_state(ctx)
    async with routed(state, name) as host:
        details = await model_details(state, name, include or [], host)
    parts = [
        f"{details.name}: {details.family} {details.parameter_size} {details.quantization}",
        f"capabilities: {', '.join(details.capabilities) or 'none listed'}",
        f"context length: {details.context_length or 'unknown'}",
    ]
    if details.parameters:
        params = ", ".join(f"{k}={' '.join(v)}" for k, v in details.parameters.items())
        parts.append(f"parameters: {params}")
    if details.system:
        parts.append(f"system: {details.system}")
    for field in ("template", "license", "modelfile"):
        text = getattr(details, field)
        if text is not None:
            parts.append(f"{field}:\n{text}")
    provenance = _provenance(details.source, details.cached_at).strip()
    if provenance:
        parts.append(provenance)
    whole = "or read the resource ollama://models/{name}, or ask for one include at a time"
    return tool_result("\n".join(parts), details, whole=whole.format(name=name))


async def list_running(ctx: Context) -> Annotated[types.CallToolResult, RunningList]:
    result = await running_list(app_state(ctx))
    lines = [
        f"{m.name}  {human_bytes(m.size_vram)} VRAM  context {m.context_length or '?'}  "
        f"until {m.expires_at.isoformat() if m.expires_at else '?'}"
        for m in result.models
    ]
    return tool_result("\n".join([f"{len(lines)} model(s) loaded", *lines]), result)


async def copy_model(
    source: Annotated[str, Field(description="Installed model")],
    destination: str,
    ctx: Context,
    answer: Annotated[Answer, Resolve(confirm_copy)],
) -> Annotated[types.CallToolResult, Changed]:
    go_ahead(answer, not_replaced(destination))
    state = app_state(ctx)
    async with targeted(state) as host, changing(host, destination):
        await host.client.copy(source, destination)
    await announce_model_changes(ctx, destination)
    return tool_result(
        f"copied {source} to {destination}",
        Changed(model=destination, action="copied", source=source),
    )


async def delete_model(
    name: ModelName, ctx: Context, answer: Annotated[Answer, Resolve(confirm_delete)]
) -> Annotated[types.CallToolResult, Changed]:
    go_ahead(answer, not_deleted(name))
    state = app_state(ctx)
    await state.fleet.refuse_ambiguous(name, requested_host())
    async with targeted(state) as host, changing(host, name):
        await host.client.delete(name)
    await announce_model_changes(ctx, name)
    return tool_result(f"deleted {name}", Changed(model=name, action="deleted"))


async def ollama_status(
    ctx: Context, roots: Annotated[types.ListRootsResult, Resolve(roots_always)]
) -> Annotated[types.CallToolResult, Status]:
    state = app_state(ctx)
    gate = allowed_roots(state.settings.allow_dirs, roots)
    result = await status(state, list(gate.roots))
    if result.reachable:
        head = f"Ollama {result.version} at {result.base_url}: {result.model_count} model(s)"
    else:
        known = f"; {result.model_count} model(s) known ({result.models_source})"
        head = f"Ollama unreachable at {result.base_url}{known if result.model_count else ''}"
    lines = [
        head,
        f"cache: {result.cache_dir} ({result.cache_state})",
        *([f"shared state: {result.shared_state}"] if result.shared_state else []),
        f"allowed folders: {', '.join(result.allowed_roots) or 'none'}",
        f"read-only: {'yes' if result.read_only else 'no'}; "
        f"toolsets: {', '.join(result.toolsets)}; push: {'on' if result.push_enabled else 'off'}",
        confirmation_line(ctx),
    ]
    if result.cloud_disabled is not None:
        by = f" by {result.cloud_disabled_by}" if result.cloud_disabled_by else ""
        lines.append(f"Ollama cloud: {f'disabled{by}' if result.cloud_disabled else 'enabled'}")
    elif result.reachable:
        lines.append("Ollama cloud: not reported (Ollama 0.16.2 or newer reports it)")
    return tool_result("\n".join(lines), result)


def _provenance(source: AnswerSource, cached_at: datetime | None) -> str:
    when = f" of {cached_at.isoformat(timespec='seconds')}" if cached_at else ""
    if source == "stale":
        return f" (Ollama unreachable: cached answer{when}, may be out of date)"
    if source == "disk":
        return " (Ollama unreachable: read from its model folder)"
    return " (cached)" if source == "cache" else ""  # a live answer needs no remark
