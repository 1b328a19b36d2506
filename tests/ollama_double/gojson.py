"""Go-compatible encodings: what Ollama's `encoding/json`, `time` and `fmt` put on the wire.

The double has to be byte-faithful where clients could notice: JSON is compact and
HTML-escapes `<>&` (Go's json.Marshal), times are RFC3339 with nanoseconds, durations
parse as `time.ParseDuration` does, and `/api/show` prints parameters with `%#v`.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from decimal import Decimal
from json.encoder import encode_basestring as _encode_string
from typing import Any

_HTML_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def dumps(obj: Any) -> bytes:
    """json.Marshal: compact, UTF-8 kept raw, `<>&` and U+2028/9 escaped, Go's float text."""
    parts: list[str] = []
    _encode(obj, parts)
    text = "".join(parts)
    # Those characters can only occur inside JSON strings, so a plain replace is safe.
    for raw, escaped in _HTML_ESCAPES.items():
        if raw in text:
            text = text.replace(raw, escaped)
    return text.encode()


def _encode(obj: Any, out: list[str]) -> None:
    if isinstance(obj, str):
        out.append(_encode_string(obj))
    elif obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, int):
        out.append(int.__repr__(obj))
    elif isinstance(obj, float):
        out.append(go_float(obj))
    elif isinstance(obj, dict):
        out.append("{")
        for i, (key, value) in enumerate(obj.items()):
            if i:
                out.append(",")
            out.append(_encode_string(key if isinstance(key, str) else str(key)))
            out.append(":")
            _encode(value, out)
        out.append("}")
    elif isinstance(obj, list | tuple):
        out.append("[")
        for i, value in enumerate(obj):
            if i:
                out.append(",")
            _encode(value, out)
        out.append("]")
    else:
        raise TypeError(f"cannot encode {type(obj).__name__} as JSON")


def go_float(value: float) -> str:
    """encoding/json's float64 text: shortest digits, 'e' form only below 1e-6 or from 1e21.

    So 2.0 is `2`, 1e16 is `10000000000000000`, 0.00001 is `0.00001` and 1e-7 is `1e-7`
    (Go drops the exponent's leading zero). A float32 field gives the same text when the
    value is the float32's shortest decimal, as the double keeps them.
    """
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"json: unsupported value: {value}")
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    text = repr(value)
    if abs(value) < 1e-6 or abs(value) >= 1e21:
        mant, _, exp = text.partition("e")  # repr uses the exponent form in both ranges
        power = int(exp)
        return f"{mant}e-{-power}" if power < 0 else f"{mant}e+{power:02d}"
    fixed = format(Decimal(text), "f")
    if "." in fixed:
        fixed = fixed.rstrip("0").rstrip(".")
    return fixed


def go_any(value: Any) -> Any:
    """A JSON value as Go decodes it into `any`: every number becomes a float64."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dict):
        return {k: go_any(v) for k, v in value.items()}
    if isinstance(value, list):
        return [go_any(v) for v in value]
    return value


def encode_line(obj: Any) -> bytes:
    """json.Encoder.Encode: the same bytes plus one newline."""
    return dumps(obj) + b"\n"


def _rfc3339nano(ns: int, utc: bool) -> str:
    secs, frac = divmod(ns, 1_000_000_000)
    dt = datetime.fromtimestamp(secs, tz=UTC) if utc else datetime.fromtimestamp(secs).astimezone()
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    digits = f"{frac:09d}".rstrip("0")
    if digits:
        text += "." + digits
    offset = dt.utcoffset()
    if utc or offset is None or offset.total_seconds() == 0:
        return text + "Z"
    z = dt.strftime("%z")
    return f"{text}{z[:3]}:{z[3:]}"


def utc_now() -> str:
    """`created_at`: time.Now().UTC() in RFC3339Nano."""
    return _rfc3339nano(time.time_ns(), utc=True)


def local_time(ns: int) -> str:
    """`modified_at` / `expires_at`: local time with its offset."""
    return _rfc3339nano(ns, utc=False)


# --- fmt %v / %#v ---------------------------------------------------------------


def _format_g(value: float, eprec: int) -> str:
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign, digit_tuple, exponent = Decimal(repr(value)).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    assert isinstance(exponent, int)
    # decimal point position relative to the digit string
    dp = len(digit_tuple) + exponent
    exp = dp - 1
    prefix = "-" if sign else ""
    if exp < -4 or exp >= eprec:
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        esign = "-" if exp < 0 else "+"
        return f"{prefix}{mant}e{esign}{abs(exp):02d}"
    if dp <= 0:
        return f"{prefix}0.{'0' * -dp}{digits}"
    if dp >= len(digits):
        return f"{prefix}{digits}{'0' * (dp - len(digits))}"
    return f"{prefix}{digits[:dp]}.{digits[dp:]}"


def gofmt_v(value: Any) -> str:
    """fmt %v of a JSON-decoded value; float64 is %g with shortest digits (1e+06 style)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _format_g(float(value), 6)
    if value is None:
        return "<nil>"
    return str(value)


