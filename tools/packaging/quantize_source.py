"""Will Ollama quantize this source? Checked before any upload, so that a create Ollama would
refuse half way (`quantization is only supported for F16, BF16 and F32 models`, after gigabytes
were sent) is refused at once, in Ollama's words, with what to do.

Ollama quantizes only the model's weights (the `model` layer), never an adapter or a projector,
and only from F16, BF16 or F32 as `KV.FileType` reads them (server/create.go, createModel).
"""

from __future__ import annotations

from typing import Final

from tools.api.quantize import ONLY_UNQUANTIZED, can_quantize_from
from tools.api.types import ShowResponse
from tools.errors import NotQuantizable
from tools.local.gguf_reader import read_gguf_header
from tools.modelfile.create_plan import CreatePlan

# ggml.FileType(n).String() for the types a downloaded GGUF has; 0 (F32) reads as unknown.
_FILE_TYPES: Final = {
    1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S",
    12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M",
    18: "Q6_K", 32: "BF16",
}  # fmt: skip
_NOT_WEIGHTS: Final = ("adapter", "projector", "mmproj")


def check_installed_source(
    model: str, shown: ShowResponse, quantize: str, *, adapter: bool
) -> None:
    """`NotQuantizable` when the installed model `model` (shown) is not F16, BF16 or F32."""
    level = shown.details.quantization_level or "unknown"
    if can_quantize_from(level):
        return
    if adapter:
        raise NotQuantizable(
            f"{ONLY_UNQUANTIZED}: base model {model!r} is {level}, and Ollama never quantizes "
            f"the adapter itself; to get a {quantize} model, package the adapter onto an F16 or "
            f"BF16 base (create one from its F16 GGUF), or leave quantize out to keep {level}"
        )
    raise NotQuantizable(
        f"{ONLY_UNQUANTIZED}: FROM {model!r} is {level}; create from its F16 or BF16 weights "
        f"(a GGUF or safetensors folder), or leave quantize out to keep {level}"
    )


def check_local_source(plan: CreatePlan) -> None:
    """`NotQuantizable` when the one GGUF the plan uploads as the model's weights is of another
    type. Blocking (reads the file's header): run it in a worker thread."""
    weights = [u for u in plan.uploads if u.section == "files" and u.key.endswith(".gguf")]
    if plan.from_model is not None or len(weights) != 1:
        return  # a FROM model is checked from /api/show; split or mixed files are left to Ollama
    upload = weights[0]
    header = read_gguf_header(upload.path, wanted=("general.type", "general.file_type"))
    if header.string("general.type") in _NOT_WEIGHTS:
        return
    number = header.number("general.file_type")
    level = _FILE_TYPES.get(int(number), "unknown") if number else "unknown"
    if can_quantize_from(level):
        return
    raise NotQuantizable(
        f"{ONLY_UNQUANTIZED}: {upload.key} is {level}"
        + (" (general.file_type 0, F32, reads as unknown in Ollama)" if number == 0 else "")
        + "; create from the F16 or BF16 GGUF, or leave quantize out to keep its type"
    )
