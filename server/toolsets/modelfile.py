"""The `modelfile` toolset: create a model from a Modelfile, and write a Modelfile."""

from __future__ import annotations

from typing import Annotated, Any

import mcp.types as types
from mcp.server.mcpserver import Context, Resolve
from pydantic import BaseModel, Field

from server.changes import changing
from server.confirm import Answer, confirm_create, go_ahead, not_replaced
from server.hosts import targeted
from server.notifications import announce_model_changes
from server.progress import LayeredTotals, ProgressReporter, heartbeat, human_bytes
from server.results import tool_result
from server.roots import allowed_roots, roots_always
from server.state import app_state
from server.tools_api import CreateResult, PackagingProgress, create_model, generate_modelfile

PARAMETERS_HELP = 'e.g. {"temperature": 0.7}'


class Created(BaseModel):
    model: str
    digest: str
    files: int
    bytes_uploaded: int
    bytes_skipped: int
    files_hashed: int
    statuses: list[str]


class ModelfileText(BaseModel):
    modelfile: str


class PackagingRelay:
    """Packaging progress (`PackagingProgress`, per phase) as one growing MCP progress value:
    hashing and uploading count bytes over all files, Ollama's create/pull/push lines count
    bytes per layer."""

    def __init__(self, reporter: ProgressReporter) -> None:
        self.reporter = reporter
        self.totals = LayeredTotals()

    async def __call__(self, step: PackagingProgress) -> None:
        key = (
            f"{step.phase}:{step.digest or ''}"
            if step.phase not in ("hashing", "uploading")
            else (str(step.phase))
        )
        self.totals.update(key, step.completed, step.total)
        await self.reporter.report(self.totals.done, self.totals.total or None, step.message)


def created_text(result: CreateResult, what: str) -> str:
    return (
        f"created {result.model}{what}: {human_bytes(result.bytes_uploaded)} sent, "
        f"{human_bytes(result.bytes_skipped)} already there"
    )


async def create_model_tool(
    name: Annotated[str, Field(description="New model name")],
    ctx: Context,
    roots: Annotated[types.ListRootsResult, Resolve(roots_always)],
    answer: Annotated[Answer, Resolve(confirm_create)],
    modelfile: str | None = None,
    modelfile_path: Annotated[str | None, Field(description="Instead of modelfile")] = None,
    quantize: Annotated[str | None, Field(description="e.g. q4_K_M, q8_0 (from F16/BF16)")] = None,
) -> Annotated[types.CallToolResult, Created]:
    go_ahead(answer, not_replaced(name))
    state = app_state(ctx)
    gate = allowed_roots(state.settings.allow_dirs, roots)
    relay = PackagingRelay(ProgressReporter(ctx.report_progress))
    async with (
        targeted(state) as host,
        changing(host, name),
        heartbeat(relay.reporter, lambda s: f"creating {name} ({s:.0f} s)"),
    ):
        result = await create_model(
            host.client,
            name,
            modelfile=modelfile,
            modelfile_path=modelfile_path,
            base_dir=gate.base_dir,
            readable=gate,
            digest_cache=state.digests,
            on_progress=relay,
            quantize=quantize,
        )
    await announce_model_changes(ctx, name)
    files = len(result.files)
    what = f" with {files} local file(s)" if files else ""
    return tool_result(
        created_text(result, what),
        Created(
            model=result.model,
            digest=result.digest,
            files=files,
            bytes_uploaded=result.bytes_uploaded,
            bytes_skipped=result.bytes_skipped,
            files_hashed=result.files_hashed,
            statuses=result.statuses,
        ),
    )


async def generate_modelfile_tool(
    base_model: Annotated[str, Field(description="FROM: model or weights path")],
    adapter_path: str | None = None,
    system_prompt: str | None = None,
    template: Annotated[str | None, Field(description="Go template")] = None,
    parameters: Annotated[dict[str, Any] | None, Field(description=PARAMETERS_HELP)] = None,
    messages: Annotated[list[dict[str, str]] | None, Field(description="[{role, content}]")] = None,
    license: str | None = None,
) -> Annotated[types.CallToolResult, ModelfileText]:
    text = generate_modelfile(
        base_model, adapter_path, system_prompt, template, parameters, messages, license
    )
    return tool_result(text, ModelfileText(modelfile=text))
