"""Server-side conversions create performs: safetensors LoRA -> GGUF adapter, quantize, templates.

Only shapes, names, metadata and error messages follow Ollama; tensor values are not
repacked the way llama.cpp needs, because nothing runs them.
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path
from typing import Any

import numpy as np

from .ggufs import FILE_TYPE_NUMBERS, write_adapter


class ConvertError(Exception):
    def __init__(self, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


_ADAPTER_REPLACEMENTS = [
    ("base_model.model.", ""),
    ("model.layers", "blk"),
    ("self_attn.q_proj", "attn_q"),
    ("self_attn.k_proj", "attn_k"),
    ("self_attn.v_proj", "attn_v"),
    ("self_attn.o_proj", "attn_output"),
    ("mlp.gate_proj", "ffn_gate"),
    ("mlp.down_proj", "ffn_down"),
    ("mlp.up_proj", "ffn_up"),
    ("lora_A.weight", "weight.lora_a"),
    ("lora_B.weight", "weight.lora_b"),
    ("lora_a", "weight.lora_a"),
    ("lora_b", "weight.lora_b"),
]
_REPLACE_RE = re.compile("|".join(re.escape(a) for a, _ in _ADAPTER_REPLACEMENTS))
_REPLACE_MAP = dict(_ADAPTER_REPLACEMENTS)

_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": None, "F8_E4M3": None}


def rename_tensor(name: str) -> str:
    """strings.Replacer semantics: one left-to-right pass, earlier pairs win at a position."""
    return _REPLACE_RE.sub(lambda m: _REPLACE_MAP[m.group(0)], name)


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Tensors of one file, read the lax way Ollama does (entries without dtype skipped)."""
    data = path.read_bytes()
    if len(data) < 8:
        raise ConvertError("EOF")
    (n,) = struct.unpack("<Q", data[:8])
    try:
        header = json.loads(data[8 : 8 + n])
    except ValueError as exc:
        raise ConvertError(f"invalid safetensors header: {exc}") from exc
    out: dict[str, np.ndarray] = {}
    base = 8 + n
    for key, info in header.items():
        if not isinstance(info, dict) or "dtype" not in info:
            continue
        dtype = info["dtype"]
        if dtype not in _DTYPES:
            raise ConvertError(f"unknown data type: {dtype}")
        begin, end = info["data_offsets"]
        raw = data[base + begin : base + end]
        shape = [int(x) for x in info["shape"]]
        if dtype == "F32":
            arr = np.frombuffer(raw, dtype=np.float32)
        elif dtype == "F16":
            arr = np.frombuffer(raw, dtype=np.float16).astype(np.float32)
        elif dtype == "BF16":
            arr = (np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:  # F8_E4M3: values are not needed by the double, only the shape
            arr = np.zeros(int(np.prod(shape)) if shape else 1, dtype=np.float32)
        out[key] = arr.reshape(shape) if shape else arr
    return out


def lora_alpha(config_bytes: bytes) -> float:
    """AdapterParameters: lora_alpha as uint32, or MLX lora_parameters.alpha when non-zero."""
    try:
        cfg = json.loads(config_bytes)
    except ValueError as exc:
        raise ConvertError(f"invalid character in adapter_config.json: {exc}") from exc
    if not isinstance(cfg, dict):
        raise ConvertError("json: cannot unmarshal into Go value of type convert.AdapterParameters")
    alpha: Any = cfg.get("lora_alpha", 0)
    if alpha is None:
        alpha = 0
    if isinstance(alpha, bool) or not isinstance(alpha, int) or alpha < 0 or alpha >= 1 << 32:
        kind = "number" if isinstance(alpha, int | float) and not isinstance(alpha, bool) else None
        shown = _go_json_literal(config_bytes, "lora_alpha") if kind else _kind(alpha)
        raise ConvertError(
            f"json: cannot unmarshal {shown} into Go struct field "
            "AdapterParameters.lora_alpha of type uint32"
        )
    mlx = cfg.get("lora_parameters") or {}
    mlx_alpha = mlx.get("alpha") if isinstance(mlx, dict) else None
    return float(mlx_alpha) if mlx_alpha else float(alpha)


def _kind(value: Any) -> str:
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, list):
        return "array"
    return "object"


