"""The outbound channel of a tool call that runs as a task.

A task outlives the request that started it, and the SDK closes a request's channel once the
request is answered: progress sent on it after that is dropped. On 2025-11-25 the progress token
stays valid for the task's life, so the task's progress goes out on the connection's own channel,
marked with the task (`io.modelcontextprotocol/related-task`), to a client that still listens.
On 2026-07-28 the tasks extension carries no progress: it flows while the call is open and
then only shows in `tasks/get`. Either way the newest progress is kept for the status message.

A question to the person (a confirmation's `elicitation/create`) from a 2025-11-25 task goes out
the same way, on the connection, marked with the task, which is `input_required` while it waits.
On 2026-07-28 a question never reaches a task: the resolver answers at once with an
`InputRequiredResult`, so the call ends before the hand-off and the client retries it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from mcp.server.context import ServerRequestContext
from mcp.server.session import ServerSession
from mcp.shared.dispatcher import CallOptions, DispatchContext, Outbound

from server.tasks.manager import RunningTask
from server.tasks.records import RELATED_TASK


class TaskChannel:
    """The request channel a task's tool call sees (the `DispatchContext` shape)."""

    def __init__(
        self,
        request: DispatchContext[Any],
        connection: Outbound,
        task: RunningTask,
        progress_token: str | int | None,
        *,
        handshake: bool,
    ) -> None:
        self._request = request
        self._connection = connection
        self._task = task
        self._token = progress_token
        self._handshake = handshake

    def __getattr__(self, name: str) -> Any:  # request_id, transport, cancel_requested, ...
        return getattr(self._request, name)

    @property
    def can_send_request(self) -> bool:
        if self._handshake:  # its request is answered (closed); the connection is not
            return bool(self._request.transport.can_send_request)
        return self._request.can_send_request

    async def send_raw_request(
        self, method: str, params: Mapping[str, Any] | None, opts: CallOptions | None = None
    ) -> dict[str, Any]:
        if not self._handshake:
            return await self._request.send_raw_request(method, params, opts)
        record = self._task.record
        record.status = "input_required"
        try:
            return await self._connection.send_raw_request(method, self._marked(params), opts)
        finally:
            if not record.ended:
                record.status = "working"

    def _marked(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        body = dict(params or {})
        meta = {**(body.get("_meta") or {}), RELATED_TASK: {"taskId": self._task.record.id}}
        return {**body, "_meta": meta}

    async def notify(
        self, method: str, params: Mapping[str, Any] | None, opts: CallOptions | None = None
    ) -> None:
        if not self._handshake:
            await self._request.notify(method, params, opts)
            return
        await self._connection.notify(method, self._marked(params), opts)

    async def progress(
        self, progress: float, total: float | None = None, message: str | None = None
    ) -> None:
        self._task.note_progress(progress, total, message)
        if not self._handshake:
            await self._request.progress(progress, total, message)
            return
        if self._token is None:
            return
        params: dict[str, Any] = {"progressToken": self._token, "progress": progress}
        if total is not None:
            params["total"] = total
        if message is not None:
            params["message"] = message
        await self.notify("notifications/progress", params)


def task_context(
    ctx: ServerRequestContext[Any, Any], task: RunningTask, *, handshake: bool
) -> ServerRequestContext[Any, Any]:
    """`ctx` for the tool call a task runs: the same request, the task's channel."""
    session = ctx.session
    # The SDK offers no public accessor for the connection nor the request's channel.
    connection = session._connection
    raw_meta = (ctx.params or {}).get("_meta") or {}
    token = raw_meta.get("progressToken") if isinstance(raw_meta, Mapping) else None
    request = session._request_outbound
    channel = TaskChannel(request, connection.outbound, task, token, handshake=handshake)
    return dataclasses.replace(
        ctx,
        session=ServerSession(channel, connection, request_meta=ctx.meta),
    )
