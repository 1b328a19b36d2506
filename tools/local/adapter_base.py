"""Whether a base model can take a LoRA adapter: the facts `/api/show` gives about the base,
checked against what `inspect_adapter` found. Hard mismatches raise `AdapterBaseMismatch`;
a loose disagreement (the hub id the adapter was trained on) is a warning.
"""

from __future__ import annotations

from pydantic import BaseModel

from tools.errors import AdapterBaseMismatch
from tools.local.adapters import AdapterInfo

SAFETENSORS_BASE_ARCHITECTURES = frozenset({"llama", "gemma2"})
"""Base GGUF architectures Ollama converts safetensors adapters for (convert.ConvertAdapter)."""


class BaseModelFacts(BaseModel):
    """What `/api/show` says about the base, reduced to what the checks need."""

    name: str
    architecture: str | None = None  # model_info general.architecture, else details.family
    embedding_length: int | None = None
    capabilities: tuple[str, ...] = ()


def check_base(adapter: AdapterInfo, base: BaseModelFacts) -> list[str]:
    """Raise `AdapterBaseMismatch` if the base cannot take the adapter; return softer warnings.

    Hard failures: a safetensors adapter on a base Ollama cannot convert for; a GGUF adapter whose
    architecture differs from the base's; a projection size that differs from the base's hidden
    size. `base_model_name_or_path` is only compared loosely (a hub id and an Ollama tag rarely
    match exactly), so a disagreement there is a warning.
    """
    arch = base.architecture
    if base.capabilities and "completion" not in base.capabilities:
        raise AdapterBaseMismatch(
            f"base model {base.name!r} cannot generate text (capabilities: "
            f"{', '.join(base.capabilities)}); a LoRA adapter needs a completion model"
        )
    if adapter.needs_conversion and arch not in SAFETENSORS_BASE_ARCHITECTURES:
        raise AdapterBaseMismatch(
            f"base model {base.name!r} has architecture {arch!r}; Ollama converts safetensors "
            "LoRA adapters only onto 'llama' or 'gemma2' bases; pick such a base, or convert the "
            "adapter to GGUF first (llama.cpp convert_lora_to_gguf.py)"
        )
    if adapter.architecture is not None and arch is not None and adapter.architecture != arch:
        raise AdapterBaseMismatch(
            f"the GGUF adapter was made for architecture {adapter.architecture!r} but base model "
            f"{base.name!r} is {arch!r}"
        )
    if (
        adapter.hidden_size
        and base.embedding_length
        and adapter.hidden_size != base.embedding_length
    ):
        raise AdapterBaseMismatch(
            f"the adapter's projections take inputs of size {adapter.hidden_size} but base model "
            f"{base.name!r} has embedding length {base.embedding_length}; it was trained on a "
            "model of another size"
        )
    warnings: list[str] = []
    trained_on = adapter.base_model_name_or_path
    expected = guess_architecture(trained_on) if trained_on else None
    if trained_on and expected and arch and expected != arch:
        warnings.append(
            f"adapter_config.json says the adapter was trained on {trained_on!r} (a {expected} "
            f"model) but base model {base.name!r} is {arch!r}"
        )
    return warnings


# Ordered: the first marker found in a hub id names the GGUF architecture Ollama gives that family.
_ARCH_MARKERS: tuple[tuple[str, str], ...] = (
    ("gemma-2", "gemma2"),
    ("gemma2", "gemma2"),
    ("gemma-3", "gemma3"),
    ("gemma3", "gemma3"),
    ("gemma", "gemma"),
    ("qwen3", "qwen3"),
    ("qwen2", "qwen2"),
    ("phi-3", "phi3"),
    ("phi3", "phi3"),
    ("mistral", "llama"),
    ("llama", "llama"),
)


def guess_architecture(model_id: str) -> str | None:
    """A loose guess at a hub id's GGUF architecture, e.g. 'meta-llama/Llama-3.2-1B' → 'llama'."""
    text = model_id.lower()
    for marker, arch in _ARCH_MARKERS:
        if marker in text:
            return arch
    return None
