"""Asking the person before a call destroys a model: whether to ask, what, and what the answer
means.

Where the client declared (form) elicitation, `delete_model` asks before it deletes, and
`create_model`, `copy_model` and `package_adapter` ask when their target name is already installed
on the target host (they would replace that model). The question is a yes/no form that says what
would be lost, its size from the host's model list (the catalog: cached for seconds, one quick
`/api/tags` at most, without retries, and read from the cache or Ollama's folder when Ollama is
down). However long that takes, a 2026-07-28 call still asks as a plain call: it becomes a task
only once its body began (`server/tasks`).

The questions ride the SDK's portable resolvers (`Annotated[Answer, Resolve(...)]`): on 2026-07-28
an `InputRequiredResult` the client answers by retrying, on the handshake era an
`elicitation/create` request; resolved parameters are left out of the published input schema. A
resolver that needs no question returns `PROCEED`, a plain value: nothing is asked (a client
without elicitation, `--no-confirm`, a new name, or a call that will fail before it changes
anything). Like those in `roots.py` they are `async def`, so they run on the event loop.

An answer other than "yes" (declined, cancelled, or accepted with "no") ends the call with a tool
error before anything reaches Ollama; its text tells the model not to retry on its own.

Resolvers run before `with_host_argument` sets the call's host, so they read the `host` argument
from the call itself (`host_argument`); a host the fleet does not know, or one that is down, gets
no question: the call then fails as it always has, having changed nothing.
"""

from __future__ import annotations

from mcp.server.mcpserver import AcceptedElicitation, Context, Elicit, ElicitationResult
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from server.arguments import refused_before_it_runs
from server.hosts import host_argument
from server.progress import human_bytes
from server.state import app_state
from server.tools_api import (
    FleetHost,
    InvalidInput,
    ModelNotFound,
    ModelSummary,
    OllamaError,
)


# The one field of every question: yes goes ahead, no (the default) changes nothing. (No
# docstring: on the handshake era the SDK would show it to the person as the form's description.)
class Confirm(BaseModel):
    confirm: bool = Field(
        default=False,
        title="Go ahead",
        description="Yes to go ahead; no leaves everything as it is",
    )


Answer = ElicitationResult[Confirm]
PROCEED = Confirm(confirm=True)  # a resolver's plain answer: no question needed, go ahead
Question = Elicit[Confirm] | Confirm


def client_can_be_asked(ctx: Context) -> bool:
    """Form elicitation declared (a bare `elicitation: {}` means form, as the SDK reads it)."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


def asks(ctx: Context) -> bool:
    """Whether this client's person is asked (the model library App then does not ask again)."""
    return client_can_be_asked(ctx) and not app_state(ctx).settings.no_confirm


def _may_ask(ctx: Context) -> bool:
    """Asking, and the call will run: one naming an unknown argument is refused unasked."""
    return asks(ctx) and not refused_before_it_runs()


def _target(ctx: Context) -> FleetHost | None:
    """The host the change will be made on, as `targeted` will choose it; None when the call
    will be refused for its host (unknown or down)."""
    fleet = app_state(ctx).fleet
    named = host_argument(ctx) if fleet.several else None
    if named is None:
        return fleet.default
    try:
        host = fleet.get(named)
    except InvalidInput:
        return None
    return host if host.up else None


def _where(ctx: Context, host: FleetHost, preposition: str) -> str:
    """` from gpu` / ` on gpu` with several hosts; with one, the host goes without saying."""
    return f" {preposition} {host.name}" if app_state(ctx).fleet.several else ""


async def _installed(host: FleetHost, name: str) -> ModelSummary | None:
    """`name`'s list entry on `host`; None when the list (live, cached, or read offline) lacks
    it. Raises `OllamaError` when nothing can tell, `InvalidInput` for a name Ollama refuses."""
    try:
        return (await host.catalog.find_model(name)).value
    except ModelNotFound:
        return None


async def confirm_delete(ctx: Context, name: str) -> Question:
    """delete_model: always asked, with the size when the list has it."""
    if not _may_ask(ctx):
        return PROCEED
    host = _target(ctx)
    if host is None:
        return PROCEED
    fleet = app_state(ctx).fleet
    if fleet.several and host_argument(ctx) is None:
        try:
            await fleet.refresh_views()  # the snapshot routing keeps: usually no request
            if len(fleet.hosts_with(name)) > 1:
                return PROCEED  # refused as ambiguous before anything is deleted
        except InvalidInput:
            return PROCEED
    try:
        found = await _installed(host, name)
    except InvalidInput:
        return PROCEED  # refused as an invalid name before anything is sent
    except OllamaError:
        # Cannot tell whether it is there: ask anyway, without a size.
        return Elicit(f"Delete {name}{_where(ctx, host, 'from')}? (its size is unknown)", Confirm)
    if found is None:
        return PROCEED  # not installed: the call fails as it always has, nothing to lose
    return Elicit(
        f"Delete {found.name} ({human_bytes(found.size)}){_where(ctx, host, 'from')}?", Confirm
    )


async def _replace(
    ctx: Context, name: str, by: str, *, unless_missing: str | None = None
) -> Question:
    """Asked only when `name` is installed on the target host (it would be replaced). When
    nothing can tell, not asked: the call fails as it always has, or makes a new model."""
    if not _may_ask(ctx):
        return PROCEED
    host = _target(ctx)
    if host is None:
        return PROCEED
    try:
        found = await _installed(host, name)
        if found is None:
            return PROCEED
        if unless_missing is not None and await _installed(host, unless_missing) is None:
            return PROCEED  # copy_model of a model that is not there fails, replacing nothing
    except (InvalidInput, OllamaError):
        return PROCEED
    return Elicit(
        f"Replace the existing model {found.name} ({human_bytes(found.size)})"
        f"{_where(ctx, host, 'on')} with {by}?",
        Confirm,
    )


async def confirm_create(ctx: Context, name: str) -> Question:
    """create_model over an installed name."""
    return await _replace(ctx, name, "a new one")


async def confirm_copy(ctx: Context, source: str, destination: str) -> Question:
    """copy_model onto an installed name."""
    return await _replace(ctx, destination, f"a copy of {source}", unless_missing=source)


async def confirm_package(ctx: Context, name: str, path: str, push: bool = False) -> Question:
    """package_adapter over an installed name (a push refused for --allow-push is not asked)."""
    if push and not app_state(ctx).settings.allow_push:
        return PROCEED
    return await _replace(ctx, name, f"a new one built from the adapter {path}")


def not_deleted(name: str) -> str:
    return (
        f"not deleted: the person declined deleting {name}; nothing was changed. Do not try "
        "again on your own: ask them first whether it should still be deleted"
    )


def not_replaced(name: str) -> str:
    return (
        f"not replaced: the person declined replacing the existing model {name}; nothing was "
        "changed. Do not try again on your own: ask them first, or whether to use another name"
    )


def confirmation_line(ctx: Context) -> str:
    """What ollama_status says of confirmations, for this client."""
    if app_state(ctx).settings.no_confirm:
        return "confirmation: off (--no-confirm): deletes and replacements are not asked"
    if client_can_be_asked(ctx):
        return "confirmation: the person is asked before a model is deleted or replaced"
    return (
        "confirmation: on, but this client cannot ask the person (no elicitation): deletes "
        "and replacements go ahead unasked"
    )


def go_ahead(answer: Answer, refusal: str) -> None:
    """Return when the call may go ahead (not asked, or answered yes); else the tool error
    `refusal`, before anything is sent."""
    if isinstance(answer, AcceptedElicitation) and answer.data.confirm:
        return
    raise ToolError(refusal)
