"""Modelfile `PARAMETER`s: names and typed values, checked the way `ollama create` checks them.

Contract 3.1 lists the names Ollama knows and their Go types; 3.2 gives the rules of the CLI path
(`api.FormatParams`), which this module follows to the letter:

* an unknown name is `unknown parameter 'X'` (names are case-sensitive);
* the nine deprecated names are warned about (`parameter X is deprecated`) and dropped, whatever
  their value; other removed names (`numa`, `tfs_z`, `num_gqa`, ...) are unknown;
* values are typed float32, int64 or bool with Go's `strconv` syntax; a bad one is
  `invalid float value [x]`, `invalid int value [x]` or `invalid bool value [x]`;
* `stop` collects every value into a list; any other name keeps its last value.

One deliberate difference: Go accepts `inf` and `nan` as floats and the CLI then fails to encode
the request as JSON; here they are refused at once as `invalid float value [...]`.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType
from typing import Final, TypeAlias

from tools.api.parameter_table import DEPRECATED_PARAMETERS as DEPRECATED_PARAMETERS
from tools.api.parameter_table import PARAMETER_TYPES as PARAMETER_TYPES
from tools.api.parameter_table import ParameterType as ParameterType
from tools.errors import ParameterError
from tools.modelfile.go_literals import go_unquote

ParameterValue: TypeAlias = float | int | bool | list[str]


_GO_BOOLS: Final[Mapping[str, bool]] = MappingProxyType(
    {
        **dict.fromkeys(("1", "t", "T", "TRUE", "true", "True"), True),
        **dict.fromkeys(("0", "f", "F", "FALSE", "false", "False"), False),
    }
)
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_GO_DECIMAL_INT = re.compile(r"[+-]?[0-9]+", re.ASCII)
# Go strconv.ParseFloat syntax: the characters are checked here, underscores separately below.
_GO_DECIMAL_FLOAT = re.compile(
    r"[+-]?(?:[0-9_]+\.?[0-9_]*|\.[0-9_]+)(?:[eE][+-]?[0-9_]+)?", re.ASCII
)
_GO_HEX_FLOAT = re.compile(
    r"[+-]?0[xX](?:[0-9a-fA-F_]+\.?[0-9a-fA-F_]*|\.[0-9a-fA-F_]+)[pP][+-]?[0-9_]+", re.ASCII
)
_GO_SPECIAL_FLOAT = re.compile(r"[+-]?(?:inf|infinity)|nan", re.ASCII | re.IGNORECASE)


class ParameterWarning(UserWarning):
    """A parameter was left out."""


class DeprecatedParameterWarning(ParameterWarning):
    """A deprecated parameter was dropped, as `ollama create` drops it."""


@dataclass(frozen=True, slots=True)
class TypedParameters:
    """The `parameters` object of a create request, and the names dropped on the way."""

    values: dict[str, ParameterValue]
    deprecated: tuple[str, ...] = ()


def parameter_type(name: str) -> ParameterType:
    """The type of a known parameter; `ParameterError` (`unknown parameter 'X'`) otherwise."""
    try:
        return PARAMETER_TYPES[name]
    except KeyError:
        raise ParameterError(f"unknown parameter '{name}'") from None


def parse_parameter_value(name: str, text: str) -> float | int | bool | str:
    """One PARAMETER value typed as `ollama create` types it; a `stop` value stays a string.

    Deprecated names are not handled here (see `typed_parameters`): they are unknown.
    """
    kind = parameter_type(name)
    if kind == "float":
        number = _parse_go_float32(text)
        if number is None:
            raise ParameterError(f"invalid float value [{text}]")
        return number
    if kind == "int":
        if _GO_DECIMAL_INT.fullmatch(text) and _INT64_MIN <= int(text) <= _INT64_MAX:
            return int(text)
        raise ParameterError(f"invalid int value [{text}]")
    if kind == "bool":
        if text in _GO_BOOLS:
            return _GO_BOOLS[text]
        raise ParameterError(f"invalid bool value [{text}]")
    return text


def typed_parameters(pairs: Iterable[tuple[str, str]]) -> TypedParameters:
    """The typed `parameters` of a create request from `(name, text)` pairs in Modelfile order.

    Deprecated names are dropped with a `DeprecatedParameterWarning`; `stop` values accumulate.
    """
    values: dict[str, ParameterValue] = {}
    deprecated: list[str] = []
    for name, text in pairs:
        # Ollama looks at the deprecated list first, so their values are never checked.
        if name in DEPRECATED_PARAMETERS:
            warnings.warn(f"parameter {name} is deprecated", DeprecatedParameterWarning, 2)
            deprecated.append(name)
            continue
        value = parse_parameter_value(name, text)
        if isinstance(value, str):
            stops = values.setdefault(name, [])
            assert isinstance(stops, list)  # only `stop` is a string list
            stops.append(value)
        else:
            values[name] = value
    return TypedParameters(values, tuple(deprecated))


def parameter_texts(name: str, value: object) -> list[str]:
    """The Modelfile text of a Python value for `name` (one text per `stop` entry), checked.

    Booleans are written `true`/`false`, numbers as Python writes them. Every text is checked
    with `parse_parameter_value`, so errors carry Ollama's wording.
    """
    kind = parameter_type(name)
    items = list(value) if isinstance(value, list | tuple) else [value]
    if kind != "string_list" and len(items) != 1:
        raise ParameterError(f"parameter '{name}' takes one value, not {len(items)}")
    texts = [_value_text(name, item) for item in items]
    for text in texts:
        parse_parameter_value(name, text)
    return texts


def show_parameter_texts(shown: str) -> list[tuple[str, str]]:
    """`(name, text)` pairs for Modelfile PARAMETERs from `/api/show`'s `parameters` field.

    Each line there is `fmt.Sprintf("%-30s %#v", name, value)` of the JSON-decoded value: a Go
    string literal, `true`/`false`, or a float64 printed with `%v` (so `1048576` shows as
    `1.048576e+06`, which is turned back into an int for int parameters). Parameters that
    `ollama create` would drop or refuse are left out with a `ParameterWarning`.
    """
    pairs: list[tuple[str, str]] = []
    for line in shown.split("\n"):
        name, _, printed = line.partition(" ")
        if not name:
            continue
        try:
            pairs.append((name, _shown_value_text(name, printed.lstrip(" "))))
        except ValueError as problem:
            warnings.warn(f"parameter {name} left out: {problem}", ParameterWarning, 2)
    return pairs


def _shown_value_text(name: str, printed: str) -> str:
    if name in DEPRECATED_PARAMETERS:
        raise ParameterError(f"parameter {name} is deprecated")
    kind = parameter_type(name)
    text = go_unquote(printed) if printed.startswith('"') else printed
    if kind == "int" and not printed.startswith('"'):
        number = float(text)
        if number.is_integer():
            text = str(int(number))
    parse_parameter_value(name, text)
    return text


def _value_text(name: str, value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return str(value)
    if isinstance(value, float):
        # repr is the shortest text that reads back as the same number, which Go parses too.
        return repr(value)
    raise ParameterError(
        f"parameter '{name}' cannot take a value of type {type(value).__name__}: {value!r}"
    )


def _parse_go_float32(text: str) -> float | None:
    """Go `strconv.ParseFloat(text, 32)` as a float32, or None where Go fails (or gives inf/nan).

    The result is the shortest decimal that reads back as the same float32, which is what Go's
    JSON encoder sends (`0.7`, not `0.699999988079071`).
    """
    if _GO_SPECIAL_FLOAT.fullmatch(text):
        return None
    is_hex = _GO_HEX_FLOAT.fullmatch(text) is not None
    if not is_hex and not _GO_DECIMAL_FLOAT.fullmatch(text):
        return None
    if "_" in text and not _go_underscores_ok(text):
        return None
    digits = text.replace("_", "")
    exact = _hex_float(digits) if is_hex else Fraction(digits)
    magnitude = _nearest_float32(abs(exact))
    if magnitude is None:
        return None
    negative = digits.startswith("-")
    return -_shortest_float32_text(magnitude) if negative else _shortest_float32_text(magnitude)


def _go_underscores_ok(text: str) -> bool:
    """Go's rule: an underscore only between two digits, or between a base prefix and a digit."""
    body = text.lstrip("+-")
    hex_digits = body[:2].lower() == "0x"
    last = "digit" if hex_digits else "start"
    for char in body[2:] if hex_digits else body:
        if "0" <= char <= "9" or (hex_digits and char.lower() in "abcdef"):
            last = "digit"
        elif char == "_":
            if last != "digit":
                return False
            last = "underscore"
        elif last == "underscore":
            return False
        else:
            last = "other"
    return last != "underscore"


