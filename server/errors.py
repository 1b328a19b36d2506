"""Every failure a tool can meet, as the text of a tool error: what went wrong, then what to do.

One table, most specific class first; the first row whose class matches writes the text. A tool
never returns an error dressed as success, and never shows a Python traceback: anything the
table does not know is logged (with its traceback, on stderr) and reported in one line.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from mcp.server.mcpserver.exceptions import ToolError

from server.arguments import refuse_unknown
from server.tools_api import (
    AdapterBaseMismatch,
    BaseModelNotInstalled,
    CloudDisabled,
    CloudUnreachable,
    CreatePlanError,
    EndpointMissing,
    FileChangedDuringUpload,
    HostDown,
    InvalidAdapter,
    InvalidModelName,
    ModelfileError,
    ModelNotFound,
    ModelOnNoHost,
    NotARegularFile,
    OllamaAPIError,
    OllamaError,
    OllamaTimeout,
    OllamaUnavailable,
    OutsideAllowedRoots,
    ParameterError,
    PushFailed,
    ServerBusy,
    SignInRequired,
    StreamInterrupted,
    UnrepresentableValueError,
    UnsupportedServer,
)

logger = logging.getLogger(__name__)

ALLOW_FOLDER_HINT = (
    "to allow a folder, add it to your MCP client's roots, or start the server with "
    "--allow-dir DIR (env OLLAMA_MCP_ALLOW_DIRS)"
)
START_OLLAMA_HINT = "start it with `ollama serve`, or set OLLAMA_HOST to where it runs"
REGISTRY_TOOLS = frozenset({"pull_model", "push_model"})

P = ParamSpec("P")
R = TypeVar("R")
Describe = Callable[[Any, str], str]


def _unavailable(exc: OllamaUnavailable, tool: str) -> str:
    return f"Ollama is not running at {exc.url} (nothing answered): {START_OLLAMA_HINT}"


def _not_found(exc: ModelNotFound, tool: str) -> str:
    if tool in REGISTRY_TOOLS:
        return (
            f"model {exc.model!r} was not found in the registry ({exc.message}): check the name "
            "and tag at https://ollama.com/library"
        )
    return (
        f"model {exc.model!r} is not installed: pull it with pull_model, or call list_models "
        "for the installed names"
    )


def _base_missing(exc: BaseModelNotInstalled, tool: str) -> str:
    return f"base model {exc.model!r} is not installed: pull it with pull_model first"


def _outside(exc: OutsideAllowedRoots, tool: str) -> str:
    roots = ", ".join(str(r) for r in exc.roots) or "none"
    return f"refusing to read {exc.path!r}: it is outside the allowed folders ({roots}); " + (
        ALLOW_FOLDER_HINT
    )


def _too_old(exc: UnsupportedServer, tool: str) -> str:
    seen = f"Ollama {exc.version}" if exc.version else "this Ollama"
    return f"{seen} is too old for {tool}: upgrade Ollama to {exc.needed} or newer"


def _no_route(exc: EndpointMissing, tool: str) -> str:
    seen = f"Ollama {exc.version}" if exc.version else "this Ollama"
    return (
        f"{tool} needs Ollama {exc.needed} or newer; {seen} does not have it (404): upgrade "
        "Ollama (https://ollama.com/download)"
    )


def _cloud_disabled(exc: CloudDisabled, tool: str) -> str:
    return (
        f"{tool} needs Ollama's cloud features, which are disabled ({exc.message}): enable the "
        'cloud by unsetting OLLAMA_NO_CLOUD (and "disable_ollama_cloud" in ~/.ollama/server.json) '
        "where Ollama runs, then restart Ollama"
    )


def _signed_out(exc: SignInRequired, tool: str) -> str:
    where = f", or open {exc.signin_url}" if exc.signin_url else ""
    return (
        f"{tool} needs Ollama signed in to ollama.com ({exc.message}): run `ollama signin` on "
        f"the machine Ollama runs on{where}, then try again"
    )


def _unreachable_cloud(exc: CloudUnreachable, tool: str) -> str:
    return (
        f"Ollama could not reach ollama.com for {tool} ({exc.message}): check the internet "
        "connection (and any proxy) of the machine Ollama runs on, then try again"
    )


def _busy(exc: ServerBusy, tool: str) -> str:
    return f"Ollama is busy (its queue is full): try again in a moment ({exc.message})"


def _timeout(exc: OllamaTimeout, tool: str) -> str:
    return f"{exc}; try again, and check that Ollama is not overloaded"


def _modelfile(exc: Exception, tool: str) -> str:
    return f"invalid Modelfile: {exc}; fix it (generate_modelfile writes a valid one)"


def _parameters(exc: Exception, tool: str) -> str:
    return f"invalid parameters: {exc}"


def _missing_file(exc: FileNotFoundError, tool: str) -> str:
    return f"no such file or folder: {exc.filename!s}; check the path"


def _as_is(exc: Exception, tool: str) -> str:
    return str(exc)


# Most specific first: BaseModelNotInstalled is a ModelNotFound, which is an OllamaAPIError.
ERROR_TABLE: tuple[tuple[type[BaseException], Describe], ...] = (
    (HostDown, _as_is),
    (StreamInterrupted, _as_is),
    (OllamaUnavailable, _unavailable),
    (OllamaTimeout, _timeout),
    (ModelOnNoHost, _as_is),
    (BaseModelNotInstalled, _base_missing),
    (ModelNotFound, _not_found),
    (EndpointMissing, _no_route),
    (UnsupportedServer, _too_old),
    (CloudDisabled, _cloud_disabled),
    (SignInRequired, _signed_out),
    (CloudUnreachable, _unreachable_cloud),
    (ServerBusy, _busy),
    (PushFailed, _as_is),
    (FileChangedDuringUpload, _as_is),
    (OllamaAPIError, _as_is),
    (InvalidModelName, _as_is),
    (OutsideAllowedRoots, _outside),
    (NotARegularFile, _as_is),
    (FileNotFoundError, _missing_file),
    (ModelfileError, _modelfile),
    (CreatePlanError, _modelfile),
    (ParameterError, _parameters),
    (UnrepresentableValueError, _parameters),
    (InvalidAdapter, _as_is),
    (AdapterBaseMismatch, _as_is),
    (OllamaError, _as_is),
    (ToolError, _as_is),
    (ValueError, _as_is),
)


def error_text(exc: BaseException, tool: str) -> str:
    """The one-line text a model reads for `exc` raised by `tool`."""
    for kind, describe in ERROR_TABLE:
        if isinstance(exc, kind):
            return describe(exc, tool)
    logger.error("unexpected error in %s", tool, exc_info=exc)
    return f"unexpected error ({type(exc).__name__}: {exc}); the server log (stderr) has details"


def as_tool_errors(tool: str, fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """`fn` with every exception turned into a `ToolError` carrying `error_text`. Cancellation
    is not an `Exception`, so it passes through untouched."""

    @functools.wraps(fn)
    async def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        refuse_unknown(kwargs)
        try:
            return await fn(*args, **kwargs)
        except Exception as exc:
            raise ToolError(error_text(exc, tool)) from None

    return guarded
