"""The `inference` toolset: generate, chat and embed with a local model, streamed from Ollama.

generate and chat stream, and report progress (chunks so far) while they run, with a heartbeat
while the model loads, so a client that resets its timeout on progress never gives up on a long
answer (the process's one pacemaker, not a task per call: most of these calls take
milliseconds). Cancelling the call closes the stream, and Ollama stops generating.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import aclosing
from typing import Annotated, Any, Literal

import anyio.to_thread
import mcp.types as types
from mcp.server.mcpserver import Context, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from server.hosts import routed
from server.progress import ProgressReporter
from server.results import tool_result
from server.roots import allowed_roots, roots_for_images
from server.state import app_state
from server.tools_api import (
    AllowedRoots,
    ChatResponse,
    GenerateResponse,
    open_regular,
    parse_model_name,
)

ModelArg = str
Options = Annotated[dict[str, Any] | None, Field(description='e.g. {"temperature": 0}')]
FormatArg = Annotated[
    Literal["json"] | dict[str, Any] | None, Field(description='"json" or a JSON schema')
]
Think = Annotated[
    bool | Literal["low", "medium", "high"] | None, Field(description="Thinking models")
]
KeepAlive = Annotated[str | float | None, Field(description='e.g. "5m" or 0')]


class Metrics(BaseModel):
    done_reason: str | None = None
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    total_ms: float | None = None


class Generated(Metrics):
    model: str
    response: str
    thinking: str | None = None


class ChatReply(Metrics):
    model: str
    content: str
    thinking: str | None = None
    tool_calls: list[dict[str, Any]] = []


class Embeddings(BaseModel):
    model: str
    embeddings: list[list[float]]
    dimensions: int


def _metrics(last: GenerateResponse | ChatResponse | None) -> dict[str, Any]:
    if last is None:
        return {}
    return {
        "done_reason": last.done_reason,
        "prompt_tokens": last.prompt_eval_count,
        "output_tokens": last.eval_count,
        "total_ms": last.total_duration / 1e6 if last.total_duration else None,
    }


def _read_images(gate: AllowedRoots, paths: list[str]) -> list[bytes]:
    images: list[bytes] = []
    for path in paths:
        real, checked = gate.regular_file_stat(path)
        with open_regular(real, checked) as file:
            images.append(file.read())
    return images


def local_only(model: str, tool: str) -> None:
    """A `:cloud` model runs on ollama.com: the prompt, messages or texts would leave this
    computer, which a tool that promises a local model must not do behind the user's back."""
    if parse_model_name(model).source == "cloud":
        raise ToolError(
            f"model {model!r} runs on ollama.com, not on this machine: {tool} runs local models "
            "only, so the input never leaves this computer; use a local model (list_models "
            "shows the installed ones)"
        )


def _waiting(model: str) -> Callable[[float], str]:
    return lambda s: f"waiting for {model} (loading or thinking, {s:.0f} s)"


async def generate(
    model: ModelArg,
    prompt: str,
    ctx: Context,
    roots: Annotated[types.ListRootsResult, Resolve(roots_for_images)],
    system: str | None = None,
    options: Options = None,
    format: FormatArg = None,
    think: Think = None,
    images: Annotated[list[str] | None, Field(description="Image file paths")] = None,
    keep_alive: KeepAlive = None,
) -> Annotated[types.CallToolResult, Generated]:
    local_only(model, "generate")
    state = app_state(ctx)
    pictures = None
    if images:
        gate = allowed_roots(state.settings.allow_dirs, roots)
        pictures = await anyio.to_thread.run_sync(_read_images, gate, images)
    reporter = ProgressReporter(ctx.report_progress)
    text: list[str] = []
    thought: list[str] = []
    last: GenerateResponse | None = None
    async with routed(state, model) as host:
        stream = host.client.generate_stream(
            model, prompt, system=system, options=options, format=format, think=think,
            images=pictures, keep_alive=keep_alive,
        )  # fmt: skip
        beating = state.pacemaker.beating(reporter, _waiting(model))
        async with beating, aclosing(stream) as chunks:
            async for chunk in chunks:
                last = chunk
                text.append(chunk.response)
                thought.append(chunk.thinking or "")
                await reporter.report(len(text), None, f"{model}: {len(text)} chunks")
    answer = "".join(text)
    result = Generated(
        model=model, response=answer, thinking="".join(thought) or None, **_metrics(last)
    )
    return tool_result(answer, result)


async def chat(
    model: ModelArg,
    messages: Annotated[list[dict[str, Any]], Field(description="[{role, content}]")],
    ctx: Context,
    tools: Annotated[list[dict[str, Any]] | None, Field(description="Function tools")] = None,
    options: Options = None,
    format: FormatArg = None,
    think: Think = None,
    keep_alive: KeepAlive = None,
) -> Annotated[types.CallToolResult, ChatReply]:
    local_only(model, "chat")
    state = app_state(ctx)
    reporter = ProgressReporter(ctx.report_progress)
    content: list[str] = []
    thought: list[str] = []
    calls: list[dict[str, Any]] = []
    last: ChatResponse | None = None
    async with routed(state, model) as host:
        stream = host.client.chat_stream(
            model, messages, tools=tools, format=format, options=options, keep_alive=keep_alive,
            think=think,
        )  # fmt: skip
        beating = state.pacemaker.beating(reporter, _waiting(model))
        async with beating, aclosing(stream) as chunks:
            async for chunk in chunks:
                last = chunk
                content.append(chunk.message.content)
                thought.append(chunk.message.thinking or "")
                calls.extend(
                    call.model_dump(exclude_none=True) for call in chunk.message.tool_calls or []
                )
                await reporter.report(len(content), None, f"{model}: {len(content)} chunks")
    reply = ChatReply(
        model=model,
        content="".join(content),
        thinking="".join(thought) or None,
        tool_calls=calls,
        **_metrics(last),
    )
    text = reply.content
    for call in calls:
        function = call.get("function", {})
        text += f"\ntool call: {function.get('name')}({function.get('arguments', {})})"
    return tool_result(text.strip() or "(empty reply)", reply)


async def embed(
    model: ModelArg,
    input: str | list[str],
    ctx: Context,
) -> Annotated[types.CallToolResult, Embeddings]:
    local_only(model, "embed")
    async with routed(app_state(ctx), model) as host:
        answer = await host.client.embed(model, input)
    dimensions = len(answer.embeddings[0]) if answer.embeddings else 0
    result = Embeddings(model=model, embeddings=answer.embeddings, dimensions=dimensions)
    return tool_result(
        f"{len(answer.embeddings)} embedding(s) of {dimensions} dimensions from {model} "
        "(vectors in the structured result)",
        result,
    )
