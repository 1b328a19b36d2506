"""The one list of tools: name, toolset, title, description and honest annotations, and the one
predicate that `--read-only`, `--toolsets` and `--allow-push` filter by.

Each tool's code is a plain async function in `server/toolsets/<toolset>.py`; the text of its
errors comes from `server/errors.py`. Names and argument names are fixed: agents' saved
workflows, client configs and the schema snapshots in `tests/server/` depend on them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

from server.app_ui import tool_meta
from server.arguments import strict
from server.errors import as_tool_errors
from server.hosts import HostUse, with_host_argument
from server.settings import Settings
from server.tasks.manager import saying_when_it_works
from server.tools_api import host_specs
from server.toolsets import hosts, inference, library, modelfile, models, packaging, registry, web


def _hints(
    *,
    read_only: bool,
    destructive: bool = False,
    idempotent: bool = False,
    open_world: bool = False,
) -> ToolAnnotations:
    """Every hint that is better than the protocol's default stated, since the defaults assume
    the worst (not read-only, destructive, not idempotent, open world); a hint equal to its
    default says nothing, and for a read-only tool the protocol defines destructive and
    idempotent as meaningless, so those are left out (every character of `tools/list` is paid
    for in the user's context)."""
    if read_only:
        return ToolAnnotations(read_only_hint=True, open_world_hint=open_world)
    return ToolAnnotations(
        destructive_hint=destructive,
        idempotent_hint=idempotent or None,
        open_world_hint=open_world,
    )


READS = _hints(read_only=True)
# Reads whose answers come from ollama.com (through the user's Ollama): an open world.
OPEN_READS = _hints(read_only=True, open_world=True)


@dataclass(frozen=True)
class ToolSpec:
    name: str
    toolset: str
    title: str
    description: str
    fn: Callable[..., Awaitable[Any]]
    annotations: ToolAnnotations
    needs_allow_push: bool = False  # offered only with --allow-push


# Calls that may run for minutes (a download, a quantize, a slow first load): they may run as
# MCP tasks (`server.tasks`), and say so (`execution.taskSupport: "optional"`).
TASK_TOOLS = frozenset(
    {"pull_model", "push_model", "create_model", "package_adapter", "generate", "chat"}
)

TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "list_models", "models", "List installed models",
        "Installed models: size, family, parameters, quantization.",
        models.list_models, READS,
    ),
    ToolSpec(
        "show_model", "models", "Show model details",
        "Capabilities, context length, parameters; long texts via include.",
        models.show_model, READS,
    ),
    ToolSpec(
        "list_running", "models", "List loaded models",
        "Loaded models: VRAM, context length, when they unload.",
        models.list_running, READS,
    ),
    ToolSpec(
        "copy_model", "models", "Copy a model",
        "Copy a model to a new name (replaces one of that name).",
        models.copy_model, _hints(read_only=False, destructive=True, idempotent=True),
    ),
    ToolSpec(
        "delete_model", "models", "Delete a model",
        "Delete an installed model.",
        models.delete_model, _hints(read_only=False, destructive=True, idempotent=True),
    ),
    ToolSpec(
        "ollama_status", "models", "Ollama status",
        "Is Ollama up: version, address, models, cache, folders, modes.",
        models.ollama_status, READS,
    ),
    ToolSpec(
        "pull_model", "registry", "Pull a model",
        "Download a model from ollama.com.",
        registry.pull_model,
        _hints(read_only=False, idempotent=True, open_world=True),
    ),
    ToolSpec(
        "push_model", "registry", "Push a model",
        "Upload a namespace/model to ollama.com.",
        registry.push_model,
        _hints(read_only=False, destructive=True, idempotent=True, open_world=True),
        needs_allow_push=True,
    ),
    ToolSpec(
        "pull_status", "registry", "Pull status",
        "Pulls running or recently ended: progress, rate, time left, outcome.",
        registry.pull_status, READS,
    ),
    ToolSpec(
        "cancel_pull", "registry", "Cancel a pull",
        "Stop a running pull.",
        registry.cancel_pull, _hints(read_only=False, idempotent=True),
    ),
    ToolSpec(
        "create_model", "modelfile", "Create a model",
        "A model from a Modelfile (text or path); uploads local FROM/ADAPTER files.",
        modelfile.create_model_tool, _hints(read_only=False, destructive=True, idempotent=True),
    ),
    ToolSpec(
        "generate_modelfile", "modelfile", "Write a Modelfile",
        "A valid Modelfile from base, adapter, prompt, parameters; changes nothing.",
        modelfile.generate_modelfile_tool, READS,
    ),
    ToolSpec(
        "package_adapter", "packaging", "Package a LoRA adapter",
        "A model from a LoRA adapter (PEFT, safetensors or GGUF) on a base model.",
        packaging.package_adapter_tool,
        _hints(read_only=False, destructive=True, idempotent=True),
    ),
    ToolSpec(
        "generate", "inference", "Generate text",
        "Answer a prompt with a local model.",
        inference.generate, READS,
    ),
    ToolSpec(
        "chat", "inference", "Chat",
        "A local model's reply to messages (optional tools).",
        inference.chat, READS,
    ),
    ToolSpec(
        "embed", "inference", "Embed text",
        "Embedding vectors for texts, from a local model.",
        inference.embed, READS,
    ),
    ToolSpec(
        "browse_library", "library", "Browse the Ollama library",
        "Models Ollama recommends, local or cloud, marked if installed, with how to pull.",
        library.browse_library, OPEN_READS,
    ),
    ToolSpec(
        "web_search", "web", "Search the web",
        "Web search via your Ollama's ollama.com sign-in; the query leaves the machine.",
        web.web_search, OPEN_READS,
    ),
    ToolSpec(
        "web_fetch", "web", "Fetch a web page",
        "A page's text and links via your Ollama's ollama.com sign-in; the URL leaves the machine.",
        web.web_fetch, OPEN_READS,
    ),
)  # fmt: skip