def _go_json_literal(raw: bytes, key: str) -> str:
    """`number 16.0`: Go quotes the literal exactly as it appeared in the file."""
    match = re.search(rb'"' + key.encode() + rb'"\s*:\s*(-?[0-9][0-9.eE+-]*)', raw)
    return "number " + (match.group(1).decode() if match else "?")


def convert_adapter(files: dict[str, Path], base_kv: dict[str, Any], out: Path) -> None:
    """convert.ConvertAdapter for llama and gemma2 bases."""
    if "adapter_config.json" not in files:
        raise ConvertError("open adapter_config.json: no such file or directory", 400)
    alpha = lora_alpha(files["adapter_config.json"].read_bytes())
    arch = str(base_kv.get("general.architecture", ""))
    if not arch:
        raise ConvertError("architecture not set for the base model", 400)
    if arch not in ("llama", "gemma2"):
        raise ConvertError("unsupported architecture", 400)
    weights = sorted(k for k in files if k.endswith(".safetensors") and "/" not in k)
    if not weights:
        raise ConvertError("unknown tensor format", 400)
    tensors: dict[str, np.ndarray] = {}
    for key in weights:
        for name, arr in read_safetensors(files[key]).items():
            new = rename_tensor(name)
            if new in tensors:
                raise ConvertError(f"duplicate tensor name '{new}' was found for this model", 400)
            if arr.ndim == 2 and (
                (new.endswith("weight.lora_a") and arr.shape[0] > arr.shape[1])
                or (new.endswith("weight.lora_b") and arr.shape[0] < arr.shape[1])
            ):
                arr = arr.T
            tensors[new] = np.ascontiguousarray(arr.astype(np.float16))
    extra: dict[str, Any] = {"general.file_type": 1, "general.version": "v0.2"}
    if arch == "llama":
        for key in ("llama.attention.head_count", "llama.attention.head_count_kv"):
            if key in base_kv:
                extra[key] = int(base_kv[key])
    write_adapter(out, arch, tensors, alpha, extra)


QUANT_ALIASES = {"Q4_K": "Q4_K_M"}
QUANT_TARGETS = {"F32", "F16", "BF16", "Q8_0", "Q4_K_S", "Q4_K_M"}


def parse_quant_type(text: str) -> str:
    upper = QUANT_ALIASES.get(text.upper(), text.upper())
    if upper not in QUANT_TARGETS:
        raise ConvertError(
            f"unsupported quantization type {text.upper()} - supported types are "
            "F32, F16, Q4_K_S, Q4_K_M, Q8_0"
        )
    return upper


def retype_gguf(src: Path, dst: Path, file_type: str) -> None:
    """A copy of `src` whose general.file_type says `file_type` (the 'quantized' model)."""
    data = bytearray(src.read_bytes())
    key = b"general.file_type"
    marker = struct.pack("<Q", len(key)) + key
    idx = data.find(marker)
    number = FILE_TYPE_NUMBERS[file_type]
    if idx >= 0:
        at = idx + len(marker)
        (vtype,) = struct.unpack_from("<I", data, at)
        if vtype == 4:  # uint32
            struct.pack_into("<I", data, at + 4, number)
    dst.write_bytes(bytes(data))


def check_template(text: str) -> None:
    """A cheap stand-in for text/template.Parse: balanced actions and blocks."""
    depth = 0
    pos = 0
    for match in re.finditer(r"\{\{(.*?)\}\}", text, flags=re.S):
        line = text.count("\n", 0, match.start()) + 1
        between = text[pos : match.start()]
        if "}}" in between:
            raise ConvertError(f'template error: template: :{line}: unexpected "}}"', 400)
        pos = match.end()
        action = match.group(1).strip().lstrip("-").rstrip("-").strip()
        word = action.split(" ", 1)[0] if action else ""
        if word in ("if", "range", "with", "define", "block"):
            depth += 1
        elif word == "end":
            depth -= 1
            if depth < 0:
                raise ConvertError(
                    f"template error: template: :{line}: unexpected {{{{end}}}}", 400
                )
    rest = text[pos:]
    if "{{" in rest:
        line = text.count("\n", 0, pos + rest.index("{{")) + 1
        raise ConvertError(f"template error: template: :{line}: unclosed action", 400)
    if depth > 0:
        line = text.count("\n") + 1
        raise ConvertError(f"template error: template: :{line}: unexpected EOF", 400)
