"""An adapter's `adapter_config.json` (PEFT's, or MLX-LM's `lora_parameters`), read as bounded
JSON and checked the way Ollama's converter decodes it: a LoRA, integer fields that fit a Go
uint32, a positive rank; what it leaves unsaid (no alpha, a DoRA) becomes a warning.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from tools.errors import InvalidAdapter
from tools.local.adapter_files import ADAPTER_CONFIG_NAME
from tools.local.path_gate import open_regular

MAX_CONFIG_BYTES = 4 << 20

# Fields Ollama's converter decodes into Go uint32: a float literal such as 16.0 fails there.
_UINT32_FIELDS = ("lora_alpha", "lora_layers", "num_attention_heads", "num_key_value_heads")
_UINT32_MAX = 2**32 - 1


class AdapterConfig(BaseModel):
    """What an adapter_config.json says that matters to Ollama, as its converter reads it."""

    rank: int | None = None
    alpha: float | None = None
    target_modules: list[str] | str | None = None
    base_model: str | None = None
    warnings: tuple[str, ...] = ()


def read_config(real: Path) -> AdapterConfig:
    """The adapter_config.json at `real` (a path the gate returned), bounded and checked."""
    with open_regular(real) as stream:
        raw = stream.read(MAX_CONFIG_BYTES + 1)
    if len(raw) > MAX_CONFIG_BYTES:
        raise InvalidAdapter(
            real, f"too large for an {ADAPTER_CONFIG_NAME} (over {MAX_CONFIG_BYTES} bytes)"
        )
    try:
        config = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidAdapter(real, f"not valid JSON: {exc}") from None
    if not isinstance(config, dict):
        raise InvalidAdapter(real, "not a JSON object")
    return parse_adapter_config(real, config)


def parse_adapter_config(path: str | os.PathLike[str], config: dict[str, Any]) -> AdapterConfig:
    """Check the fields Ollama reads (and the ones that show what the adapter is)."""
    warnings: list[str] = []
    mlx = config.get("lora_parameters")
    peft_type = config.get("peft_type")
    if peft_type is not None:
        if not isinstance(peft_type, str) or peft_type.upper() != "LORA":
            raise InvalidAdapter(
                path, f"peft_type is {peft_type!r}, not 'LORA'; Ollama only takes LoRA adapters"
            )
    elif isinstance(mlx, dict):
        kind = config.get("fine_tune_type", "lora")
        if kind != "lora":
            raise InvalidAdapter(
                path, f"fine_tune_type is {kind!r}, not 'lora'; Ollama only takes LoRA adapters"
            )
    else:
        raise InvalidAdapter(
            path,
            'does not say it is a LoRA adapter: no "peft_type" (PEFT writes "peft_type": "LORA")',
        )

    for name in _UINT32_FIELDS:
        _require_uint32(path, name, config.get(name))
    mlx_alpha: float | None = None
    mlx_rank: int | None = None
    if isinstance(mlx, dict):
        _require_uint32(path, "lora_parameters.rank", mlx.get("rank"))
        mlx_rank = mlx.get("rank")
        for name in ("alpha", "scale"):
            value = mlx.get(name)
            if value is not None and not _is_number(value):
                raise InvalidAdapter(
                    path, f"lora_parameters.{name} must be a number, not {value!r}"
                )
        if mlx.get("alpha"):
            mlx_alpha = float(mlx["alpha"])
        elif mlx.get("scale") not in (None, 0):
            warnings.append(
                "adapter_config.json gives an MLX lora_parameters.scale but no alpha; Ollama "
                "ignores scale, so the adapter will be applied at scale 1"
            )
    elif mlx is not None:
        raise InvalidAdapter(path, "lora_parameters must be an object")

    # Ollama prefers a non-zero MLX alpha, else lora_alpha (convert.AdapterParameters.KV).
    alpha = mlx_alpha if mlx_alpha else _as_float(config.get("lora_alpha"))
    if not alpha:
        warnings.append(
            "adapter_config.json has no lora_alpha; Ollama will store alpha 0, which llama.cpp "
            "treats as a LoRA scale of 1"
        )

    rank = config.get("r", mlx_rank)
    if rank is not None and (not _is_int(rank) or rank <= 0):
        raise InvalidAdapter(path, f"r (the LoRA rank) must be a positive integer, not {rank!r}")
    if config.get("use_dora"):
        warnings.append(
            "this is a DoRA adapter (use_dora); Ollama converts only the lora_A/lora_B weights and "
            "keeps the magnitude vectors under their own names, so results may differ"
        )
    targets = config.get("target_modules")
    if not (isinstance(targets, str) or _is_str_list(targets)):
        targets = None
    base = config.get("base_model_name_or_path")
    return AdapterConfig(
        rank=rank,
        alpha=alpha or None,
        target_modules=targets,
        base_model=base if isinstance(base, str) and base else None,
        warnings=tuple(warnings),
    )


def _require_uint32(path: str | os.PathLike[str], name: str, value: Any) -> None:
    if value is None or (_is_int(value) and 0 <= value <= _UINT32_MAX):
        return
    if isinstance(value, float) and value.is_integer() and 0 <= value <= _UINT32_MAX:
        raise InvalidAdapter(
            path,
            f"{name} is {value!r}, written with a decimal point; Ollama reads {name} as an "
            f"unsigned integer and rejects it (json: cannot unmarshal number {value!r} into "
            f"uint32); write {int(value)} instead",
        )
    raise InvalidAdapter(
        path, f"{name} must be a whole number from 0 to {_UINT32_MAX}, not {value!r}"
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_float(value: Any) -> float | None:
    return float(value) if _is_number(value) else None


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)
