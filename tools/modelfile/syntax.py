"""The Modelfile grammar of `ollama create`, character for character (contract 6.1).

Reading (`lex`) is a character state machine with Ollama's rules and error texts:

* instructions are ASCII letters, case-insensitive, ended by a space or a tab; anything else
  right after one (a newline, a digit, `-`) is `command must be one of ...` on the line where it
  was seen, so a bare `FROM` is reported on the *next* line;
* a `#` first on a line starts a comment; anywhere else it is text;
* a PARAMETER name is `[A-Za-z0-9_]*` and a MESSAGE role `[A-Za-z]*` (checked against
  system/user/assistant, case-sensitive); any other character there is `unexpected EOF: <so far>`;
* a value runs to the first line break at which its trimmed text "unquotes": it is bare (no
  leading `"`), or `"..."`, or wrapped in triple quotes; an open quote carries on over line
  breaks, which are kept. There are no escapes. Characters that are not printable (other than
  space, tab and line breaks) are dropped;
* `\\r` counts as a line break, also for line numbers (so CRLF files count two per line).

Writing (`encode_value`) picks bare, `"..."` or triple quotes, keeps only a form that this very
reader turns back into the same value, and otherwise refuses with `UnrepresentableValueError`:
no value can end early and let its tail be read as another instruction.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import Enum, auto
from typing import Final, Literal, TypeAlias

from tools.errors import ModelfileError, UnrepresentableValueError

INSTRUCTIONS: Final = (
    "from",
    "license",
    "template",
    "system",
    "adapter",
    "draft",
    "renderer",
    "parser",
    "parameter",
    "message",
    "requires",
)
MESSAGE_ROLES: Final = ("system", "user", "assistant")

INVALID_COMMAND: Final = (
    'command must be one of "from", "license", "template", "system", "adapter", "draft", '
    '"renderer", "parser", "parameter", "message", or "requires"'
)
INVALID_ROLE: Final = 'message role must be one of "system", "user", or "assistant"'
UNEXPECTED_EOF: Final = "unexpected EOF"
NO_FROM_LINE: Final = "no FROM line"

_BLANKS: Final = " \t"
_LINE_BREAKS: Final = "\r\n"
_TRIMMED: Final = _BLANKS + _LINE_BREAKS  # Go's TrimSpace, on the characters a value can hold

ValueStyle: TypeAlias = Literal["plain", "block", "unquoted"]
"""How `encode_value` writes a value: `plain` is bare when it can be, `block` prefers triple
quotes, `unquoted` is bare or refused."""


@dataclass(frozen=True, slots=True)
class RawCommand:
    """One instruction as read: lower-case `instruction`, `name` (parameter name or message
    role, else empty) and `value`."""

    instruction: str
    name: str
    value: str


def decode_modelfile(data: bytes) -> str:
    """Modelfile bytes as text: UTF-8 (a BOM is dropped), or UTF-16 when a UTF-16 BOM says so."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", "replace")
    if data.startswith(b"\xfe\xff"):
        return data[2:].decode("utf-16-be", "replace")
    if data.startswith(b"\xff\xfe"):
        return data[2:].decode("utf-16-le", "replace")
    return data.decode("utf-8", "replace")


class _State(Enum):
    BETWEEN = auto()  # before an instruction
    COMMENT = auto()
    INSTRUCTION = auto()
    PARAMETER_NAME = auto()
    MESSAGE_ROLE = auto()
    VALUE = auto()


class _Value:
    """The text of a value being read, with what it takes to test its end in constant time."""

    def __init__(self) -> None:
        self.chars: list[str] = []
        self.first: int | None = None  # first character that Go's TrimSpace keeps
        self.last = -1  # last such character

    def add(self, text: str) -> None:
        for offset, char in enumerate(text):
            if char not in _TRIMMED:
                if self.first is None:
                    self.first = len(self.chars) + offset
                self.last = len(self.chars) + offset
        self.chars.extend(text)

    def closed(self) -> str | None:
        """The value if the text so far, trimmed, is complete (`unquote` succeeds), else None."""
        first, last, chars = self.first, self.last, self.chars
        if first is None:
            return ""
        if chars[first : first + 3] == ['"', '"', '"']:
            if last - first + 1 >= 6 and chars[last - 2 : last + 1] == ['"', '"', '"']:
                return "".join(chars[first + 3 : last - 2])
            return None
        if chars[first] == '"':
            if last > first and chars[last] == '"':
                return "".join(chars[first + 1 : last])
            return None
        return "".join(chars[first : last + 1])


def _is_letter(char: str) -> bool:
    return "a" <= char <= "z" or "A" <= char <= "Z"


def _is_name_char(char: str) -> bool:
    return _is_letter(char) or "0" <= char <= "9" or char == "_"


def _kept(text: str) -> str:
    """Text as a value keeps it: printable characters, spaces and tabs."""
    if text.isprintable():
        return text
    return "".join(char for char in text if char.isprintable() or char == "\t")


