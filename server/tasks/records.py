"""What the server knows of one task, and how each protocol era sees it.

One record per task-augmented call (and per `pull_model background=true`): who may see it (the
owner), which tool it runs, its status, and once it ended, the `CallToolResult` the plain call
would have returned (or the JSON-RPC error it would have raised). The record is the one model
of long work: the 2025-11-25 wire (`tasks/get`, `tasks/result`) and the 2026-07-28 tasks
extension (`tasks/get` with the result inline) are two views of it.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from server.record_file import RecordFile, now

TaskStatus = Literal["working", "input_required", "completed", "failed", "cancelled"]
TERMINAL: frozenset[str] = frozenset({"completed", "failed", "cancelled"})
FILE_NAME = "tasks.json"
ID_BYTES = 24  # 192 bits: a task id is the handle to its result, so it must not be guessable
RELATED_TASK = "io.modelcontextprotocol/related-task"


def new_task_id() -> str:
    return secrets.token_urlsafe(ID_BYTES)


def wire_time(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TaskRecord(BaseModel):
    id: str
    owner: str  # a session key or a hash of the bearer token, never the token
    tool: str
    status: TaskStatus = "working"
    message: str = ""  # the status message while it runs; why it ended, once it did
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None = None
    keep_seconds: float  # kept this long after it ends
    poll_ms: int
    result: dict[str, Any] | None = None  # the CallToolResult the plain call returns
    error: dict[str, Any] | None = None  # or the JSON-RPC error it raises: {code, message}
    pull_id: str | None = None  # the pull it follows (`pull_status` shows the same pull)

    @classmethod
    def start(cls, *, owner: str, tool: str, keep_seconds: float, poll_ms: int) -> TaskRecord:
        moment = now()
        return cls(
            id=new_task_id(),
            owner=owner,
            tool=tool,
            message=f"{tool} is working",
            started_at=moment,
            updated_at=moment,
            keep_seconds=keep_seconds,
            poll_ms=poll_ms,
        )

    @property
    def ended(self) -> bool:
        return self.status in TERMINAL

    def end(
        self,
        status: TaskStatus,
        message: str,
        *,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> None:
        moment = now()
        self.status, self.message = status, message
        self.result, self.error = result, error
        self.updated_at = self.ended_at = moment

    def ttl_ms(self) -> int | None:
        """Kept until `keep_seconds` after its end: unknown (null) while it runs."""
        if self.ended_at is None:
            return None
        kept_until = self.ended_at + timedelta(seconds=self.keep_seconds)
        return int((kept_until - self.started_at).total_seconds() * 1000)

    def handshake_wire(self) -> dict[str, Any]:
        """The 2025-11-25 `Task`: a tool error (`isError`) is `failed`, as that spec says."""
        task: dict[str, Any] = {
            "taskId": self.id,
            "status": self.status,
            "statusMessage": self.message,
            "createdAt": wire_time(self.started_at),
            "lastUpdatedAt": wire_time(self.updated_at),
            "ttl": self.ttl_ms(),
        }
        if not self.ended:
            task["pollInterval"] = self.poll_ms
        return task

    def modern_wire(self) -> dict[str, Any]:
        """The tasks extension's `DetailedTask`: a tool error is `completed` with its result
        (`failed` is kept for JSON-RPC errors), and the result or error inline."""
        status = "completed" if self.status == "failed" and self.result is not None else self.status
        task: dict[str, Any] = {
            "taskId": self.id,
            "status": status,
            "statusMessage": self.message,
            "createdAt": wire_time(self.started_at),
            "lastUpdatedAt": wire_time(self.updated_at),
            "ttlMs": self.ttl_ms(),
            "pollIntervalMs": self.poll_ms,
        }
        if status == "completed" and self.result is not None:
            task["result"] = self.result
        elif status == "failed" and self.error is not None:
            task["error"] = self.error
        return task


class TaskHistory(RecordFile[TaskRecord]):
    """Tasks on disk: written when they start and when they end, so a restarted server reports
    a task the last process was running (as ended by the restart), and kept `keep` seconds after
    they end."""

    def __init__(self, folder: Path, keep: float) -> None:
        super().__init__(
            folder, keep, model=TaskRecord, file_name=FILE_NAME, key="tasks", only_ended=False
        )
