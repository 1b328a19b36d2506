"""The `quantize` values Ollama's create accepts, checked before anything is sent.

Ollama upper-cases the value (`strings.ToUpper`, server/create.go) and parses it with
`ggml.ParseFileType` (fs/ggml/type.go): F32, F16, BF16, Q8_0, Q4_K_S, and Q4_K_M (also spelled
Q4_K). Any other value is refused there as `unsupported quantization type X - supported types are
F32, F16, Q4_K_S, Q4_K_M, Q8_0` (BF16 parses but is not in that list).
"""

from __future__ import annotations

from typing import Final

from tools.errors import InvalidArgument
from tools.shared.suggest import did_you_mean

QUANTIZE_TYPES: Final = ("F32", "F16", "BF16", "Q8_0", "Q4_K_S", "Q4_K_M", "Q4_K")
"""Every spelling `ggml.ParseFileType` takes, upper case."""

LISTED_TYPES: Final = ("F32", "F16", "Q4_K_S", "Q4_K_M", "Q8_0")
"""The types Ollama's refusal lists, in its order."""

QUANTIZE_CHOICES: Final = "Q4_K_M, Q4_K_S, Q8_0, F16, BF16, F32 (any case)"

SOURCE_TYPES: Final = ("F16", "BF16", "F32")
"""The only file types create quantizes from. Ollama reads `general.file_type` 0 (F32) as
unknown (`KV.FileType`), so in practice an all-F32 GGUF is refused too."""

ONLY_UNQUANTIZED: Final = "quantization is only supported for F16, BF16 and F32 models"
SOURCE_HINT: Final = (
    "the source is already quantized (or an F32 file, whose type Ollama reads as unknown): "
    "create from its F16 or BF16 weights, or leave quantize out to keep its type"
)


def can_quantize_from(level: str) -> bool:
    """Whether create quantizes a model whose `quantization_level` (file type) is `level`."""
    return level.upper() in SOURCE_TYPES


def check_quantize(value: str | None) -> str | None:
    """`value` upper-cased as Ollama reads it; `InvalidArgument` with the list for another value."""
    if value is None or value == "":
        return None
    wanted = value.upper()
    if wanted in QUANTIZE_TYPES:
        return wanted
    hint = did_you_mean(wanted, QUANTIZE_TYPES)
    raise InvalidArgument(
        f"unsupported quantization type {wanted} - supported types are "
        f"{', '.join(LISTED_TYPES)}{hint}"
    )
