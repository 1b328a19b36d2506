"""What packaging reports: progress events while it runs (`PackagingProgress`, bytes summed over
the files of a phase, so they only grow) and the results it returns (`CreateResult`,
`PackageReport`), each saying honestly what was created, sent, skipped and pushed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from tools.local.adapter_summary import AdapterSummary

# --- progress -------------------------------------------------------------------------------


class PackagingPhase(StrEnum):
    CHECKING = "checking"
    PULLING_BASE = "pulling_base"
    HASHING = "hashing"
    UPLOADING = "uploading"
    CREATING = "creating"
    PUSHING = "pushing"


class PackagingProgress(BaseModel):
    """One step of a create or a packaging, for a progress bar or a log line."""

    model_config = ConfigDict(frozen=True)

    phase: PackagingPhase
    message: str
    completed: int | None = None  # bytes so far in this phase (all files together)
    total: int | None = None
    file: str | None = None  # the file's name in the create request, for hashing and uploading
    digest: str | None = None


PackagingProgressCallback = Callable[[PackagingProgress], Awaitable[None]]


# --- reports --------------------------------------------------------------------------------


class UploadedFile(BaseModel):
    """One local file of the create request and what it took to get it to Ollama."""

    key: str  # its name in the request's `files` or `adapters`
    path: Path  # the real path that was read
    digest: str
    size: int
    hashed: bool  # False: the digest cache already knew it
    uploaded: bool  # False: Ollama already had the blob, nothing was sent


class TransferTotals(BaseModel):
    files: list[UploadedFile] = Field(default_factory=list)

    @property
    def bytes_uploaded(self) -> int:
        return sum(f.size for f in self.files if f.uploaded)

    @property
    def bytes_skipped(self) -> int:
        return sum(f.size for f in self.files if not f.uploaded)

    @property
    def files_hashed(self) -> int:
        return sum(1 for f in self.files if f.hashed)

    @property
    def digest_cache_hits(self) -> int:
        return sum(1 for f in self.files if not f.hashed)


class CreateResult(BaseModel):
    """What `create_model` did. `digest` is the manifest digest as `/api/tags` shows it."""

    model: str
    digest: str
    statuses: list[str]
    files: list[UploadedFile] = Field(default_factory=list)
    bytes_uploaded: int = 0
    bytes_skipped: int = 0
    files_hashed: int = 0
    digest_cache_hits: int = 0


class PushOutcome(BaseModel):
    model: str
    statuses: list[str]


class PackageReport(CreateResult):
    """What `package_adapter` did, honestly: what was created, sent, skipped and pushed."""

    base_model: str
    base_architecture: str | None
    base_pulled: bool
    adapter: AdapterSummary
    modelfile: str
    push: PushOutcome | None = None
    warnings: list[str] = Field(default_factory=list)
