"""Ollama's answers read as outcomes: a reply or NDJSON line decoded and validated into a model of
`tools.api.types`, and an error (an error status, or an `error` key in a 200 reply or stream line)
turned into the most precise class of `tools.errors`, with Ollama's own text kept unchanged.

Which class (contract sections 1.3 and 2): a model that is not installed (or not in the registry)
is `ModelNotFound`; an old server's answer to the JSON create request is `UnsupportedServer`; a
503 is `ServerBusy`; an error line after a stream has started is `StreamError`; anything else is
`OllamaAPIError` with its status. A reply that Ollama would not send is a `ProtocolError`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx2
from pydantic import BaseModel, ValidationError

from tools.api.quantize import ONLY_UNQUANTIZED, QUANTIZE_CHOICES, SOURCE_HINT
from tools.errors import (
    ModelNotFound,
    OllamaAPIError,
    ProtocolError,
    QuantizeRefused,
    ServerBusy,
    StreamError,
    UnsupportedArchitecture,
    UnsupportedServer,
)

JSON_CREATE = (0, 5, 5)  # the first Ollama that takes the JSON create request (contract 5.1)
JSON_CREATE_VERSION = ".".join(map(str, JSON_CREATE))
FORBIDDEN_HINT = "Ollama refused the request's Host or Origin; check OLLAMA_HOST/OLLAMA_ORIGINS"

_ResponseT = TypeVar("_ResponseT", bound=BaseModel)

_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")
_NOT_FOUND = (
    re.compile(r"model '(.*)' not found"),  # generate, chat, show (normalised name), delete
    re.compile(r'model "(.*)" not found(, try pulling it first)?'),  # embed, copy
)
_PULL_NOT_FOUND = "pull model manifest: file does not exist"
_PUSH_NOT_FOUND = re.compile(r"open .*manifests.*: no such file or directory")
_OLD_CREATE = "path or Modelfile are required"
_UNSUPPORTED_ARCH = re.compile(r'unsupported architecture ".*"')


@dataclass(frozen=True)
class Call:
    """What a request was, for error messages and for mapping Ollama's answers."""

    method: str
    path: str
    model: str | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


# --- errors -----------------------------------------------------------------------------------


def raise_for_error_object(
    data: Mapping[str, Any], call: Call, *, lines_before: int, server_version: str | None
) -> None:
    """Raise if a reply object or stream line carries an `error` key; a 200 is not success."""
    error = data.get("error")
    if error is None:
        return
    message = error if isinstance(error, str) else json.dumps(error)
    status = data.get("status")
    # Ollama 0.5.5-0.12.5 put an error that came before any output into a 200 stream,
    # with its real status alongside (contract 1.3).
    if lines_before == 0 and isinstance(status, int) and status >= 400:
        raise error_for(status, message, call, in_stream=False, server_version=server_version)
    raise error_for(200, message, call, in_stream=True, server_version=server_version)


def error_for(
    status: int,
    message: str,
    call: Call,
    *,
    in_stream: bool,
    server_version: str | None,
    hint: str = "",
) -> OllamaAPIError:
    """Ollama's answer as the most precise error class; its message is kept unchanged."""
    missing = _missing_model(status, message, call)
    if missing is not None:
        return missing
    if call.path == "/api/create" and message.startswith(_OLD_CREATE):
        what = "the JSON create request"
        return UnsupportedServer(
            server_version, JSON_CREATE_VERSION, what, status=status, message=message
        )
    if status == 503:
        hint = "Ollama's request queue is full (OLLAMA_MAX_QUEUE); try again later"
        return ServerBusy(status, message, hint=hint)
    if call.path == "/api/create":
        refused = _create_refusal(200 if in_stream else status, message)
        if refused is not None:
            return refused
    if in_stream:
        return StreamError(message)
    return OllamaAPIError(status, message, hint=hint)


def _create_refusal(status: int, message: str) -> OllamaAPIError | None:
    """Create's refusals to quantize or convert (server/create.go, server/quantization.go),
    with what to do; Ollama's message stays as it is."""
    if message == ONLY_UNQUANTIZED:
        return QuantizeRefused(status, message, hint=SOURCE_HINT)
    if message.startswith("unsupported quantization type"):
        return QuantizeRefused(status, message, hint=f"use one of {QUANTIZE_CHOICES}")
    if message.startswith(("llama-quantize failed", "llama-quantize unavailable")):
        hint = (
            "Ollama's llama-quantize could not quantize this model (its log says why; an "
            "architecture llama.cpp does not know cannot be quantized): leave quantize out, "
            "or quantize the GGUF with llama.cpp first"
        )
        return QuantizeRefused(status, message, hint=hint)
    if _UNSUPPORTED_ARCH.fullmatch(message):
        hint = (
            "Ollama cannot convert safetensors of this architecture: convert them to GGUF with "
            "llama.cpp (convert_hf_to_gguf.py, or convert_lora_to_gguf.py for an adapter) and "
            "create from the .gguf file"
        )
        return UnsupportedArchitecture(status, message, hint=hint)
    return None


def _missing_model(status: int, message: str, call: Call) -> ModelNotFound | None:
    model = call.model or ""
    if call.path in ("/api/pull", "/api/create") and message == _PULL_NOT_FOUND:
        hint = "the registry has no model with that name and tag; check the spelling"
        return ModelNotFound(model, status, message, hint=hint)
    if call.path == "/api/push" and _PUSH_NOT_FOUND.fullmatch(message):
        hint = "it is not installed locally; create or pull it before pushing"
        return ModelNotFound(model, status, message, hint=hint)
    for pattern in _NOT_FOUND:
        found = pattern.fullmatch(message)
        if found is not None:
            return ModelNotFound(model or found.group(1), status, message)
    return None


def error_text(raw: bytes, response: httpx2.Response) -> str:
    """Ollama's error message: the `error` of a JSON body, else the text (gin's `404 page not
    found`), else the reason phrase."""
    text = raw.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return str(data["error"])
    return text or response.reason_phrase


# --- replies ----------------------------------------------------------------------------------


def decode_line(line: bytes, number: int, call: Call) -> dict[str, Any]:
    """One NDJSON line as a JSON object."""
    if not line.strip():
        raise ProtocolError(f"{call}: line {number} of the NDJSON stream is blank")
    return decode_object(line, call, f"line {number} of the NDJSON stream")


def decode_object(raw: bytes, call: Call, where: str = "the reply") -> dict[str, Any]:
    """A reply (or `where` in it) as a JSON object."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        preview = raw[:200].decode("utf-8", "replace")
        raise ProtocolError(f"{call}: {where} is not JSON ({exc}): {preview!r}") from None
    if not isinstance(data, dict):
        raise ProtocolError(f"{call}: {where} is not a JSON object: {type(data).__name__}")
    return data


def validate(model: type[_ResponseT], data: Mapping[str, Any], call: Call) -> _ResponseT:
    """The object as `model`; a shape Ollama would not send is a `ProtocolError`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ProtocolError(f"{call}: unexpected reply shape for {model.__name__}: {exc}") from None


def parse_version(text: str) -> tuple[int, int, int] | None:
    """`0.5.7`, `v0.6.0-rc1` -> (major, minor, patch); None when it is not a version."""
    found = _VERSION.match(text.strip())
    if found is None:
        return None
    return (int(found.group(1)), int(found.group(2)), int(found.group(3)))
