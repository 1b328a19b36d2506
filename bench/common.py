"""What every figure shares: the settings, the result record, timing, and the big file.

The big file is a real GGUF LoRA adapter (llama architecture, 3072-wide like the double's
`llama3.2:latest`), so one file serves every figure: it is hashed, uploaded and packaged.
"""

from __future__ import annotations

import hashlib
import os
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

MiB = 1 << 20

# The GGUF adapter's shape: llama3.2 3B has 28 layers and a 3072-wide hidden state.
ADAPTER_HIDDEN = 3072
ADAPTER_LAYERS = 28
ADAPTER_PROJECTIONS = ("attn_q", "attn_v")
_GGUF_ALIGNMENT = 32
_GGUF_F32 = 0
_GGUF_TYPE_STRING = 8
_GGUF_TYPE_FLOAT32 = 6
_FILL_BLOCK = 4 * MiB

Detail = int | float | str


@dataclass(frozen=True)
class Settings:
    size_mib: int
    quick: bool
    smoke: bool = False  # the smallest run that still measures every figure: for the test

    @property
    def memory_size_mib(self) -> int:
        """The adapter packaged through MCP for the server's peak memory: twice the big file."""
        return 2 * self.size_mib

    @property
    def mcp_calls(self) -> int:
        """Single MCP calls (and direct requests) timed for each call figure."""
        return 20 if self.smoke else 200 if self.quick else 1000

    @property
    def startup_runs(self) -> int:
        return 1 if self.smoke else 3 if self.quick else 7

    @property
    def pull_lines(self) -> int:
        """Progress lines the double streams for one pull."""
        return 2_000 if self.smoke else 20_000 if self.quick else 100_000

    @property
    def concurrent_calls(self) -> int:
        return 32

    @property
    def repeats(self) -> int:
        """Runs of each timed step (the best counts), and rounds of the event-loop figures."""
        return 1 if self.smoke else 2 if self.quick else 5

    @property
    def metadata_calls(self) -> int:
        return 50 if self.quick else 200


@dataclass(frozen=True)
class Figure:
    """One figure: `ratio` = `numerator` / `denominator`, both measured in this run."""

    key: str
    title: str
    ratio: float
    numerator: float
    denominator: float
    ratio_of: str  # "what / what", e.g. "sha256_file time / hashlib.file_digest time"
    unit: str  # of numerator and denominator
    healthy: str  # the ratio a healthy build gives, for the reader
    details: dict[str, Detail] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        key: str,
        title: str,
        numerator: float,
        denominator: float,
        *,
        ratio_of: str,
        unit: str,
        healthy: str,
        details: dict[str, Detail] | None = None,
    ) -> Figure:
        ratio = numerator / denominator if denominator else float("inf")
        return cls(
            key, title, ratio, numerator, denominator, ratio_of, unit, healthy, details or {}
        )


@dataclass(frozen=True)
class BigFile:
    path: Path  # a real path inside `Workspace.root`
    size: int
    digest: str  # sha256:<hex>, from hashlib
    rank: int
    tensors: int


@dataclass(frozen=True)
class Workspace:
    """The run's temporary folder (resolved: `AllowedRoots` compares real paths) and big file."""

    root: Path
    big: BigFile
    settings: Settings

    def folder(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=False)
        return path


# --- timing ---------------------------------------------------------------------------------


def timed(work: Callable[[], object]) -> float:
    """Seconds `work()` took."""
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


# --- files ----------------------------------------------------------------------------------


def file_digest(path: Path) -> str:
    """The standard library's answer, the reference for `tools.packaging.blobs.sha256_file`."""
    with path.open("rb") as stream:
        return f"sha256:{hashlib.file_digest(stream, 'sha256').hexdigest()}"


def write_big_adapter(path: Path, size_mib: int) -> BigFile:
    """Write a GGUF LoRA adapter of about `size_mib` MiB, streamed (never whole in memory).

    The layout is GGUF v3 as llama.cpp's convert_lora_to_gguf.py writes it: `general.type`
    adapter, `adapter.type` lora, one lora_a/lora_b pair of F32 tensors per projection and layer;
    the rank is chosen to reach the size. Tensor values are random bytes (a repeated block), so
    no filesystem can compress or skip them. Reading it back for its digest leaves the whole
    file in the page cache, so every figure reads it from memory.
    """
    pairs = ADAPTER_LAYERS * len(ADAPTER_PROJECTIONS)
    per_rank = 2 * pairs * ADAPTER_HIDDEN * 4
    rank = max(1, round(size_mib * MiB / per_rank))
    tensor_bytes = rank * ADAPTER_HIDDEN * 4  # a multiple of the alignment: no padding between

    infos: list[tuple[str, tuple[int, int]]] = []
    for layer in range(ADAPTER_LAYERS):
        for projection in ADAPTER_PROJECTIONS:
            name = f"blk.{layer}.{projection}.weight"
            # GGUF lists dimensions innermost first: lora_a is [r, in], lora_b is [out, r].
            infos.append((f"{name}.lora_a", (ADAPTER_HIDDEN, rank)))
            infos.append((f"{name}.lora_b", (rank, ADAPTER_HIDDEN)))
    metadata: list[tuple[str, int, bytes]] = [
        ("general.architecture", _GGUF_TYPE_STRING, _gguf_string("llama")),
        ("general.type", _GGUF_TYPE_STRING, _gguf_string("adapter")),
        ("adapter.type", _GGUF_TYPE_STRING, _gguf_string("lora")),
        ("adapter.lora.alpha", _GGUF_TYPE_FLOAT32, struct.pack("<f", 16.0)),
    ]

    header = bytearray(b"GGUF")
    header += struct.pack("<IQQ", 3, len(infos), len(metadata))
    for key, value_type, value in metadata:
        header += _gguf_string(key) + struct.pack("<I", value_type) + value
    for index, (name, dims) in enumerate(infos):
        header += _gguf_string(name) + struct.pack("<I", len(dims))
        header += struct.pack(f"<{len(dims)}Q", *dims)
        header += struct.pack("<IQ", _GGUF_F32, index * tensor_bytes)
    header += bytes(-len(header) % _GGUF_ALIGNMENT)

    block = os.urandom(_FILL_BLOCK)
    remaining = len(infos) * tensor_bytes
    with path.open("wb") as stream:
        stream.write(header)
        while remaining:
            n = min(remaining, len(block))
            stream.write(block[:n])
            remaining -= n
    size = path.stat().st_size
    return BigFile(path, size, file_digest(path), rank, len(infos))


def _gguf_string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw
