"""The few GGUF header values `/api/tags` falls back on (contract 12.6 step 4), read the way
Ollama's list reads them: scan the key/value pairs and stop at the first `tokenizer.*` key after
`general.architecture`, so the large tokenizer arrays are never walked.

The early stop is part of what Ollama reports (a key after the tokenizer keys is not seen), so it
is kept here, on top of the general header reader.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tools.errors import GGUFFormatError
from tools.local.gguf_reader import Scalar, read_gguf_header

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


@dataclass(frozen=True)
class ListFallbacks:
    """What the list takes from the model blob when the config lacks it (0 = absent)."""

    context_length: int = 0
    embedding_length: int = 0
    file_type: str = "unknown"


def file_type_name(number: int) -> str:
    """Ollama's name for a ggml file type number (`FileType.String`); "unknown" for numbers it
    does not name. Read from a GGUF, 0 never gets here (see `read_list_fallbacks`)."""
    if 0 <= number < len(_FILE_TYPES) and _FILE_TYPES[number] != "-":
        return _FILE_TYPES[number]
    return "unknown"


def read_list_fallbacks(path: Path) -> ListFallbacks:
    """Scan the header of the GGUF at `path`. Raises `GGUFFormatError` or `OSError`."""
    header = read_gguf_header(path, stop_before=_tokenizer_after_architecture)
    values = header.metadata
    arch = values.get("general.architecture")
    if not isinstance(arch, str):
        arch = ""
    # Ollama reads general.file_type as "unknown" when it is missing or 0 (contract 12.4).
    file_type = _integer(values, "general.file_type")
    return ListFallbacks(
        (_integer(values, f"{arch}.context_length") or 0) if arch else 0,
        (_integer(values, f"{arch}.embedding_length") or 0) if arch else 0,
        file_type_name(file_type) if file_type else "unknown",
    )


def _tokenizer_after_architecture(key: str, seen: Mapping[str, Scalar]) -> bool:
    # Ollama's list stops reading at the first tokenizer key once it knows the architecture.
    return key.startswith("tokenizer.") and "general.architecture" in seen


def _integer(values: Mapping[str, Scalar], key: str) -> int | None:
    value = values.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


__all__ = ["GGUFFormatError", "ListFallbacks", "file_type_name", "read_list_fallbacks"]
