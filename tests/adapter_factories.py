"""Real adapter files for tests, written with the reference libraries (safetensors, gguf, numpy).

Each factory writes small but well-formed files: a PEFT LoRA directory for a llama-shaped model, an
MLX-style adapter, a GGUF LoRA as llama.cpp's converter writes it, and a GGUF *model* (the thing a
user might point at by mistake). `seed` varies the tensor values so two adapters differ in digest.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gguf
import numpy as np
from safetensors.numpy import save_file

HIDDEN = 64
RANK = 4
LAYERS = 2


def lora_tensors(*, hidden: int = HIDDEN, rank: int = RANK, seed: int = 0) -> dict[str, np.ndarray]:
    """PEFT key names and shapes: lora_A is [r, in], lora_B is [out, r]."""
    rng = np.random.default_rng(seed)
    tensors: dict[str, np.ndarray] = {}
    for layer in range(LAYERS):
        for proj in ("q_proj", "v_proj"):
            prefix = f"base_model.model.model.layers.{layer}.self_attn.{proj}"
            tensors[f"{prefix}.lora_A.weight"] = rng.standard_normal((rank, hidden)).astype(
                np.float16
            )
            tensors[f"{prefix}.lora_B.weight"] = np.zeros((hidden, rank), dtype=np.float16)
    return tensors


def adapter_config(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "alpha_pattern": {},
        "base_model_name_or_path": "meta-llama/Llama-3.2-1B-Instruct",
        "bias": "none",
        "fan_in_fan_out": False,
        "inference_mode": True,
        "lora_alpha": 16,
        "lora_dropout": 0.05,
        "peft_type": "LORA",
        "r": RANK,
        "rank_pattern": {},
        "target_modules": ["q_proj", "v_proj"],
        "task_type": "CAUSAL_LM",
        "use_dora": False,
        "use_rslora": False,
    }
    config.update(overrides)
    return config


def write_config(
    folder: Path, config: dict[str, Any] | None = None, *, raw: str | None = None
) -> Path:
    path = folder / "adapter_config.json"
    text = (
        raw if raw is not None else json.dumps(config or adapter_config(), indent=2, sort_keys=True)
    )
    path.write_text(text)
    return path


def write_peft_dir(
    folder: Path,
    *,
    seed: int = 0,
    hidden: int = HIDDEN,
    config: dict[str, Any] | None = None,
    tensors: dict[str, np.ndarray] | None = None,
) -> Path:
    """`adapter_config.json` + `adapter_model.safetensors`, as PEFT's save_pretrained writes."""
    folder.mkdir(parents=True, exist_ok=True)
    write_config(folder, config)
    weights = tensors if tensors is not None else lora_tensors(hidden=hidden, seed=seed)
    save_file(weights, str(folder / "adapter_model.safetensors"), metadata={"format": "pt"})
    return folder


def write_mlx_dir(folder: Path, *, seed: int = 0, hidden: int = HIDDEN) -> Path:
    """MLX-LM's layout: `adapters.safetensors` with lora_a [in, r] / lora_b [r, out]."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    tensors = {}
    for layer in range(LAYERS):
        prefix = f"model.layers.{layer}.self_attn.q_proj"
        tensors[f"{prefix}.lora_a"] = rng.standard_normal((hidden, RANK)).astype(np.float32)
        tensors[f"{prefix}.lora_b"] = np.zeros((RANK, hidden), dtype=np.float32)
    save_file(tensors, str(folder / "adapters.safetensors"))
    config = {
        "fine_tune_type": "lora",
        "lora_parameters": {"rank": RANK, "alpha": 16.0, "scale": 10.0},
    }
    write_config(folder, config)
    return folder


def write_gguf(
    path: Path,
    *,
    arch: str = "llama",
    kind: str | None = "adapter",
    adapter_type: str | None = "lora",
    alpha: float = 16.0,
    seed: int = 0,
    hidden: int = HIDDEN,
    rank: int = RANK,
) -> Path:
    """A GGUF as llama.cpp's convert_lora_to_gguf.py writes it (or a model, with kind="model")."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(path), arch)
    if kind is not None:
        writer.add_string("general.type", kind)
    if adapter_type is not None:
        writer.add_string("adapter.type", adapter_type)
        writer.add_float32("adapter.lora.alpha", alpha)
    if kind == "model":
        writer.add_uint32(f"{arch}.embedding_length", hidden)
        writer.add_token_list([b"<s>", b"</s>", b"hello"])
    rng = np.random.default_rng(seed)
    for layer in range(LAYERS):
        name = f"blk.{layer}.attn_q.weight"
        writer.add_tensor(f"{name}.lora_a", rng.standard_normal((rank, hidden)).astype(np.float32))
        writer.add_tensor(f"{name}.lora_b", np.zeros((hidden, rank), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
