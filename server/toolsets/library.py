"""The `library` toolset: the models Ollama recommends, marked installed or not, and how to get
each one. The list comes from the user's own Ollama (a built-in list, refreshed from ollama.com
by Ollama itself), so browsing sends nothing of the user's anywhere."""

from __future__ import annotations

from typing import Annotated, Literal

import mcp.types as types
from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

from server.progress import human_bytes
from server.results import tool_result
from server.state import AppState, app_state
from server.tools_api import LibraryModel, OllamaError, library_models

PULL_HINT = (
    "to get one, call pull_model with its name (or run `ollama pull NAME`); cloud models run "
    "on ollama.com and need `ollama signin`"
)


class LibraryEntry(BaseModel):
    name: str
    description: str
    runs_on: Literal["local", "cloud"]
    installed: bool
    installed_as: str | None = None
    context_length: int | None = None
    max_output_tokens: int | None = None
    vram_bytes: int | None = None
    required_plan: str | None = None
    pull: str  # the command that gets it


class Library(BaseModel):
    models: list[LibraryEntry]
    recommended: int  # how many Ollama recommends, before query and local_only
    installed_known: bool  # False: the installed list could not be read, none is marked
    how_to_pull: str = PULL_HINT


async def library(state: AppState, query: str | None = None, local_only: bool = False) -> Library:
    """The recommendations read against the installed models (the cached list)."""
    recommendations = (await state.client.model_recommendations()).recommendations
    try:
        installed = [m.name for m in (await state.catalog.list_models()).value]
        known = True
    except OllamaError:
        installed, known = [], False
    chosen = library_models(recommendations, installed, query=query, local_only=local_only)
    return Library(
        models=[_entry(m) for m in chosen],
        recommended=len(recommendations),
        installed_known=known,
    )


def _entry(model: LibraryModel) -> LibraryEntry:
    return LibraryEntry(
        name=model.name,
        description=model.description,
        runs_on=model.runs_on,
        installed=model.installed,
        installed_as=model.installed_as,
        context_length=model.context_length,
        max_output_tokens=model.max_output_tokens,
        vram_bytes=model.vram_bytes,
        required_plan=model.required_plan,
        pull=model.pull_command,
    )


def _line(entry: LibraryEntry) -> str:
    facts: list[str] = [entry.runs_on]
    if entry.vram_bytes:
        facts.append(f"needs {human_bytes(entry.vram_bytes)} VRAM")
    if entry.context_length:
        facts.append(f"context {entry.context_length:,}")
    if entry.required_plan:
        facts.append(f"plan {entry.required_plan}")
    facts.append(f"installed as {entry.installed_as}" if entry.installed_as else "not installed")
    return f"{entry.name}  {'; '.join(facts)}  - {entry.description}"


async def browse_library(
    ctx: Context,
    query: Annotated[str | None, Field(description="Words to match in name or description")] = None,
    local_only: Annotated[bool, Field(description="Leave out cloud models")] = False,
) -> Annotated[types.CallToolResult, Library]:
    result = await library(app_state(ctx), query, local_only)
    installed = sum(1 for m in result.models if m.installed)
    if result.models:
        shown = f"{len(result.models)} of {result.recommended}"
        head = f"{shown} recommended model(s), {installed} installed"
    else:
        wanted = [f"matches {query!r}" if query else "", "runs locally" if local_only else ""]
        head = f"none of the {result.recommended} recommended models " + (
            " and ".join(w for w in wanted if w) or "is listed"
        )
    if not result.installed_known:
        head += " (the installed models could not be read: none is marked)"
    lines = [head, *(_line(m) for m in result.models), result.how_to_pull]
    return tool_result("\n".join(lines), result)
