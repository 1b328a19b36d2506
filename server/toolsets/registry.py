"""The `registry` toolset: pull and push, with live progress over every layer."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Annotated, Literal

import mcp.types as types
from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

from server.changes import changing
from server.notifications import announce_model_changes
from server.progress import LayeredTotals, ProgressReporter, heartbeat, human_bytes
from server.results import tool_result
from server.state import app_state
from server.tools_api import ProgressResponse

Insecure = Annotated[bool, Field(description="Registry without TLS")]


class Transfer(BaseModel):
    model: str
    action: Literal["pulled", "pushed"]
    status: str
    bytes: int
    layers: int


def describe_line(line: ProgressResponse) -> str:
    """`pulling 3f2a1b4c5d6e 45% of 2.0 GB`, or Ollama's own status ("verifying sha256 digest")."""
    if line.digest and line.total:
        short = line.digest.removeprefix("sha256:")[:12]
        percent = 100 * (line.completed or 0) // line.total
        verb = line.status.split(" ", 1)[0] if line.status else "layer"
        return f"{verb} {short} {percent}% of {human_bytes(line.total)}"
    return line.status


async def follow(
    lines: AsyncGenerator[ProgressResponse], reporter: ProgressReporter, what: str
) -> tuple[str, LayeredTotals]:
    """Relay a pull/push/create stream as progress; the stream is closed however this ends
    (a cancelled call closes the connection, and Ollama stops)."""
    totals = LayeredTotals()
    last = ""
    async with (
        heartbeat(reporter, lambda s: f"{what}: still working ({s:.0f} s)"),
        aclosing(lines) as stream,
    ):
        async for line in stream:
            last = line.status
            if line.digest:
                totals.update(line.digest, line.completed, line.total)
            await reporter.report(totals.done, totals.total or None, describe_line(line))
    return last, totals


async def pull_model(
    name: Annotated[str, Field(description="e.g. llama3.2:3b")],
    ctx: Context,
    insecure: Insecure = False,
) -> Annotated[types.CallToolResult, Transfer]:
    state = app_state(ctx)
    reporter = ProgressReporter(ctx.report_progress)
    async with changing(state, name):
        status, totals = await follow(
            state.client.pull_stream(name, insecure=insecure), reporter, f"pulling {name}"
        )
    await announce_model_changes(ctx, name)
    result = Transfer(
        model=name, action="pulled", status=status, bytes=totals.total, layers=totals.parts
    )
    return tool_result(f"pulled {name} ({human_bytes(totals.total)}): {status}", result)


async def push_model(
    name: Annotated[str, Field(description="namespace/model[:tag]")],
    ctx: Context,
    insecure: Insecure = False,
) -> Annotated[types.CallToolResult, Transfer]:
    state = app_state(ctx)
    reporter = ProgressReporter(ctx.report_progress)
    status, totals = await follow(
        state.client.push_stream(name, insecure=insecure), reporter, f"pushing {name}"
    )
    await announce_model_changes(ctx, name)
    result = Transfer(
        model=name, action="pushed", status=status, bytes=totals.total, layers=totals.parts
    )
    return tool_result(f"pushed {name} ({human_bytes(totals.total)}): {status}", result)