def gofmt_sharp_v(value: Any) -> str:
    """fmt %#v of a JSON-decoded value: Go-quoted strings, float64 as %g."""
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _format_g(float(value), 6)
    if value is None:
        return "<nil>"
    if isinstance(value, dict):
        inner = ", ".join(f"{go_quote(k)}:{gofmt_sharp_v(v)}" for k, v in value.items())
        return "map[string]interface {}{" + inner + "}"
    return str(value)


_GO_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\v": "\\v",
}


def go_quote(s: str) -> str:
    """strconv.Quote: double quotes, Go escapes, printable runes kept."""
    out = ['"']
    for ch in s:
        code = ord(ch)
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif not ch.isprintable() and code > 0x7F:
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


# --- time.ParseDuration -----------------------------------------------------------

_UNITS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,
    "\u03bcs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_MAX_INT64 = (1 << 63) - 1


class DurationError(ValueError):
    pass


def _invalid(orig: str) -> DurationError:
    return DurationError(f"time: invalid duration {go_quote(orig)}")


def parse_duration(orig: str) -> int:
    """time.ParseDuration, returning nanoseconds; errors carry Go's exact text."""
    s = orig
    neg = False
    if s and s[0] in "+-":
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise _invalid(orig)
    total = 0
    while s:
        if not (s[0] == "." or s[0].isdigit()):
            raise _invalid(orig)
        i = 0
        while i < len(s) and "0" <= s[i] <= "9":
            i += 1
        pre = i > 0
        whole = int(s[:i]) if pre else 0
        s = s[i:]
        frac_digits = ""
        post = False
        if s.startswith("."):
            s = s[1:]
            j = 0
            while j < len(s) and "0" <= s[j] <= "9":
                j += 1
            frac_digits = s[:j]
            post = j > 0
            s = s[j:]
        if not pre and not post:
            raise _invalid(orig)
        k = 0
        while k < len(s) and not (s[k] == "." or "0" <= s[k] <= "9"):
            k += 1
        if k == 0:
            raise DurationError(f"time: missing unit in duration {go_quote(orig)}")
        unit_name = s[:k]
        s = s[k:]
        unit = _UNITS.get(unit_name)
        if unit is None:
            raise DurationError(
                f"time: unknown unit {go_quote(unit_name)} in duration {go_quote(orig)}"
            )
        value = whole * unit
        if frac_digits:
            value += int(int(frac_digits) * unit / (10 ** len(frac_digits)))
        if value > _MAX_INT64:
            raise _invalid(orig)
        total += value
        if total > _MAX_INT64:
            raise _invalid(orig)
    return -total if neg else total


def human_number(n: int) -> str:
    """format.HumanNumber: the parameter-size label (8B, 3.2B, 137M, 22.57M, 12K, 500)."""
    if n >= 1_000_000_000:
        x = n / 1e9
        return f"{x:.0f}B" if x == math.floor(x) else f"{x:.1f}B"
    if n >= 1_000_000:
        x = n / 1e6
        return f"{x:.0f}M" if x == math.floor(x) else f"{x:.2f}M"
    if n >= 1_000:
        return f"{n / 1e3:.0f}K"
    return str(n)
