"""Reading Go's double-quoted string literals, as `fmt` `%#v` and `strconv.Quote` write them.

`/api/show` prints string parameters this way (contract 2.8), e.g. `"<|eot_id|>"` or `"\\n\\n"`.
"""

from __future__ import annotations

from typing import Final

from tools.errors import GoLiteralError

_SIMPLE_ESCAPES: Final = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    '"': '"',
}
_HEX_DIGITS: Final = frozenset("0123456789abcdefABCDEF")


def go_unquote(literal: str) -> str:
    """The string a Go double-quoted literal stands for; `ValueError` if it is not one.

    `\\x` and octal escapes are bytes, so several can make one UTF-8 character; bytes that do not
    form UTF-8 become U+FFFD, as Go prints them.
    """
    if len(literal) < 2 or literal[0] != '"' or literal[-1] != '"':
        raise GoLiteralError(f"not a Go string literal: {literal!r}")
    body = literal[1:-1]
    out = bytearray()
    index = 0
    while index < len(body):
        char = body[index]
        if char == '"' or char == "\n":
            raise GoLiteralError(f"not a Go string literal: {literal!r}")
        if char != "\\":
            out += char.encode("utf-8", "surrogatepass")
            index += 1
            continue
        kind = body[index + 1 : index + 2]
        if kind in _SIMPLE_ESCAPES:
            out += _SIMPLE_ESCAPES[kind].encode()
            index += 2
        elif kind in ("x", "u", "U"):
            width = {"x": 2, "u": 4, "U": 8}[kind]
            digits = body[index + 2 : index + 2 + width]
            if len(digits) != width or not set(digits) <= _HEX_DIGITS:
                raise GoLiteralError(f"bad escape in Go string literal: {literal!r}")
            number = int(digits, 16)
            if kind == "x":
                out.append(number)
            elif number > 0x10FFFF or 0xD800 <= number <= 0xDFFF:
                raise GoLiteralError(f"bad escape in Go string literal: {literal!r}")
            else:
                out += chr(number).encode("utf-8")
            index += 2 + width
        elif kind and kind in "01234567":
            digits = body[index + 1 : index + 4]
            if len(digits) != 3 or not set(digits) <= set("01234567") or int(digits, 8) > 255:
                raise GoLiteralError(f"bad escape in Go string literal: {literal!r}")
            out.append(int(digits, 8))
            index += 4
        else:
            raise GoLiteralError(f"bad escape in Go string literal: {literal!r}")
    return out.decode("utf-8", "replace")
