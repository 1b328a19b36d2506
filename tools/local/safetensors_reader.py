"""Check a `.safetensors` file from its header alone; tensor data is never read.

Layout (contract 13.2): an unsigned 64-bit little-endian length N, N bytes of UTF-8 JSON (padded
with spaces), then the tensor bytes. The checks are those of the reference reader: the header fits
the file, is a JSON object, `__metadata__` maps strings to strings, every dtype is known, and the
tensors, sorted by offset, tile the data buffer exactly (no gap, no overlap, each the size its shape
and dtype say, the last one ending at the end of the file). Failures raise `SafetensorsFormatError`
(a `ValueError`) whose text follows the reference reader's wording.
"""

from __future__ import annotations

import io
import json
import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.errors import SafetensorsFormatError
from tools.local.path_gate import open_regular

MAX_HEADER_BYTES = 100_000_000
METADATA_KEY = "__metadata__"

DTYPE_BITS: dict[str, int] = {
    "BOOL": 8,
    "U8": 8,
    "I8": 8,
    "I16": 16,
    "U16": 16,
    "I32": 32,
    "U32": 32,
    "I64": 64,
    "U64": 64,
    "F16": 16,
    "BF16": 16,
    "F32": 32,
    "F64": 64,
    "C64": 64,
    "F8_E4M3": 8,
    "F8_E5M2": 8,
    "F8_E8M0": 8,
    "F8_E4M3FNUZ": 8,
    "F8_E5M2FNUZ": 8,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
}


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int


@dataclass(frozen=True)
class SafetensorsHeader:
    header_length: int
    data_length: int
    tensors: dict[str, TensorInfo]
    metadata: dict[str, str] | None


def read_safetensors_header(path: str | os.PathLike[str]) -> SafetensorsHeader:
    """Read and check the header of the safetensors file at `path` (a gated real path). Blocking."""
    real = Path(path)
    with open_regular(real) as stream:
        file_size = os.fstat(stream.fileno()).st_size
        return _parse(stream, real, file_size)


def _parse(stream: io.FileIO, path: Path, file_size: int) -> SafetensorsHeader:
    def fail(problem: str) -> SafetensorsFormatError:
        return SafetensorsFormatError(path, problem)

    prefix = stream.read(8)
    if len(prefix) < 8:
        raise fail("header too small")
    (n,) = struct.unpack("<Q", prefix)
    if n > MAX_HEADER_BYTES:
        raise fail("header too large")
    if 8 + n > file_size:
        raise fail("invalid header length")
    raw = _read_exactly(stream, n)
    if len(raw) != n:
        raise fail("invalid header length")
    try:
        header: Any = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise fail(f"invalid JSON in header: {exc}") from None
    if not isinstance(header, dict):
        raise fail("invalid JSON in header: not an object")

    metadata = header.pop(METADATA_KEY, None)
    if metadata is not None and not (
        isinstance(metadata, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
    ):
        raise fail(f"{METADATA_KEY} must map strings to strings")

    tensors = {name: _tensor(path, name, entry) for name, entry in header.items()}
    data_length = file_size - 8 - n
    offset = 0
    for info in sorted(tensors.values(), key=lambda t: (t.begin, t.end)):
        if info.begin != offset or info.end < info.begin:
            raise fail(f"invalid offset for tensor {info.name}")
        bits = math.prod(info.shape) * DTYPE_BITS[info.dtype]
        if bits % 8 or info.end - info.begin != bits // 8:
            raise fail(f"invalid shape, data type, or offset for tensor {info.name}")
        offset = info.end
    if offset != data_length:
        raise fail("incomplete metadata, file not fully covered")
    return SafetensorsHeader(n, data_length, tensors, metadata)


def _read_exactly(stream: io.FileIO, n: int) -> bytes:
    chunks: list[bytes] = []
    remaining = n
    while remaining:
        chunk = stream.read(min(remaining, 1 << 24))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _tensor(path: Path, name: str, entry: Any) -> TensorInfo:
    def fail(problem: str) -> SafetensorsFormatError:
        return SafetensorsFormatError(path, problem)

    if not isinstance(entry, dict):
        raise fail(f"invalid entry for tensor {name}")
    dtype = entry.get("dtype")
    shape = entry.get("shape")
    offsets = entry.get("data_offsets")
    if not isinstance(dtype, str) or dtype not in DTYPE_BITS:
        raise fail(f"unknown data type {dtype!r} for tensor {name}")
    if not isinstance(shape, list) or not all(_is_count(d) for d in shape):
        raise fail(f"invalid shape for tensor {name}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_count(o) for o in offsets)):
        raise fail(f"invalid offset for tensor {name}")
    return TensorInfo(name, dtype, tuple(shape), offsets[0], offsets[1])


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
