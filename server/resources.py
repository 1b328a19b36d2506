"""The model library as resources, and completion of model names.

    ollama://models                     the installed models (JSON)
    ollama://models/{+name}             one model's metadata, through the cache (JSON)
    ollama://models/{+name}/modelfile   a Modelfile that starts a new model from it (text)
    ollama://running                    the models loaded now (JSON)
    ollama://status                     reachable or not, version, cache, allowed folders (JSON)
    ollama://library                    the models Ollama recommends, marked installed (JSON)
    ollama://pulls                      pulls running or recently ended (JSON)

Model names hold `/` and `:`, so the templates use RFC 6570 `{+name}`. Completions of a model
argument come from the cached model list, so they cost Ollama nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp.types import (
    Completion,
    CompletionArgument,
    CompletionContext,
    PromptReference,
    ResourceTemplateReference,
)

from server.errors import error_text
from server.notifications import MODELS_URI, PULLS_URI, RUNNING_URI, STATUS_URI
from server.pull_records import PullsReport
from server.state import AppState, StateHolder
from server.tools_api import ModelNotFound, OllamaError
from server.toolsets.library import library
from server.toolsets.models import model_details, model_list, modelfile_text, running_list, status

JSON = "application/json"
MODEL_ARGUMENTS = frozenset({"name", "model", "base_model", "source"})
MAX_COMPLETIONS = 100
LIBRARY_URI = "ollama://library"


async def _guard(uri: str, read: Awaitable[str]) -> str:
    """A resource's text, or its failure as the SDK's resource errors, worded as tool errors."""
    try:
        return await read
    except ModelNotFound as exc:
        raise ResourceNotFoundError(error_text(exc, uri)) from None
    except (OllamaError, ValueError) as exc:
        raise ResourceError(error_text(exc, uri)) from None


def register_resources(server: MCPServer[AppState], holder: StateHolder) -> None:
    @server.resource(MODELS_URI, title="Installed models", mime_type=JSON)
    async def models() -> str:
        async def read() -> str:
            return model_list(await holder.get().catalog.list_models()).model_dump_json()

        return await _guard(MODELS_URI, read())

    @server.resource(f"{MODELS_URI}/{{+name}}/modelfile", title="Modelfile", mime_type="text/plain")
    async def modelfile(name: str) -> str:
        async def read() -> str:
            shown = await holder.get().catalog.get_model_metadata(name)
            return modelfile_text(shown.value, name)

        return await _guard(f"{MODELS_URI}/{name}/modelfile", read())

    @server.resource(f"{MODELS_URI}/{{+name}}", title="Model metadata", mime_type=JSON)
    async def model(name: str) -> str:
        async def read() -> str:
            details = await model_details(holder.get(), name, ["template", "license"])
            return details.model_dump_json()

        return await _guard(f"{MODELS_URI}/{name}", read())

    @server.resource(RUNNING_URI, title="Loaded models", mime_type=JSON)
    async def running() -> str:
        async def read() -> str:
            return (await running_list(holder.get())).model_dump_json()

        return await _guard(RUNNING_URI, read())

    @server.resource(STATUS_URI, title="Ollama status", mime_type=JSON)
    async def ollama_status() -> str:
        async def read() -> str:
            state = holder.get()
            return (await status(state, list(state.settings.allow_dirs))).model_dump_json()

        return await _guard(STATUS_URI, read())

    @server.resource(LIBRARY_URI, title="Recommended models", mime_type=JSON)
    async def recommended() -> str:
        async def read() -> str:
            return (await library(holder.get())).model_dump_json()

        return await _guard(LIBRARY_URI, read())

    @server.resource(PULLS_URI, title="Pulls", mime_type=JSON)
    async def pulls() -> str:
        return PullsReport(pulls=await holder.get().pulls.records()).model_dump_json()


def register_completions(server: MCPServer[AppState], holder: StateHolder) -> None:
    @server.completion()  # type: ignore[no-untyped-call, untyped-decorator]
    async def complete(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        if argument.name not in MODEL_ARGUMENTS:
            return None
        names = await installed_names(holder.get())
        typed = argument.value.lower()
        matches = [n for n in names if n.lower().startswith(typed)]
        return Completion(
            values=matches[:MAX_COMPLETIONS],
            total=len(matches),
            has_more=len(matches) > MAX_COMPLETIONS,
        )


async def installed_names(state: AppState) -> list[str]:
    """Installed model names from the cached list; none when nothing can be read."""
    try:
        found = await state.catalog.list_models()
    except OllamaError:
        return []
    return [m.name for m in found.value]
