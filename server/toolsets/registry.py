"""The `registry` toolset: pull (in the foreground or the background) and push, with live
progress over every layer; the state of pulls, and stopping one."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Annotated, Literal

import mcp.types as types
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from server.errors import error_text
from server.hosts import chosen_pulls, targeted
from server.notifications import PULLS_URI, announce_model_changes
from server.progress import LayeredTotals, ProgressReporter, heartbeat, human_bytes
from server.pull_records import PullRecord, PullsReport
from server.pulls import Pull, PullRegistry, describe_line
from server.results import tool_result
from server.state import app_state
from server.tasks.manager import RunningTask, running_task
from server.tasks.owner import task_owner
from server.tasks.protocol import wire
from server.tools_api import ProgressResponse

Insecure = Annotated[bool, Field(description="Registry without TLS")]


class Transfer(BaseModel):
    model: str
    action: Literal["pulled", "pushed"]
    status: str
    bytes: int
    layers: int


class PullOutcome(BaseModel):
    model: str
    action: Literal["pulled", "started", "joined"]
    status: str
    bytes: int
    layers: int
    task_id: str | None = Field(default=None, description="tasks/get follows a background pull")


async def follow(
    lines: AsyncGenerator[ProgressResponse], reporter: ProgressReporter, what: str
) -> tuple[str, LayeredTotals]:
    """Relay a push stream as progress; the stream is closed however this ends (a cancelled
    call closes the connection, and Ollama stops)."""
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
    background: Annotated[bool, Field(description="Return at once")] = False,
) -> Annotated[types.CallToolResult, PullOutcome]:
    """One pull per model however many calls ask (see `server.pulls`): in the foreground the
    call follows it to its end; in the background it returns at once with a task that follows
    it (the same task a task-augmented call would have made)."""
    state = app_state(ctx)
    async with targeted(state) as host:
        pulls = state.pulls_on(host)
        pull, joined = await pulls.start(name, insecure=insecure, background=background)
    if background:
        return await _pull_in_background(ctx, pulls, pull, joined)
    if (task := running_task()) is not None:
        _link(task, pull)
    return _pulled(await pulls.follow(pull, ProgressReporter(ctx.report_progress)))


def _pulled(record: PullRecord) -> types.CallToolResult:
    outcome = PullOutcome(
        model=record.model,
        action="pulled",
        status=record.message,
        bytes=record.bytes_total,
        layers=record.layers,
    )
    return tool_result(
        f"pulled {record.model} ({human_bytes(record.bytes_total)}): {record.message}", outcome
    )


def _link(task: RunningTask, pull: Pull) -> None:
    """The task reads its status from the pull; a pull cancelled by anyone cancels the task."""
    task.follow_pull(
        pull.record.id,
        lambda: describe_pull(pull.record),
        lambda: pull.record.error if pull.record.status == "cancelled" else None,
    )


async def _pull_in_background(
    ctx: Context, pulls: PullRegistry, pull: Pull, joined: bool
) -> types.CallToolResult:
    """A background pull is a task: `tasks/get`, `pull_status` and `ollama://pulls` all read it,
    and `tasks/result` gives what a foreground call would have returned."""
    state = app_state(ctx)

    async def work(task: RunningTask) -> dict[str, object]:
        _link(task, pull)
        try:
            return wire(_pulled(await pulls.follow(pull, ProgressReporter(_unheard))))
        except Exception as exc:  # as the plain call would answer: a tool error
            text = error_text(exc, "pull_model")
            failed = types.CallToolResult(
                content=[types.TextContent(type="text", text=text)], is_error=True
            )
            return wire(failed)

    owner = task_owner(ctx.request_context, state.settings.auth_token)
    task = await state.tasks.start(owner, "pull_model", work)
    record = pull.record
    outcome = PullOutcome(
        model=record.model,
        action="joined" if joined else "started",
        status=record.status,
        bytes=record.bytes_total,
        layers=record.layers,
        task_id=task.record.id,
    )
    how = "joined the pull already running" if joined else "started"
    return tool_result(
        f"pulling {record.model} in the background ({how}): follow it with pull_status "
        f'name "{record.model}", the resource {PULLS_URI} or tasks/get of task '
        f"{task.record.id}; stop it with cancel_pull",
        outcome,
    )


async def _unheard(progress: float, total: float | None, message: str | None) -> None:
    """Progress of a background pull: nobody listens (its record is read instead)."""


async def pull_status(
    ctx: Context,
    name: Annotated[str | None, Field(description="One model; all when omitted")] = None,
) -> Annotated[types.CallToolResult, PullsReport]:
    state = app_state(ctx)
    records = [record for pulls in chosen_pulls(state) for record in await pulls.records(name)]
    if name is not None and not records:
        raise ToolError(
            f"no pull of {name.strip()} is running or ended in the last "
            f"{state.settings.pull_history:.0f} s: start one with pull_model"
        )
    lines = [describe_pull(r) for r in records] or ["no pulls running or recently ended"]
    return tool_result("\n".join(lines), PullsReport(pulls=records))


async def cancel_pull(
    name: Annotated[str, Field(description="The model being pulled")],
    ctx: Context,
) -> Annotated[types.CallToolResult, PullRecord]:
    state = app_state(ctx)
    async with targeted(state) as host:
        record = await state.pulls_on(host).cancel(name)
    return tool_result(describe_pull(record), record)


def describe_pull(record: PullRecord) -> str:
    """`big:latest: pulling, 1.8 GB of 4.0 GB (45%), 12.3 MB/s, about 2 min left`."""
    head = f"{record.model}: {record.status}"
    if record.ended_at is not None and record.status == "success":
        return f"{head}, {human_bytes(record.bytes_total)}, at {record.ended_at:%H:%M:%S} UTC"
    if record.ended_at is not None:
        return f"{head} at {record.ended_at:%H:%M:%S} UTC: {record.error}"
    parts = [head]
    if record.bytes_total:
        percent = 100 * record.bytes_done // record.bytes_total
        parts.append(
            f"{human_bytes(record.bytes_done)} of {human_bytes(record.bytes_total)} ({percent}%)"
        )
    if record.bytes_per_second:
        parts.append(f"{human_bytes(record.bytes_per_second)}/s")
    if record.eta_seconds is not None:
        parts.append(f"about {_duration(record.eta_seconds)} left")
    return ", ".join(parts)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


async def push_model(
    name: Annotated[str, Field(description="namespace/model[:tag]")],
    ctx: Context,
    insecure: Insecure = False,
) -> Annotated[types.CallToolResult, Transfer]:
    state = app_state(ctx)
    reporter = ProgressReporter(ctx.report_progress)
    async with targeted(state) as host:
        status, totals = await follow(
            host.client.push_stream(name, insecure=insecure), reporter, f"pushing {name}"
        )
    await announce_model_changes(ctx, name)
    result = Transfer(
        model=name, action="pushed", status=status, bytes=totals.total, layers=totals.parts
    )
    return tool_result(f"pushed {name} ({human_bytes(totals.total)}): {status}", result)
