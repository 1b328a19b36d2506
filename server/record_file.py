"""A JSON file of records in the cache folder, kept across restarts: the finished pulls
(`pulls.json`) and the tasks (`tasks.json`).

The file is ours, not Ollama's: a JSON list of records, written whole to a temporary file and
renamed over the old one, so a reader never sees half of it. Two servers sharing a cache folder
merge by record id rather than overwrite each other (a write racing another write may lose that
one's newest record; nothing else is lost). Each record is kept `keep` seconds after it ended.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Generic, Protocol, TypeVar, cast

import anyio
from pydantic import BaseModel, ValidationError

FORMAT = 1

logger = logging.getLogger(__name__)


def now() -> datetime:
    return datetime.now(UTC)


class Ended(Protocol):
    id: str
    started_at: datetime
    ended_at: datetime | None


R = TypeVar("R", bound=BaseModel)


def _ended(record: BaseModel) -> Ended:
    return cast(Ended, record)


class RecordFile(Generic[R]):
    """Records of `model` under `key` in `folder / file_name`. With `only_ended`, a record still
    running is never written (only ends are); without it, both are, so a restarted server can
    tell what was running when the last one stopped."""

    def __init__(
        self,
        folder: Path,
        keep: float,
        *,
        model: type[R],
        file_name: str,
        key: str,
        only_ended: bool,
    ) -> None:
        self.path = folder / file_name
        self.keep = timedelta(seconds=keep)
        self._model = model
        self._key = key
        self._only_ended = only_ended

    def fresh(self, record: Ended, at: datetime | None = None) -> bool:
        if record.ended_at is None:
            return True
        return (at or now()) - record.ended_at <= self.keep

    def _kept(self, model: BaseModel) -> bool:
        record = _ended(model)
        return self.fresh(record) and not (self._only_ended and record.ended_at is None)

    def load(self) -> list[R]:
        """The records still fresh; none when the file is missing or unreadable."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            records = [self._model.model_validate(item) for item in raw[self._key]]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError, ValidationError):
            logger.warning("ignoring unreadable %s", self.path, exc_info=True)
            return []
        return [r for r in records if self._kept(r)]

    def save(self, records: list[R]) -> None:
        """Merge `records` into the file and replace it atomically."""
        merged = {_ended(r).id: r for r in self.load()}
        merged.update({_ended(r).id: r for r in records if self._kept(r)})
        kept = sorted(
            (r for r in merged.values() if self._kept(r)),
            key=lambda r: _ended(r).ended_at or _ended(r).started_at,
        )
        body = {"format": FORMAT, self._key: [r.model_dump(mode="json") for r in kept]}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self._key}-", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(body, out, indent=1)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def save_async(self, records: list[R]) -> None:
        """`save` in a worker thread; a failure is logged, never raised (the work's outcome
        stands whether or not it could be written down)."""
        try:
            await anyio.to_thread.run_sync(self.save, records)
        except OSError:
            logger.warning("could not write %s", self.path, exc_info=True)
