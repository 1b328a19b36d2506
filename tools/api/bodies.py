"""Ollama's request bodies as pydantic models (contract section 2): each endpoint's fields and the
conversions they need are written once, here, and `body()` dumps them with `exclude_none`, so a
field left unset never reaches the wire (Ollama's zero values are its defaults).

Values pass through as given where Ollama is the judge (an unknown `think` level or a Go duration
it cannot read is Ollama's 400, with Ollama's words); arguments of a type no body can hold are
`InvalidArgument`, raised before anything is sent.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SkipValidation,
    ValidationError,
    field_serializer,
)

from tools.api.types import KeepAlive, Message, ThinkLevel
from tools.errors import InvalidArgument

_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")

Format = Literal["json"] | Mapping[str, Any]  # "json", or a JSON schema
ImageInput = str | bytes  # base64 text, or raw bytes that are encoded here


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)

    def body(self) -> dict[str, Any]:
        """The JSON body as Ollama expects it: aliases applied, unset fields left out."""
        return self.model_dump(by_alias=True, exclude_none=True)


@contextmanager
def checked_arguments(endpoint: str) -> Iterator[None]:
    """Turn a body that cannot be built from the arguments into `InvalidArgument`."""
    try:
        yield
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
        raise InvalidArgument(f"invalid arguments for {endpoint}: {problems}") from None


# --- conversions shared by several bodies ------------------------------------------------------


def _keep_alive(value: KeepAlive | None) -> int | float | str | None:
    # Ollama reads a string as a Go duration, so "300" or "-1" without a unit is a 400 error;
    # a plain number written as text is meant as seconds.
    if isinstance(value, str) and _PLAIN_NUMBER.fullmatch(value.strip()):
        number = float(value)
        return int(number) if number.is_integer() else number
    return value


def _as_dict(value: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    """A message or tool as JSON: a pydantic model without its unset fields, a mapping as given."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    return dict(value)


def _mapping(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return dict(value) if value is not None else None


class _Loaded(_Request):
    """Fields of every request that runs a model."""

    model: str
    options: Mapping[str, Any] | None = None
    keep_alive: SkipValidation[KeepAlive | None] = None

    @field_serializer("options")
    def _options(self, options: Mapping[str, Any] | None) -> dict[str, Any] | None:
        return _mapping(options)

    @field_serializer("keep_alive")
    def _plain_seconds(self, keep_alive: KeepAlive | None) -> int | float | str | None:
        return _keep_alive(keep_alive)


class _Answered(_Loaded):
    """Fields of generate and chat. `format` and `think` go as given: Ollama judges them."""

    format: SkipValidation[Format | None] = None
    think: SkipValidation[ThinkLevel | None] = None
    truncate: bool | None = None
    stream: bool

    @field_serializer("think")
    def _think(self, think: ThinkLevel | None) -> Any:
        return think  # as given, so an unknown level is Ollama's 400 in Ollama's words

    @field_serializer("format")
    def _format(self, format: Format | None) -> str | dict[str, Any] | None:
        return format if format is None or isinstance(format, str) else dict(format)


# --- models -----------------------------------------------------------------------------------


class ShowRequest(_Request):
    model: str
    verbose: bool | None = None


class CopyRequest(_Request):
    source: str
    destination: str


class DeleteRequest(_Request):
    model: str


class TransferRequest(_Request):
    """Pull and push."""

    model: str
    insecure: bool | None = None
    stream: bool = True


class CreateRequest(_Request):
    """The JSON create request of Ollama >= 0.5.5 (contract section 5.1)."""

    model: str
    from_: str | None = Field(default=None, alias="from")
    files: dict[str, str] | None = None
    adapters: dict[str, str] | None = None
    template: str | None = None
    system: str | None = None
    license: str | list[str] | None = None
    parameters: dict[str, Any] | None = None
    messages: list[dict[str, Any]] | None = None
    quantize: str | None = None
    renderer: str | None = None
    parser: str | None = None
    requires: str | None = None
    stream: bool | None = None


class ToolFunction(BaseModel):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None


class ToolSpec(BaseModel):
    """A tool offered to a chat model (`type` is always "function" today)."""

    type: Literal["function"] = "function"
    function: ToolFunction


# --- inference ----------------------------------------------------------------------------


class GenerateRequest(_Answered):
    prompt: str = ""
    suffix: str | None = None
    system: str | None = None
    template: str | None = None
    raw: bool | None = None
    images: SkipValidation[Sequence[ImageInput] | None] = None
    context: Sequence[int] | None = None

    @field_serializer("images")
    def _base64(self, images: Sequence[ImageInput] | None) -> list[str] | None:
        if images is None:
            return None
        return [
            base64.b64encode(image).decode("ascii") if isinstance(image, bytes) else image
            for image in images
        ]

    @field_serializer("context")
    def _listed(self, context: Sequence[int] | None) -> list[int] | None:
        return list(context) if context is not None else None


class ChatRequest(_Answered):
    # Messages and tools go as given: a mapping may carry fields this module does not know.
    messages: SkipValidation[Sequence[Message | Mapping[str, Any]]]
    tools: SkipValidation[Sequence[ToolSpec | Mapping[str, Any]] | None] = None

    def model_post_init(self, context: Any, /) -> None:
        # No tools and an empty list mean the same to Ollama; send neither.
        if not self.tools:
            self.tools = None

    @field_serializer("messages")
    def _messages(self, messages: Sequence[Message | Mapping[str, Any]]) -> list[dict[str, Any]]:
        return [_as_dict(message) for message in messages]

    @field_serializer("tools")
    def _tools(
        self, tools: Sequence[ToolSpec | Mapping[str, Any]] | None
    ) -> list[dict[str, Any]] | None:
        return [_as_dict(tool) for tool in tools] if tools else None


class EmbedRequest(_Loaded):
    input: str | list[str]
    truncate: bool | None = None
    dimensions: int | None = None


# --- ollama.com, through the daemon ------------------------------------------------------------


class WebSearchRequest(_Request):
    query: str
    max_results: int | None = None  # ollama.com: 5 when left out, at most 10


class WebFetchRequest(_Request):
    url: str
