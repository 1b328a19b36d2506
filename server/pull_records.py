"""What the server knows of one pull, and the file in the cache folder that keeps finished pulls
across restarts (`pulls.json`, a `server.record_file`), so a new server process can say how the
last pull ended. A pull still running when a process is killed is not in the file: only ends are
written (the task that ran it, if any, is: `server.tasks`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from server.record_file import RecordFile
from server.record_file import now as now  # re-exported: pulls and tests stamp records with it

PullState = Literal["pulling", "verifying", "success", "failed", "cancelled"]
IN_FLIGHT: frozenset[str] = frozenset({"pulling", "verifying"})
FILE_NAME = "pulls.json"


class PullRecord(BaseModel):
    id: str
    model: str
    status: PullState
    bytes_done: int = 0
    bytes_total: int = Field(default=0, description="Known so far over all layers")
    layers: int = 0
    bytes_per_second: float | None = None
    eta_seconds: float | None = None
    message: str = Field(default="", description="Ollama's latest progress line")
    error: str | None = None
    background: bool = False
    started_at: datetime
    ended_at: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status not in IN_FLIGHT


class PullsReport(BaseModel):
    pulls: list[PullRecord]


class PullHistory(RecordFile[PullRecord]):
    """Finished pulls on disk, each kept `keep` seconds after it ended."""

    def __init__(self, folder: Path, keep: float) -> None:
        super().__init__(
            folder, keep, model=PullRecord, file_name=FILE_NAME, key="pulls", only_ended=True
        )
