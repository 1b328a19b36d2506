"""The `host` argument of tools when several Ollama hosts are configured, and where a call goes.

With one host the tools are published exactly as they always were: no `host` argument, no
remark on which host answered. With several, `register_tools` wraps each tool that runs on one
host (`HostUse`): the wrapper adds an optional `host` (a configured name, never an address) to
the published schema, hands it to the fleet through a context variable for the length of the
call, and stamps the answer with the host that gave it. Tool code asks `routed` (a model's call:
generate, chat, embed, show) or `targeted` (a change: pull, push, create, copy, delete) for its
host; with one host both give that host at once.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import mcp.types as types
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from server.state import AppState
from server.tools_api import FleetHost

HostUse = Literal["route", "target", "filter"]
HOST_ARGUMENT = "host"


@dataclass
class HostCall:
    requested: str | None
    answered: FleetHost | None = None


_call: ContextVar[HostCall | None] = ContextVar("host_call", default=None)


def requested_host() -> str | None:
    """The `host` this call named (None: not named, or one host configured)."""
    call = _call.get()
    return call.requested if call is not None else None


def host_argument(ctx: Context) -> str | None:
    """The `host` a call names, read from the call itself: for resolvers, which the SDK runs
    before the wrapper below sets `requested_host` for the call."""
    params = ctx.request_context.params or {}
    arguments = params.get("arguments")
    named = arguments.get(HOST_ARGUMENT) if isinstance(arguments, Mapping) else None
    return named if isinstance(named, str) else None


def _answered(host: FleetHost) -> None:
    call = _call.get()
    if call is not None:
        call.answered = host


@asynccontextmanager
async def routed(state: AppState, model: str) -> AsyncIterator[FleetHost]:
    """The host a call on `model` runs on: the one named, else where the model is loaded, else
    where it is installed (see `tools.fleet.fleet`)."""
    async with state.fleet.routed(model, requested_host()) as host:
        _answered(host)
        yield host


@asynccontextmanager
async def targeted(state: AppState) -> AsyncIterator[FleetHost]:
    """The host a change is made on: the one named, else the default host."""
    async with state.fleet.targeted(requested_host()) as host:
        _answered(host)
        yield host


def chosen_pulls(state: AppState) -> list[Any]:
    """The pull registries a pull_status call covers: the named host's, else every host's."""
    name = requested_host()
    if name is None:
        return list(state.host_pulls.values())
    return [state.pulls_on(state.fleet.get(name))]


def _description(use: HostUse, names: list[str]) -> str:
    listed = ", ".join(names)
    if use == "route":
        return f"One of {listed}; default: where the model is loaded, else installed"
    if use == "filter":
        return f"One of {listed}; default: all"
    return f"One of {listed}; default {names[0]}"


def with_host_argument(
    fn: Callable[..., Awaitable[Any]], use: HostUse, names: list[str]
) -> Callable[..., Awaitable[Any]]:
    """`fn` taking an optional `host` (a configured name), its answer saying which host gave it."""
    annotation = Annotated[str | None, Field(description=_description(use, names))]
    signature = inspect.signature(fn, eval_str=True)
    host_parameter = inspect.Parameter(
        HOST_ARGUMENT, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation
    )

    @functools.wraps(fn)
    async def on_host(*args: Any, host: str | None = None, **kwargs: Any) -> Any:
        call = HostCall(host)
        token = _call.set(call)
        try:
            result = await fn(*args, **kwargs)
        except ToolError as exc:
            if call.answered is None or str(exc).startswith("host "):
                raise
            raise ToolError(f"on host {call.answered.name!r}: {exc}") from None
        finally:
            _call.reset(token)
        return stamped(result, call.answered)

    parameters = [*signature.parameters.values(), host_parameter]
    on_host.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    on_host.__annotations__ = {
        **{p.name: p.annotation for p in parameters},
        "return": signature.return_annotation,
    }
    return on_host


def stamped(result: Any, host: FleetHost | None) -> Any:
    """A tool answer that says which host gave it: `host` in the structured result, and a last
    line of the text."""
    if host is None or not isinstance(result, types.CallToolResult):
        return result
    if result.structured_content is not None:
        result.structured_content = {**result.structured_content, HOST_ARGUMENT: host.name}
    texts = [c for c in result.content if isinstance(c, types.TextContent)]
    if texts:
        texts[0].text = f"{texts[0].text}\n[host {host.name}]"
    return result
