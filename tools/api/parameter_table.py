"""Ollama's parameter table: the names `api.Options` and `api.Runner` read, with their types.

One struct in Ollama reads both a request's `options` and a Modelfile's `PARAMETER`s, so the
wire layer (`tools.api.options`) and the Modelfile layer (`tools.modelfile.parameters`) share
this one table; it lives here, at the bottom, so neither imports upward (contract 3.1).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Literal, TypeAlias

ParameterType: TypeAlias = Literal["float", "int", "bool", "string_list"]

PARAMETER_TYPES: Final[Mapping[str, ParameterType]] = MappingProxyType(
    {
        # api.Options
        "num_keep": "int",
        "seed": "int",
        "num_predict": "int",
        "top_k": "int",
        "top_p": "float",
        "min_p": "float",
        "typical_p": "float",
        "repeat_last_n": "int",
        "temperature": "float",
        "repeat_penalty": "float",
        "presence_penalty": "float",
        "frequency_penalty": "float",
        "stop": "string_list",
        # api.Runner (main_gpu is *int and use_mmap *bool in Go; typed the same way)
        "num_ctx": "int",
        "num_batch": "int",
        "num_gpu": "int",
        "main_gpu": "int",
        "use_mmap": "bool",
        "num_thread": "int",
        "draft_num_predict": "int",
    }
)
"""Every name a Modelfile PARAMETER may use, with the type its value is sent as."""

DEPRECATED_PARAMETERS: Final[frozenset[str]] = frozenset(
    {
        "penalize_newline",
        "low_vram",
        "f16_kv",
        "logits_all",
        "vocab_only",
        "use_mlock",
        "mirostat",
        "mirostat_tau",
        "mirostat_eta",
    }
)
"""Names `ollama create` warns about and drops instead of rejecting."""