def _hex_float(text: str) -> Fraction:
    mantissa, _, exponent = text.lstrip("+-")[2:].lower().partition("p")
    whole, _, fraction = mantissa.partition(".")
    significand = int(whole + fraction or "0", 16)
    return Fraction(significand) * Fraction(2) ** (int(exponent) - 4 * len(fraction))


_FLOAT32_MANTISSA_BITS: Final = 23
_FLOAT32_MIN_EXPONENT: Final = -126
_FLOAT32_MAX_EXPONENT: Final = 127


def _nearest_float32(magnitude: Fraction) -> float | None:
    """The float32 nearest to a non-negative exact value (ties to even); None if it overflows.

    Done on the exact value, because rounding through a float64 first can go the wrong way.
    """
    if magnitude == 0:
        return 0.0
    exponent = magnitude.numerator.bit_length() - magnitude.denominator.bit_length()
    if Fraction(2) ** exponent > magnitude:
        exponent -= 1
    # Subnormals share the smallest exponent and simply have fewer significant bits.
    exponent = max(exponent, _FLOAT32_MIN_EXPONENT)
    unit = Fraction(2) ** (exponent - _FLOAT32_MANTISSA_BITS)
    steps = round(magnitude / unit)  # Fraction rounds half to even
    if steps == 2 ** (_FLOAT32_MANTISSA_BITS + 1):
        steps, exponent = steps // 2, exponent + 1
        unit *= 2
    if exponent > _FLOAT32_MAX_EXPONENT:
        return None
    return float(steps * unit)


def _shortest_float32_text(value: float) -> float:
    for digits in range(1, 10):
        shorter = float(f"{value:.{digits}g}")
        # Go sends the shortest decimal that reads back as the same float32.
        if _nearest_float32(Fraction(shorter)) == value:
            return shorter
    return value  # pragma: no cover - nine significant digits always identify a float32
