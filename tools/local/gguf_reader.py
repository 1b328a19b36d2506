"""Read a GGUF file's header (magic, version, key/value metadata) without touching tensor data.

Layout (contract 13.3): magic `GGUF`, uint32 version, tensor count, KV count, then the KV pairs.
Version 3 is today's; 2 is read too, and 1 as Ollama still reads it (32-bit counts, strings ending
in NUL). Only scalar values are kept; arrays (a model's tokenizer holds hundreds of thousands of
strings) are skipped and only their length is recorded. Reading stops after the KV pairs, or
earlier once every `wanted` key has been seen or `stop_before` says so, so tensor data is never
read.

Every length in the file is checked against the file size first, so a corrupt or hostile header
cannot make the reader allocate or loop beyond the file. Malformed input raises `GGUFFormatError`
(a `ValueError`).
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from tools.errors import GGUFFormatError
from tools.local.path_gate import open_regular

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (1, 2, 3)
MAX_KEY_BYTES = 65_535
MAX_KEPT_STRING_BYTES = 1 << 20  # longer strings (chat templates) are skipped, not kept
_READ_BUFFER = 1 << 16

Scalar = int | float | bool | str
StopBefore = Callable[[str, Mapping[str, Scalar]], bool]
"""Called with each key and the values read so far; True ends the scan before that key."""

# value type id -> (struct code, byte size) for fixed-size scalars
_FIXED: dict[int, tuple[str, int]] = {
    0: ("B", 1),
    1: ("b", 1),
    2: ("H", 2),
    3: ("h", 2),
    4: ("I", 4),
    5: ("i", 4),
    6: ("f", 4),
    7: ("?", 1),
    10: ("Q", 8),
    11: ("q", 8),
    12: ("d", 8),
}
_STRING = 8
_ARRAY = 9


@dataclass(frozen=True)
class GGUFHeader:
    version: int
    tensor_count: int
    kv_count: int
    big_endian: bool
    metadata: dict[str, Scalar] = field(default_factory=dict)
    """Scalar values only; skipped long strings are absent."""
    array_lengths: dict[str, int] = field(default_factory=dict)
    complete: bool = True
    """False when reading stopped early (every wanted key seen, or `stop_before` said so)."""

    def string(self, key: str) -> str | None:
        value = self.metadata.get(key)
        return value if isinstance(value, str) else None

    def number(self, key: str) -> float | None:
        value = self.metadata.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return value


class _Reader:
    def __init__(self, stream: BinaryIO, path: Path, size: int, endian: str, version: int) -> None:
        self.stream = stream
        self.path = path
        self.size = size
        self.endian = endian
        self.version = version
        self.pos = 0

    def fail(self, problem: str) -> GGUFFormatError:
        return GGUFFormatError(self.path, problem)

    def read(self, n: int) -> bytes:
        if n > self.size - self.pos:
            raise self.fail(f"truncated header (needs {n} bytes at offset {self.pos})")
        data = self.stream.read(n)
        if len(data) != n:
            raise self.fail(f"truncated header (file ended at offset {self.pos + len(data)})")
        self.pos += n
        return data

    def skip(self, n: int) -> None:
        if n > self.size - self.pos:
            raise self.fail(f"truncated header (needs {n} bytes at offset {self.pos})")
        self.stream.seek(n, os.SEEK_CUR)
        self.pos += n

    def unpack(self, code: str, n: int) -> int | float | bool:
        value: int | float | bool = struct.unpack(self.endian + code, self.read(n))[0]
        return value

    def u32(self) -> int:
        return int(self.unpack("I", 4))

    def u64(self) -> int:
        return int(self.unpack("Q", 8))

    def count(self) -> int:
        """A tensor or KV count: 32 bits in version 1, 64 after."""
        return self.u32() if self.version == 1 else self.u64()

    def text(self, raw: bytes) -> bytes:
        """Version 1 strings end in a NUL that is not part of the text."""
        return raw[:-1] if self.version == 1 and raw.endswith(b"\0") else raw

    def string_length(self, limit: int) -> int:
        n = self.u64()
        if n > limit or n > self.size - self.pos:
            raise self.fail(
                f"string of {n} bytes at offset {self.pos - 8} is longer than the file allows"
            )
        return n

    def key(self) -> str:
        raw = self.text(self.read(self.string_length(MAX_KEY_BYTES)))
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail(f"metadata key at offset {self.pos - len(raw)} is not UTF-8") from None

    def value(self, vtype: int) -> Scalar | None:
        """Read one value; returns None for values that are skipped (arrays, long strings)."""
        if vtype in _FIXED:
            code, n = _FIXED[vtype]
            return self.unpack(code, n)
        if vtype == _STRING:
            n = self.string_length(self.size)
            if n > MAX_KEPT_STRING_BYTES:
                self.skip(n)
                return None
            return self.text(self.read(n)).decode("utf-8", errors="replace")
        raise self.fail(f"unknown metadata value type {vtype} at offset {self.pos - 4}")

    def skip_array(self) -> int:
        item_type = self.u32()
        count = self.u64()
        if item_type in _FIXED:
            self.skip(count * _FIXED[item_type][1])
        elif item_type == _STRING:
            if count * 8 > self.size - self.pos:  # each string has at least its 8-byte length
                raise self.fail(f"array of {count} strings is longer than the file allows")
            for _ in range(count):
                self.skip(self.string_length(self.size))
        elif item_type == _ARRAY:
            if count * 12 > self.size - self.pos:
                raise self.fail(f"array of {count} arrays is longer than the file allows")
            for _ in range(count):
                self.skip_array()
        else:
            raise self.fail(f"unknown array item type {item_type} at offset {self.pos - 12}")
        return count


def read_gguf_header(
    path: str | os.PathLike[str],
    *,
    wanted: Collection[str] = (),
    stop_before: StopBefore | None = None,
) -> GGUFHeader:
    """Read the header of the GGUF file at `path` (an already gated real path). Blocking I/O."""
    real = Path(path)
    with io.BufferedReader(open_regular(real), _READ_BUFFER) as stream:
        size = os.fstat(stream.fileno()).st_size
        return _parse(stream, real, size, frozenset(wanted), stop_before)


def _parse(
    stream: BinaryIO,
    path: Path,
    size: int,
    wanted: frozenset[str],
    stop_before: StopBefore | None,
) -> GGUFHeader:
    head = stream.read(8)
    if len(head) < 8 or head[:4] != GGUF_MAGIC:
        raise GGUFFormatError(path, "not a GGUF file (it does not start with the GGUF magic)")
    (version,) = struct.unpack("<I", head[4:8])
    big_endian = version & 0xFFFF == 0 and version != 0  # gguf-py's test for a byte-swapped file
    if big_endian:
        (version,) = struct.unpack(">I", head[4:8])
    if version not in SUPPORTED_VERSIONS:
        raise GGUFFormatError(
            path, f"unsupported GGUF version {version} (versions 1 to 3 are read)"
        )
    reader = _Reader(stream, path, size, ">" if big_endian else "<", version)
    reader.pos = 8
    tensor_count = reader.count()
    kv_count = reader.count()
    if kv_count * 13 > size:  # each pair needs at least an 8-byte length, a type and a 1-byte value
        raise reader.fail(f"metadata count {kv_count} is larger than the file allows")

    metadata: dict[str, Scalar] = {}
    array_lengths: dict[str, int] = {}
    remaining = set(wanted)
    for index in range(kv_count):
        key = reader.key()
        if stop_before is not None and stop_before(key, metadata):
            return GGUFHeader(
                version, tensor_count, kv_count, big_endian, metadata, array_lengths, False
            )
        vtype = reader.u32()
        if vtype == _ARRAY:
            array_lengths[key] = reader.skip_array()
        else:
            value = reader.value(vtype)
            if value is not None:
                metadata[key] = value
        remaining.discard(key)
        if wanted and not remaining and index + 1 < kv_count:
            return GGUFHeader(
                version, tensor_count, kv_count, big_endian, metadata, array_lengths, False
            )
    return GGUFHeader(version, tensor_count, kv_count, big_endian, metadata, array_lengths)
