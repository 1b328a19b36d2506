"""The `options` of generate, chat and embed, checked before they are sent.

Ollama reads `options` with the same names and types as a Modelfile's PARAMETERs
(`tools.api.parameter_table`); it ignores a name it does not know (so a misspelt option silently
does nothing) and fails on a value of the wrong type. JSON cannot carry NaN or infinity, and a
negative temperature, probability or size means nothing, so those are refused here too, with
the option named.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from tools.api.parameter_table import DEPRECATED_PARAMETERS, PARAMETER_TYPES
from tools.errors import ParameterError
from tools.shared.suggest import did_you_mean

OPTION_TYPES: Final = PARAMETER_TYPES  # one struct in Ollama (api.Options) reads both

# Options where a negative number is meaningless (-1 means something for num_predict,
# num_keep, repeat_last_n, num_gpu, main_gpu and seed, so they are not here).
NON_NEGATIVE: Final = frozenset(
    {"temperature", "top_p", "min_p", "typical_p", "top_k", "repeat_penalty", "num_ctx",
     "num_batch", "num_thread"}
)  # fmt: skip


def check_options(options: Mapping[str, Any] | None) -> None:
    """Raise `ParameterError` naming the first option Ollama would ignore or refuse."""
    for name, value in (options or {}).items():
        problem = _problem(name, value)
        if problem:
            raise ParameterError(f"options[{name!r}]: {problem}")


def _problem(name: str, value: Any) -> str | None:
    if name in DEPRECATED_PARAMETERS:
        return None  # Ollama drops these with a warning, as `ollama create` does
    kind = OPTION_TYPES.get(name)
    if kind is None:
        hint = did_you_mean(name, OPTION_TYPES)
        return f"unknown option{hint}; the options are {', '.join(sorted(OPTION_TYPES))}"
    if kind == "bool":
        return None if isinstance(value, bool) else f"must be true or false, not {value!r}"
    if kind == "string_list":
        if isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            return None
        return f"must be a string or a list of strings, not {value!r}"
    if value is None:
        return "must be a number, not null (JSON carries NaN and infinity as null)"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"must be a number, not {value!r}"
    if not math.isfinite(value):
        return f"must be a finite number, not {value!r}"
    if kind == "int" and not float(value).is_integer():
        return f"must be a whole number, not {value!r}"
    if value < 0 and name in NON_NEGATIVE:
        return f"must not be negative, not {value!r}"
    return None
