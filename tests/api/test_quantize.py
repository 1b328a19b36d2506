"""`quantize` values as Ollama's create reads them (upper-cased, `ggml.ParseFileType`)."""

from __future__ import annotations

import pytest

from tools.api.quantize import QUANTIZE_TYPES, check_quantize
from tools.errors import InvalidArgument


@pytest.mark.parametrize("value", [*QUANTIZE_TYPES, "q4_K_M", "q8_0", "q4_k_s", "f16"])
def test_every_value_ollama_parses_is_taken_upper_cased(value: str) -> None:
    assert check_quantize(value) == value.upper()


def test_no_quantize_is_no_value() -> None:
    assert check_quantize(None) is None
    assert check_quantize("") is None


def test_an_unknown_value_gets_ollamas_list_and_a_suggestion() -> None:
    with pytest.raises(InvalidArgument) as refused:
        check_quantize("q4_K_L")
    assert str(refused.value) == (
        "unsupported quantization type Q4_K_L - supported types are "
        "F32, F16, Q4_K_S, Q4_K_M, Q8_0 (did you mean 'Q4_K_S'?)"
    )
