"""What the server knows of one pull, and the file in the cache folder that keeps finished pulls
across restarts (`pulls.json`), so a new server process can say how the last pull ended.

The file is ours, not Ollama's: a JSON list of records, written whole to a temporary file and
renamed over the old one, so a reader never sees half of it. Two servers sharing a cache folder
merge by record id rather than overwrite each other (a write racing another write may lose that
one's newest record; nothing else is lost). A pull still running when a process is killed is
not in the file: only ends are written.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import anyio
from pydantic import BaseModel, Field, ValidationError

PullState = Literal["pulling", "verifying", "success", "failed", "cancelled"]
IN_FLIGHT: frozenset[str] = frozenset({"pulling", "verifying"})
FILE_NAME = "pulls.json"
FORMAT = 1

logger = logging.getLogger(__name__)


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


def now() -> datetime:
    return datetime.now(UTC)


class PullHistory:
    """Finished records on disk, each kept `keep` seconds after it ended."""

    def __init__(self, folder: Path, keep: float) -> None:
        self.path = folder / FILE_NAME
        self.keep = timedelta(seconds=keep)

    def fresh(self, record: PullRecord, at: datetime | None = None) -> bool:
        if record.ended_at is None:
            return True
        return (at or now()) - record.ended_at <= self.keep

    def load(self) -> list[PullRecord]:
        """The finished records still fresh; none when the file is missing or unreadable."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            records = [PullRecord.model_validate(item) for item in raw["pulls"]]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError, ValidationError):
            logger.warning("ignoring unreadable pull history %s", self.path, exc_info=True)
            return []
        return [r for r in records if r.finished and self.fresh(r)]

    def save(self, records: list[PullRecord]) -> None:
        """Merge `records` (finished ones) into the file and replace it atomically."""
        merged = {r.id: r for r in self.load()}
        merged.update({r.id: r for r in records if r.finished})
        kept = sorted(
            (r for r in merged.values() if self.fresh(r)),
            key=lambda r: r.ended_at or r.started_at,
        )
        body = {"format": FORMAT, "pulls": [r.model_dump(mode="json") for r in kept]}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".pulls-", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(body, out, indent=1)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def save_async(self, records: list[PullRecord]) -> None:
        """`save` in a worker thread; a failure is logged, never raised (the pull's outcome
        stands whether or not it could be written down)."""
        try:
            await anyio.to_thread.run_sync(self.save, records)
        except OSError:
            logger.warning("could not write the pull history %s", self.path, exc_info=True)
