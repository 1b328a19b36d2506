"""The few GGUF header values `/api/tags` falls back on (contract 12.6 step 4), read the way
Ollama's list reads them: scan the key/value pairs and stop at the first `tokenizer.*` key after
`general.architecture`, so the large tokenizer arrays are never walked.

This is deliberately not `tools.gguf_reader` (the general header reader for uploads): the list's
early stop is part of what Ollama reports (a key after the tokenizer keys is not seen), and the
list also reads version-1 files.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_MAGIC_LE = b"GGUF"
_MAGIC_BE = b"FUGG"  # the magic as a big-endian writer's uint32 reads back
_MAX_STRING = 1 << 30  # no header key or value is anywhere near this; a larger one is corrupt
_FIXED_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_INT_CODES = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 10: "Q", 11: "q"}
_STRING, _ARRAY = 8, 9

# ggml file types by number, named as Ollama names them (fs/ggml FileType.String).
# fmt: off
_FILE_TYPES = (
    "F32", "F16", "Q4_0", "Q4_1", "-", "-", "-", "Q8_0", "Q5_0", "Q5_1",  # 0-9
    "Q2_K", "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K",  # 10-18
    "IQ2_XXS", "IQ2_XS", "Q2_K_S", "IQ3_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S", "IQ3_M",  # -27
    "IQ2_S", "IQ2_M", "IQ4_XS", "IQ1_M", "BF16", "-", "-", "-", "TQ1_0", "TQ2_0",  # 28-37
    "MXFP4_MOE", "NVFP4", "Q1_0",  # 38-40
)
# fmt: on


class GGUFHeaderError(ValueError):
    """The model blob's header could not be read."""


@dataclass(frozen=True)
class ListFallbacks:
    """What the list takes from the model blob when the config lacks it (0 / "" = absent)."""

    context_length: int = 0
    embedding_length: int = 0
    file_type: str = ""


def file_type_name(number: int) -> str:
    """Ollama's name for a ggml file type number; "unknown" for numbers it does not name."""
    if 0 <= number < len(_FILE_TYPES) and _FILE_TYPES[number] != "-":
        return _FILE_TYPES[number]
    return "unknown"


def read_list_fallbacks(path: Path) -> ListFallbacks:
    """Scan the header of the GGUF at `path`. Raises `GGUFHeaderError` or `OSError`."""
    with path.open("rb", buffering=1 << 15) as stream:
        return _Scanner(stream).scan()


class _Scanner:
    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.order = "<"
        self.version = 3

    def scan(self) -> ListFallbacks:
        magic = self.read(4)
        if magic == _MAGIC_BE:
            self.order = ">"
        elif magic != _MAGIC_LE:
            raise GGUFHeaderError("not a GGUF file")
        self.version = self.integer("I")
        if self.version == 1:  # version 1 counts in 32 bits
            _, kv_count = self.integer("I"), self.integer("I")
        else:
            _, kv_count = self.integer("Q"), self.integer("Q")
        arch = ""
        context = embedding = 0
        file_type = ""
        for _ in range(kv_count):
            key = self.string()
            vtype = self.integer("I")
            if key == "general.architecture":
                arch = self.string_value(vtype)
            elif key == "general.file_type":
                file_type = file_type_name(self.int_value(vtype))
            elif arch and key.startswith("tokenizer."):
                break
            elif arch and key == f"{arch}.context_length":
                context = self.int_value(vtype)
            elif arch and key == f"{arch}.embedding_length":
                embedding = self.int_value(vtype)
            else:
                self.skip_value(vtype)
        return ListFallbacks(context, embedding, file_type)

    # --- primitives ----------------------------------------------------------------------------

    def read(self, n: int) -> bytes:
        data = self.stream.read(n)
        if len(data) != n:
            raise GGUFHeaderError("the header ends early")
        return data

    def integer(self, code: str) -> int:
        value: int = struct.unpack(self.order + code, self.read(struct.calcsize(code)))[0]
        return value

    def string(self) -> str:
        length = self.integer("Q")
        if length > _MAX_STRING:
            raise GGUFHeaderError(f"a string of {length} bytes")
        raw = self.read(length)
        if self.version == 1 and raw.endswith(b"\0"):
            raw = raw[:-1]
        return raw.decode("utf-8", errors="replace")

    def string_value(self, vtype: int) -> str:
        if vtype != _STRING:
            self.skip_value(vtype)
            raise GGUFHeaderError(f"general.architecture has value type {vtype}")
        return self.string()

    def int_value(self, vtype: int) -> int:
        if vtype not in _INT_CODES:
            self.skip_value(vtype)
            raise GGUFHeaderError(f"an integer key has value type {vtype}")
        return self.integer(_INT_CODES[vtype])

    def skip_value(self, vtype: int) -> None:
        if vtype in _FIXED_SIZES:
            self.skip(_FIXED_SIZES[vtype])
        elif vtype == _STRING:
            self.skip(self.integer("Q"))
        elif vtype == _ARRAY:
            item_type, count = self.integer("I"), self.integer("Q")
            if item_type in _FIXED_SIZES:
                self.skip(count * _FIXED_SIZES[item_type])
            elif item_type == _STRING:
                for _ in range(count):
                    self.skip(self.integer("Q"))
            else:
                raise GGUFHeaderError(f"an array of value type {item_type}")
        else:
            raise GGUFHeaderError(f"value type {vtype}")

    def skip(self, n: int) -> None:
        if n > _MAX_STRING:
            raise GGUFHeaderError(f"a value of {n} bytes")
        self.stream.seek(n, os.SEEK_CUR)  # past the end is caught by the next read
