"""Modelfiles as data: read, write, generate, and start one from an installed model.

A `Modelfile` is an ordered tuple of commands: `Instruction` (FROM, ADAPTER, DRAFT, LICENSE,
TEMPLATE, SYSTEM, RENDERER, PARSER, REQUIRES), `Parameter` and `ModelfileMessage`.

* `parse(text)` reads one exactly as `ollama create` does (`tools.modelfile.syntax`), raising
  `ModelfileError` with Ollama's wording.
* `render(modelfile)` writes one that `parse` turns back into the same `Modelfile`, always; a
  value no text can carry is refused with `UnrepresentableValueError` naming the field, so no
  value can add or remove an instruction. FROM is never quoted (as Ollama writes it).
* `generate_modelfile(...)` is the seed connector's function, in its layout (a blank line between
  sections, SYSTEM and TEMPLATE in triple quotes), with the same guarantees.
* `from_show(show_response, model)` starts a variant of an installed model from `/api/show`.

Parameter names and values are only checked when a Modelfile is used (`parameters`), as
Ollama checks them in `ollama create`, not in its parser; `generate_modelfile` checks its own.
One deliberate difference: Ollama keeps a parameter's name where it keeps instruction names, so
`PARAMETER model x` passes there for a FROM line (and `PARAMETER adapter p` for an ADAPTER);
here a parameter stays a parameter.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias, get_args

from tools.errors import (
    InvalidArgument,
    InvalidModelfileCommand,
    ModelfileError,
    ParameterError,
    UnrepresentableValueError,
)
from tools.modelfile.parameters import (
    DEPRECATED_PARAMETERS,
    DeprecatedParameterWarning,
    parameter_texts,
    show_parameter_texts,
)
from tools.modelfile.syntax import (
    INVALID_ROLE,
    NO_FROM_LINE,
    RawCommand,
    ValueStyle,
    decode_modelfile,
    encode_value,
    lex,
)

__all__ = [
    "Command",
    "Instruction",
    "Keyword",
    "Modelfile",
    "ModelfileError",
    "ModelfileMessage",
    "Parameter",
    "Role",
    "UnrepresentableValueError",
    "from_show",
    "generate_modelfile",
    "parse",
    "render",
]

Keyword: TypeAlias = Literal[
    "from", "adapter", "draft", "license", "template", "system", "renderer", "parser", "requires"
]
Role: TypeAlias = Literal["system", "user", "assistant"]

KEYWORDS: Final[tuple[Keyword, ...]] = get_args(Keyword)
ROLES: Final[tuple[Role, ...]] = get_args(Role)
_KEYWORD_NAMES: Final[Mapping[str, Keyword]] = {keyword: keyword for keyword in KEYWORDS}
_ROLE_NAMES: Final[Mapping[str, Role]] = {role: role for role in ROLES}
_PARAMETER_NAME = re.compile(r"[A-Za-z0-9_]*", re.ASCII)

# How each instruction is written: FROM as Ollama writes it (never quoted), long texts in
# triple quotes as the seed shows them, everything else bare when it can be.
_STYLES: Final[Mapping[str, ValueStyle]] = {
    "from": "unquoted",
    "system": "block",
    "template": "block",
    "license": "block",
}


@dataclass(frozen=True, slots=True)
class Instruction:
    """Every instruction but PARAMETER and MESSAGE: a keyword and its text."""

    keyword: Keyword
    value: str

    def __post_init__(self) -> None:
        if self.keyword not in KEYWORDS:
            raise InvalidModelfileCommand(f"unknown Modelfile instruction {self.keyword!r}")
        _require_text(self.value, self.keyword.upper())


@dataclass(frozen=True, slots=True)
class Parameter:
    """`PARAMETER name value`: the name as written (`[A-Za-z0-9_]*`, case-sensitive)."""

    name: str
    value: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _PARAMETER_NAME.fullmatch(self.name):
            raise InvalidModelfileCommand(
                f"a PARAMETER name is letters, digits and underscores, not {self.name!r}"
            )
        _require_text(self.value, f"PARAMETER {self.name}")


@dataclass(frozen=True, slots=True)
class ModelfileMessage:
    """`MESSAGE role content`, with role system, user or assistant."""

    role: Role
    content: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise InvalidModelfileCommand(f"{INVALID_ROLE}, not {self.role!r}")
        _require_text(self.content, f"MESSAGE {self.role}")


Command: TypeAlias = Instruction | Parameter | ModelfileMessage


def _require_text(value: object, field: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{field} must be a string, not {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class Modelfile:
    """The commands of a Modelfile, in order (any iterable is stored as a tuple)."""

    commands: Sequence[Command] = ()

    def __post_init__(self) -> None:
        commands = tuple(self.commands)
        for command in commands:
            if not isinstance(command, Instruction | Parameter | ModelfileMessage):
                raise TypeError(f"not a Modelfile command: {command!r}")
        object.__setattr__(self, "commands", commands)

    def values(self, keyword: Keyword) -> list[str]:
        """The values of every `keyword` instruction, in order (e.g. all LICENSE texts)."""
        return [
            c.value for c in self.commands if isinstance(c, Instruction) and c.keyword == keyword
        ]

    def last(self, keyword: Keyword) -> str | None:
        """The value of the last `keyword` instruction, the one `ollama create` uses."""
        found = self.values(keyword)
        return found[-1] if found else None

    @property
    def parameters(self) -> list[Parameter]:
        return [c for c in self.commands if isinstance(c, Parameter)]

    @property
    def messages(self) -> list[ModelfileMessage]:
        return [c for c in self.commands if isinstance(c, ModelfileMessage)]


def parse(text: str | bytes) -> Modelfile:
    """A Modelfile read exactly as `ollama create` reads it; `ModelfileError` if it would refuse.

    Bytes are decoded as Ollama does (UTF-8, or UTF-16 after a UTF-16 BOM); a leading BOM is
    dropped from text too.
    """
    if isinstance(text, bytes):
        text = decode_modelfile(text)
    elif text.startswith("\ufeff"):
        text = text[1:]
    commands = [_command(raw) for raw in lex(text)]
    if not any(isinstance(c, Instruction) and c.keyword == "from" for c in commands):
        raise ModelfileError(NO_FROM_LINE)
    return Modelfile(commands)


def _command(raw: RawCommand) -> Command:
    if raw.instruction == "parameter":
        return Parameter(raw.name, raw.value)
    if raw.instruction == "message":
        return ModelfileMessage(_role(raw.name), raw.value)
    return Instruction(_keyword(raw.instruction), raw.value)


def _keyword(word: str) -> Keyword:
    return _KEYWORD_NAMES[word]


def _role(word: str) -> Role:
    return _ROLE_NAMES[word]


def render(modelfile: Modelfile) -> str:
    """Modelfile text, one instruction per line, that `parse` turns back into `modelfile`.

    Raises `UnrepresentableValueError` naming the field (e.g. `SYSTEM`, `PARAMETER stop`) when a
    value cannot be written so, and when there is no FROM line.
    """
    lines = [_line(command, _field(command)) for command in modelfile.commands]
    _require_from(modelfile, "FROM")
    return "".join(f"{line}\n" for line in lines)


def _field(command: Command) -> str:
    if isinstance(command, Parameter):
        return f"PARAMETER {command.name}"
    if isinstance(command, ModelfileMessage):
        return f"MESSAGE {command.role}"
    return command.keyword.upper()


def _line(command: Command, field: str) -> str:
    if isinstance(command, Parameter):
        return f"PARAMETER {command.name} {encode_value(command.value, field)}"
    if isinstance(command, ModelfileMessage):
        return f"MESSAGE {command.role} {encode_value(command.content, field)}"
    style = _STYLES.get(command.keyword, "plain")
    return f"{command.keyword.upper()} {encode_value(command.value, field, style)}"


def _require_from(modelfile: Modelfile, field: str) -> None:
    if not modelfile.values("from"):
        raise UnrepresentableValueError(field, f"a Modelfile needs a FROM line ({NO_FROM_LINE})")


def generate_modelfile(
    base_model: str,
    adapter_path: str | os.PathLike[str] | None = None,
    system_prompt: str | None = None,
    template: str | None = None,
    parameters: Mapping[str, object] | None = None,
    messages: Iterable[ModelfileMessage | Mapping[str, str]] | None = None,
    license: str | Sequence[str] | None = None,  # the seed's name, though it shadows a builtin
) -> str:
    """The seed connector's Modelfile text, in its layout, checked and injection-safe.

    Sections in order FROM, ADAPTER, SYSTEM, TEMPLATE, PARAMETER, LICENSE, MESSAGE, separated by
    a blank line, with no newline after the last line (the seed's example is `print`ed). Empty or
    missing arguments are left out. Parameters are checked as `ollama create` checks them
    (`tools.modelfile.parameters`): unknown names and bad values raise `ParameterError`, Ollama's
    wording after the argument's name; deprecated names are dropped with a
    `DeprecatedParameterWarning`. A value that cannot be written so that it reads back unchanged
    raises `UnrepresentableValueError` naming the argument. The text always parses back (with
    `parse`) to exactly these values.
    """
    entries: list[tuple[Command, str]] = []
    if not base_model:
        raise UnrepresentableValueError("base_model", "it is empty; FROM needs a model or a path")
    entries.append((Instruction("from", base_model), "base_model"))
    if adapter_path is not None:
        adapter = os.fspath(adapter_path)
        if not adapter:
            raise UnrepresentableValueError("adapter_path", "it is empty")
        entries.append((Instruction("adapter", adapter), "adapter_path"))
    if system_prompt:
        entries.append((Instruction("system", system_prompt), "system_prompt"))
    if template:
        entries.append((Instruction("template", template), "template"))
    for name, value in (parameters or {}).items():
        if name in DEPRECATED_PARAMETERS:
            warnings.warn(f"parameter {name} is deprecated", DeprecatedParameterWarning, 2)
            continue
        field = f"parameters[{name!r}]"
        try:
            texts = parameter_texts(name, value)
        except ParameterError as exc:  # Ollama's wording, with the argument it is about
            raise ParameterError(f"{field}: {exc}") from exc
        entries.extend((Parameter(name, text), field) for text in texts)
    licenses = [license] if isinstance(license, str) else list(license or ())
    for index, text in enumerate(licenses):
        field = "license" if isinstance(license, str) else f"license[{index}]"
        if text:
            entries.append((Instruction("license", text), field))
    for index, message in enumerate(messages or ()):
        field = f"messages[{index}]"
        entries.append((_as_message(message, field), field))

    sections: list[list[str]] = []
    previous_kind = ""
    for command, field in entries:
        kind = type(command).__name__ + getattr(command, "keyword", "")
        if kind != previous_kind:
            sections.append([])
            previous_kind = kind
        sections[-1].append(_line(command, field))
    return "\n\n".join("\n".join(section) for section in sections)


def _as_message(message: ModelfileMessage | Mapping[str, str], field: str) -> ModelfileMessage:
    if isinstance(message, ModelfileMessage):
        return message
    role, content = message.get("role"), message.get("content")
    if role not in ROLES:
        raise UnrepresentableValueError(field, f"{INVALID_ROLE}, not {role!r}")
    if not isinstance(content, str):
        raise UnrepresentableValueError(field, "its content must be a string")
    return ModelfileMessage(_role(role), content)


_SHOWN_NAME = re.compile(r"^# FROM (\S+)[ \t]*$", re.MULTILINE)


def from_show(show_response: Mapping[str, Any], model: str | None = None) -> Modelfile:
    """A Modelfile that starts a variant of an installed model, from its `/api/show` JSON.

    `model` is the installed model's name; FROM takes it (never the blob path that the
    `modelfile` field shows). Without it, the name in that field's `# FROM <name>` comment is
    used. `template`, `system`, `renderer`, `parser`, `parameters` (the `%-30s %#v` lines of
    contract 2.8), `license` (one LICENSE: Ollama joins several with a newline), `messages` and
    `requires` become instructions. Everything is inherited from FROM anyway, so the result is
    a starting point to edit. Left out, with a `ParameterWarning` for parameters: a template in
    Jinja (the model's native chat template, which a TEMPLATE cannot take) and parameters that
    `ollama create` would refuse. A message whose role a Modelfile cannot carry (e.g. `tool`)
    raises `UnrepresentableValueError`.
    """
    name = model or _shown_name(show_response)
    commands: list[Command] = [Instruction("from", name)]
    template = _text(show_response, "template")
    if template and "{%" not in template:
        commands.append(Instruction("template", template))
    for keyword in ("system", "renderer", "parser"):
        if text := _text(show_response, keyword):
            commands.append(Instruction(_keyword(keyword), text))
    for param_name, text in show_parameter_texts(_text(show_response, "parameters")):
        commands.append(Parameter(param_name, text))
    licenses = show_response.get("license")
    for text in [licenses] if isinstance(licenses, str) else list(licenses or ()):
        if isinstance(text, str) and text:
            commands.append(Instruction("license", text))
    for index, message in enumerate(show_response.get("messages") or ()):
        commands.append(_as_message(message, f"messages[{index}]"))
    if requires := _text(show_response, "requires"):
        commands.append(Instruction("requires", requires))
    return Modelfile(commands)


def _text(show_response: Mapping[str, Any], key: str) -> str:
    value = show_response.get(key)
    return value if isinstance(value, str) else ""


def _shown_name(show_response: Mapping[str, Any]) -> str:
    found = _SHOWN_NAME.search(_text(show_response, "modelfile"))
    if found is None:
        raise InvalidArgument(
            "from_show needs the model's name: pass `model`, or a show response whose "
            "`modelfile` has the `# FROM <name>` comment"
        )
    return found.group(1)
