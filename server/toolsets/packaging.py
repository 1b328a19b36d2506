"""The `packaging` toolset: a LoRA adapter folder or file becomes a runnable Ollama model."""

from __future__ import annotations

from typing import Annotated, Any

import mcp.types as types
from mcp.server.mcpserver import Context, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from server.changes import changing
from server.confirm import Answer, confirm_package, go_ahead, not_replaced
from server.hosts import targeted
from server.notifications import announce_model_changes
from server.progress import ProgressReporter, heartbeat, human_bytes
from server.results import tool_result
from server.roots import allowed_roots, roots_always
from server.state import app_state
from server.tools_api import package_adapter
from server.toolsets.modelfile import PARAMETERS_HELP, PackagingRelay

PUSH_OFF = "push is off on this server: start it with --allow-push (env OLLAMA_MCP_ALLOW_PUSH=1)"


class Packaged(BaseModel):
    model: str
    digest: str
    base_model: str
    base_architecture: str | None
    adapter_layout: str
    bytes_uploaded: int
    bytes_skipped: int
    files_hashed: int
    digest_cache_hits: int
    pushed: bool
    warnings: list[str]
    modelfile: str


async def package_adapter_tool(
    path: Annotated[str, Field(description="Adapter folder or file")],
    name: Annotated[str, Field(description="New model name")],
    base_model: Annotated[str, Field(description="Installed base model")],
    ctx: Context,
    roots: Annotated[types.ListRootsResult, Resolve(roots_always)],
    answer: Annotated[Answer, Resolve(confirm_package)],
    system_prompt: str | None = None,
    template: Annotated[str | None, Field(description="Go template")] = None,
    parameters: Annotated[dict[str, Any] | None, Field(description=PARAMETERS_HELP)] = None,
    push: Annotated[bool, Field(description="Also push (--allow-push)")] = False,
    quantize: Annotated[str | None, Field(description="The base's weights, e.g. q4_K_M")] = None,
) -> Annotated[types.CallToolResult, Packaged]:
    state = app_state(ctx)
    if push and not state.settings.allow_push:
        raise ToolError(PUSH_OFF)
    go_ahead(answer, not_replaced(name))
    gate = allowed_roots(state.settings.allow_dirs, roots)
    relay = PackagingRelay(ProgressReporter(ctx.report_progress))
    async with (
        targeted(state) as host,
        changing(host, name, base_model),
        heartbeat(relay.reporter, lambda s: f"packaging {name} ({s:.0f} s)"),
    ):
        report = await package_adapter(
            host.client,
            path,
            name,
            base_model,
            system_prompt=system_prompt,
            template=template,
            parameters=parameters,
            push=push,
            readable=gate,
            digest_cache=state.digests,
            on_progress=relay,
            quantize=quantize,
        )
    await announce_model_changes(ctx, name)
    result = Packaged(
        model=report.model,
        digest=report.digest,
        base_model=report.base_model,
        base_architecture=report.base_architecture,
        adapter_layout=str(report.adapter.layout),
        bytes_uploaded=report.bytes_uploaded,
        bytes_skipped=report.bytes_skipped,
        files_hashed=report.files_hashed,
        digest_cache_hits=report.digest_cache_hits,
        pushed=report.push is not None,
        warnings=report.warnings,
        modelfile=report.modelfile,
    )
    text = (
        f"created {report.model} from {report.base_model} with 1 adapter "
        f"({result.adapter_layout}): {human_bytes(report.bytes_uploaded)} sent, "
        f"{human_bytes(report.bytes_skipped)} already there"
        + ("; pushed" if result.pushed else "")
        + "".join(f"\nwarning: {w}" for w in report.warnings)
    )
    return tool_result(text, result)
