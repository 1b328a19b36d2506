"""The model library as resources, and completion of model names.

    ollama://models                     the installed models (JSON)
    ollama://models/{+name}             one model's metadata, through the cache (JSON)
    ollama://models/{+name}/modelfile   a Modelfile that starts a new model from it (text)
    ollama://running                    the models loaded now (JSON)
    ollama://status                     reachable or not, version, cache, allowed folders (JSON)
    ollama://library                    the models Ollama recommends, marked installed (JSON)
    ollama://pulls                      pulls running or recently ended (JSON)
    ollama://hosts                      each Ollama host: reachable, version, models, loaded, VRAM

With several hosts configured, ollama://models is the merged list (each model once, with its
hosts), ollama://running and ollama://status are per host, and a model's metadata comes from
the host the model is routed to; completions offer the names of every host.

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
from server.state import HOSTS_URI, AppState, StateHolder
from server.tools_api import ModelNotFound, OllamaError
from server.toolsets.hosts import hosted_list, hosts_report, running_on_hosts, status_on_hosts
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
            state = holder.get()
            if state.fleet.several:
                return hosted_list(await state.fleet.list_models()).model_dump_json()
            return model_list(await state.catalog.list_models()).model_dump_json()

        return await _guard(MODELS_URI, read())

    @server.resource(f"{MODELS_URI}/{{+name}}/modelfile", title="Modelfile", mime_type="text/plain")
    async def modelfile(name: str) -> str:
        async def read() -> str:
            state = holder.get()
            host = await state.fleet.route(name)
            shown = await host.catalog.get_model_metadata(name)
            return modelfile_text(shown.value, name)

        return await _guard(f"{MODELS_URI}/{name}/modelfile", read())

    @server.resource(f"{MODELS_URI}/{{+name}}", title="Model metadata", mime_type=JSON)
    async def model(name: str) -> str:
        async def read() -> str:
            state = holder.get()
            host = await state.fleet.route(name)
            details = await model_details(state, name, ["template", "license"], host)
            return details.model_dump_json()

        return await _guard(f"{MODELS_URI}/{name}", read())

    @server.resource(RUNNING_URI, title="Loaded models", mime_type=JSON)
    async def running() -> str:
        async def read() -> str:
            state = holder.get()
            if state.fleet.several:
                return (await running_on_hosts(state)).model_dump_json()
            return (await running_list(state)).model_dump_json()

        return await _guard(RUNNING_URI, read())

    @server.resource(STATUS_URI, title="Ollama status", mime_type=JSON)
    async def ollama_status() -> str:
        async def read() -> str:
            state = holder.get()
            roots = list(state.settings.allow_dirs)
            if state.fleet.several:
                return (await status_on_hosts(state, roots)).model_dump_json()
            return (await status(state, roots)).model_dump_json()

        return await _guard(STATUS_URI, read())

    @server.resource(LIBRARY_URI, title="Recommended models", mime_type=JSON)
    async def recommended() -> str:
        async def read() -> str:
            return (await library(holder.get())).model_dump_json()

        return await _guard(LIBRARY_URI, read())

    @server.resource(PULLS_URI, title="Pulls", mime_type=JSON)
    async def pulls() -> str:
        state = holder.get()
        records = [r for pulls in state.host_pulls.values() for r in await pulls.records()]
        return PullsReport(pulls=records).model_dump_json()

    @server.resource(HOSTS_URI, title="Ollama hosts", mime_type=JSON)
    async def hosts() -> str:
        async def read() -> str:
            return (await hosts_report(holder.get())).model_dump_json()

        return await _guard(HOSTS_URI, read())


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
    """Installed model names from the cached lists (of every host, each name once); none when
    nothing can be read."""
    if state.fleet.several:
        return [m.name for m in hosted_list(await state.fleet.list_models()).models]
    try:
        found = await state.catalog.list_models()
    except OllamaError:
        return []
    return [m.name for m in found.value]
