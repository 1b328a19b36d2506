"""Small but valid GGUF files (written with gguf-py) and the facts Ollama reads from them."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gguf
import numpy as np

GGUF_MAGIC = b"GGUF"

# general.file_type numbers -> the names Ollama shows as quantization_level
FILE_TYPES = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    32: "BF16",
}
FILE_TYPE_NUMBERS = {v: k for k, v in FILE_TYPES.items()}


@dataclass
class ModelSpec:
    """What goes into a generated model GGUF."""

    arch: str
    name: str
    context_length: int = 4096
    embedding_length: int = 8
    block_count: int = 1
    head_count: int = 2
    file_type: int = 15
    pooling_type: int | None = None  # set for embedding-only models
    chat_template: str | None = None
    filler_bytes: int = 0  # extra tensor data, so layers can have a chosen size
    extra_kv: dict[str, Any] = field(default_factory=dict)


def _tokens() -> list[str]:
    return ["<unk>", "<s>", "</s>", "a", "b", "c", "d", "e"]


def write_model(path: Path, spec: ModelSpec) -> None:
    """A GGUF with the keys Ollama needs, one tiny tensor and optional filler data."""
    writer = gguf.GGUFWriter(str(path), spec.arch)
    writer.add_type("model")
    writer.add_name(spec.name)
    writer.add_context_length(spec.context_length)
    writer.add_embedding_length(spec.embedding_length)
    writer.add_block_count(spec.block_count)
    writer.add_head_count(spec.head_count)
    writer.add_head_count_kv(spec.head_count)
    writer.add_file_type(spec.file_type)
    writer.add_quantization_version(2)
    if spec.pooling_type is not None:
        writer.add_pooling_type(gguf.PoolingType(spec.pooling_type))
    for key, value in spec.extra_kv.items():
        if isinstance(value, str):
            writer.add_string(key, value)
        elif isinstance(value, bool):
            writer.add_bool(key, value)
        elif isinstance(value, int):
            writer.add_uint32(key, value)
        elif isinstance(value, float):
            writer.add_float32(key, value)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(_tokens())
    if spec.chat_template:
        writer.add_chat_template(spec.chat_template)
    rows = len(_tokens())
    width = min(spec.embedding_length, 64)  # declared length is real; tensors stay tiny
    data = np.linspace(-1.0, 1.0, rows * width, dtype=np.float32)
    writer.add_tensor("token_embd.weight", data.reshape(rows, width))
    writer.add_tensor("output_norm.weight", np.ones(width, dtype=np.float32))
    filler_elems = spec.filler_bytes // 4
    if filler_elems:
        # Declared here, written below in slices, so big layers never sit in memory.
        writer.add_tensor_info(
            "filler.weight", (filler_elems,), np.dtype(np.float32), filler_elems * 4
        )
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    _write_tensor_data(writer, filler_elems)
    writer.close()


def _write_tensor_data(writer: gguf.GGUFWriter, filler_elems: int) -> None:
    fout = writer.fout[0] if isinstance(writer.fout, list) else writer.fout
    assert fout is not None
    tensors = writer.tensors[0] if isinstance(writer.tensors, list) else writer.tensors
    writer.write_padding(fout, fout.tell())
    for name, info in tensors.items():
        if name == "filler.weight":
            remaining = filler_elems * 4
            block = bytes(min(remaining, 1 << 20))
            while remaining > 0:
                n = min(remaining, len(block))
                fout.write(block[:n])
                remaining -= n
        else:
            assert info.tensor is not None
            info.tensor.tofile(fout)
        writer.write_padding(fout, info.nbytes)
        info.tensor = None
    fout.flush()
    # The writer thinks the tensors are still pending; tell it they are done.
    writer.state = gguf.gguf_writer.WriterState.WEIGHTS


def write_adapter(
    path: Path,
    arch: str,
    tensors: dict[str, np.ndarray],
    alpha: float,
    extra: dict[str, Any] | None = None,
) -> None:
    """A LoRA adapter GGUF as llama.cpp and Ollama write it (general.type=adapter)."""
    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_type("adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(alpha))
    for key, value in (extra or {}).items():
        if isinstance(value, str):
            writer.add_string(key, value)
        elif isinstance(value, int):
            writer.add_uint32(key, value)
        elif isinstance(value, float):
            writer.add_float32(key, value)
    for name, array in tensors.items():
        writer.add_tensor(name, array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def has_gguf_magic(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(4) == GGUF_MAGIC
    except OSError:
        return False


@dataclass
class GGUFInfo:
    kv: dict[str, Any]  # arrays as lists
    tensors: list[dict[str, Any]]
    parameter_count: int

    @property
    def arch(self) -> str:
        return str(self.kv.get("general.architecture", ""))

    @property
    def kind(self) -> str:
        return str(self.kv.get("general.type", ""))

    def arch_key(self, suffix: str) -> Any:
        return self.kv.get(f"{self.arch}.{suffix}")

    @property
    def file_type_name(self) -> str:
        return file_type_name(self.kv.get("general.file_type"))

    def list_kv(self) -> dict[str, Any]:
        """What /api/tags reads: the KV pairs up to the first tokenizer.* key after the arch."""
        out: dict[str, Any] = {}
        seen_arch = False
        for key, value in self.kv.items():
            if seen_arch and key.startswith("tokenizer."):
                break
            seen_arch = seen_arch or key == "general.architecture"
            out[key] = value
        return out

    def model_info(self, verbose: bool) -> dict[str, Any]:
        """/api/show model_info: all KV but name and chat template; arrays null unless verbose.

        Keys come out sorted, as Go marshals a map.
        """
        out: dict[str, Any] = {}
        for key, value in self.kv.items():
            if key in ("general.name", "tokenizer.chat_template"):
                continue
            if isinstance(value, list) and not verbose and value:
                out[key] = None
            else:
                out[key] = value
        out["general.parameter_count"] = self.parameter_count
        return dict(sorted(out.items()))


def file_type_name(ft: Any) -> str:
    """ggml.FileType(n).String(); a missing key or 0 reads as "unknown"."""
    if not ft:
        return "unknown"
    return FILE_TYPES.get(int(ft), "unknown")


def _field_value(field_: Any) -> Any:
    types = field_.types
    if not types:
        return None
    if types[0] == gguf.GGUFValueType.ARRAY:
        items = field_.contents()
        if len(types) > 1 and types[1] == gguf.GGUFValueType.FLOAT32:
            return [_f32(x) for x in items]
        return [_py(x) for x in items]
    value = field_.contents()
    if types[0] == gguf.GGUFValueType.FLOAT32:
        return _f32(value)
    return _py(value)


def _py(x: Any) -> Any:
    return x.item() if isinstance(x, np.generic) else x


def _f32(x: Any) -> float:
    # Go marshals float32 with 32-bit shortest digits; str() of a numpy float32 matches.
    return float(str(np.float32(x)))


_cache: dict[str, GGUFInfo] = {}
_cache_lock = threading.Lock()


def read_info(path: Path, cache_key: str | None = None) -> GGUFInfo:
    """Parse a GGUF's KV pairs and tensor table (cached per blob digest: blobs never change)."""
    key = cache_key or f"{path}:{os.stat(path).st_mtime_ns}"
    with _cache_lock:
        found = _cache.get(key)
    if found is not None:
        return found
    reader = gguf.GGUFReader(str(path))
    kv: dict[str, Any] = {}
    for name, fld in reader.fields.items():
        if name.startswith("GGUF."):
            continue
        kv[name] = _field_value(fld)
    tensors = []
    count = 0
    for t in reader.tensors:
        tensors.append(
            {"name": t.name, "type": t.tensor_type.name, "shape": [int(d) for d in t.shape]}
        )
        count += int(t.n_elements)
    info = GGUFInfo(kv, tensors, count)
    with _cache_lock:
        _cache[key] = info
    return info