def lex(text: str) -> list[RawCommand]:
    """The instructions of a Modelfile, in order; `ModelfileError` as Ollama reports it.

    Does not require a FROM line (the caller does).
    """
    commands: list[RawCommand] = []
    state = _State.BETWEEN
    line = 1
    word: list[str] = []  # instruction, parameter name or role read so far
    instruction = name = ""
    value = _Value()
    index, end = 0, len(text)
    while index < end:
        if state is _State.VALUE:
            # Everything up to the next line break belongs to the value; only there can it end.
            stop = min(
                (found for found in (text.find("\r", index), text.find("\n", index)) if found >= 0),
                default=end,
            )
            value.add(_kept(text[index:stop]))
            if stop == end:
                break
            line += 1
            index = stop + 1
            done = value.closed()
            if done is None:
                value.add(text[stop])
            else:
                commands.append(RawCommand(instruction, name, done))
                state = _State.BETWEEN
            continue

        char = text[index]
        index += 1
        if char in _LINE_BREAKS:
            line += 1
        if state is _State.BETWEEN:
            if char == "#":
                state = _State.COMMENT
            elif char not in _BLANKS and char not in _LINE_BREAKS:
                # Any character starts an instruction; an unprintable one just is not kept.
                word = [char] if char.isprintable() else []
                state = _State.INSTRUCTION
        elif state is _State.COMMENT:
            if char in _LINE_BREAKS:
                state = _State.BETWEEN
        elif state is _State.INSTRUCTION:
            if _is_letter(char):
                word.append(char)
            elif char in _BLANKS and "".join(word).lower() in INSTRUCTIONS:
                instruction, name, word = "".join(word).lower(), "", []
                state = {
                    "parameter": _State.PARAMETER_NAME,
                    "message": _State.MESSAGE_ROLE,
                }.get(instruction, _State.VALUE)
                value = _Value()
            else:
                raise ModelfileError(INVALID_COMMAND, line)
        elif state is _State.PARAMETER_NAME:
            if _is_name_char(char):
                word.append(char)
            elif char in _BLANKS:
                name, word, state = "".join(word), [], _State.VALUE
            else:
                raise ModelfileError(f"{UNEXPECTED_EOF}: {''.join(word)}", near_line=line)
        elif state is _State.MESSAGE_ROLE:
            if _is_letter(char):
                word.append(char)
            elif char in _BLANKS:
                name, word = "".join(word), []
                if name not in MESSAGE_ROLES:
                    raise ModelfileError(INVALID_ROLE, line)
                state = _State.VALUE
            else:
                raise ModelfileError(f"{UNEXPECTED_EOF}: {''.join(word)}", near_line=line)

    if state is _State.VALUE:
        done = value.closed()
        if done is None:
            raise ModelfileError(UNEXPECTED_EOF, near_line=line)
        commands.append(RawCommand(instruction, name, done))
    elif state in (_State.INSTRUCTION, _State.PARAMETER_NAME, _State.MESSAGE_ROLE):
        raise ModelfileError(UNEXPECTED_EOF, near_line=line)
    return commands


def unrepresentable_character(value: str) -> str | None:
    """The first character of `value` that a Modelfile cannot hold, or None."""
    for char in value:
        if not (char.isprintable() or char in _BLANKS or char in _LINE_BREAKS):
            return char
    return None


def encode_value(value: str, field: str, style: ValueStyle = "plain") -> str:
    """`value` as Modelfile text that `lex` reads back unchanged, or `UnrepresentableValueError`.

    `field` names the value in the error. Every candidate form is checked by reading it back, so
    the result can never end early and let its tail become another instruction.
    """
    bad = unrepresentable_character(value)
    if bad is not None:
        label = unicodedata.name(bad, "a control character")
        raise UnrepresentableValueError(
            field,
            f"it contains {label} (U+{ord(bad):04X}), which Ollama's Modelfile reader drops",
        )
    for candidate in _candidates(value, style):
        if _reads_back(candidate, value):
            return candidate
    raise UnrepresentableValueError(field, _why_not(value, style))


def _reads_back(candidate: str, value: str) -> bool:
    try:
        return lex(f"SYSTEM {candidate}\n") == [RawCommand("system", "", value)]
    except ModelfileError:
        return False


def _candidates(value: str, style: ValueStyle) -> list[str]:
    bare, quoted, block = value, f'"{value}"', f'"""{value}"""'
    if style == "unquoted":
        return [bare]
    if style == "block":
        return [block, quoted]
    if any(char in value for char in _LINE_BREAKS):
        return [block, quoted]
    return [bare, quoted, block] if value else [quoted]


def _why_not(value: str, style: ValueStyle) -> str:
    if style == "unquoted":
        return "it would need quotes, and this instruction is written without them"
    return (
        'a line of it ends with """, which would close the quoted value early '
        "(and the rest would be read as more instructions)"
    )