# With several hosts: which tools take `host` and what it means (route: where a model runs,
# target: the host a change is made on, filter: which host's pulls), and the tools that answer
# for every host at once. With one host neither applies: the tools are published as they were.
HOST_USES: dict[str, HostUse] = {
    "show_model": "route",
    "generate": "route",
    "chat": "route",
    "embed": "route",
    "copy_model": "target",
    "delete_model": "target",
    "pull_model": "target",
    "push_model": "target",
    "cancel_pull": "target",
    "create_model": "target",
    "package_adapter": "target",
    "pull_status": "filter",
}
ON_EVERY_HOST: dict[str, Callable[..., Awaitable[Any]]] = {
    "list_models": hosts.list_models,
    "list_running": hosts.list_running,
    "ollama_status": hosts.ollama_status,
}


def offered(spec: ToolSpec, settings: Settings) -> bool:
    """The one predicate: in a chosen toolset, not a write in read-only mode, push only when
    allowed."""
    if spec.toolset not in settings.toolsets:
        return False
    if settings.read_only and not spec.annotations.read_only_hint:
        return False
    return settings.allow_push or not spec.needs_allow_push


def register_tools(server: MCPServer[Any], settings: Settings) -> None:
    """Add every offered tool to `server`."""
    names = [h.name for h in host_specs(settings.ollama_hosts)] if settings.ollama_hosts else []
    several = len(names) > 1
    for spec in TOOLS:
        if not offered(spec, settings):
            continue
        fn = as_tool_errors(
            spec.name, ON_EVERY_HOST.get(spec.name, spec.fn) if several else spec.fn
        )
        if spec.name in TASK_TOOLS:
            fn = saying_when_it_works(fn)
        if several and spec.name in HOST_USES:
            fn = with_host_argument(fn, HOST_USES[spec.name], names)
        server.add_tool(
            fn,
            name=spec.name,
            title=spec.title,
            description=spec.description,
            annotations=spec.annotations,
            meta=tool_meta(spec.name),
        )
        tool = tighten(server, spec.name)
        if several and spec.name in HOST_USES:
            tool.fn_metadata.output_schema = with_host_output(tool.fn_metadata.output_schema)


def with_host_output(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """The output schema with the `host` every answer on one of several hosts carries."""
    if schema is None or "properties" not in schema:
        return schema
    host = {"type": "string", "description": "The host that answered"}
    return {**schema, "properties": {**schema["properties"], "host": host}}


def tighten(server: MCPServer[Any], name: str) -> Any:
    """The published tool `name` with a compact schema, refusing unknown arguments."""
    # The SDK offers no public hook for the published schema; its tool manager is the one
    # place it keeps it. Arguments are still validated by the full pydantic model.
    tool = server._tool_manager.get_tool(name)
    assert tool is not None
    tool.parameters = compact_schema(tool.parameters)
    tool.fn_metadata = strict(tool.fn_metadata, name)  # unknown arguments refused
    return tool


def compact_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The input schema without what costs a client's context and tells a model nothing:
    pydantic's titles, the `null` arm and `default: null` of optional arguments (leaving one out
    means the same), and `additionalProperties: true` (the default)."""

    def compact(node: Any) -> Any:
        if isinstance(node, list):
            return [compact(item) for item in node]
        if not isinstance(node, dict):
            return node
        out = {
            key: compact(value)
            for key, value in node.items()
            if key != "title"
            and not (key == "default" and value is None)
            and not (key == "additionalProperties" and value is True)
        }
        arms = [arm for arm in out.get("anyOf", []) if arm != {"type": "null"}]
        if "anyOf" in out:
            del out["anyOf"]
            if len(arms) == 1:
                out = {**arms[0], **out}
            else:
                out["anyOf"] = arms
        return out

    properties = schema.get("properties", {})
    return {
        **{k: v for k, v in schema.items() if k not in ("title", "properties")},
        "properties": {name: compact(value) for name, value in properties.items()},
    }
