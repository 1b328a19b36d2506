"""Request bodies decoded as Ollama's gin `ShouldBindJSON` (Go encoding/json) does.

Unknown keys are ignored, keys match struct tags case-insensitively, a wrong JSON type
is a 400 with Go's own message, and custom types (keep_alive, think, images, messages)
fail with the messages their UnmarshalJSON methods produce.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from .gojson import DurationError, parse_duration

MAX_DURATION_NS = (1 << 63) - 1


class HTTPError(Exception):
    """An error answered with a status and `{"error": message}` before any streaming."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# Go types per struct: "string", "bool", "*bool", "int", "[]int", "map", "smap" (map[string]string),
# "any", "duration", "think", "images", "messages", "tools".
SCHEMAS: dict[str, dict[str, str]] = {
    "GenerateRequest": {
        "model": "string",
        "prompt": "string",
        "suffix": "string",
        "system": "string",
        "template": "string",
        "context": "[]int",
        "stream": "*bool",
        "raw": "bool",
        "format": "any",
        "keep_alive": "duration",
        "images": "images",
        "options": "map",
        "think": "think",
        "truncate": "*bool",
        "shift": "*bool",
        "logprobs": "bool",
        "top_logprobs": "int",
        "_debug_render_only": "bool",
        "width": "int",
        "height": "int",
        "steps": "int",
    },
    "ChatRequest": {
        "model": "string",
        "messages": "messages",
        "tools": "tools",
        "stream": "*bool",
        "format": "any",
        "keep_alive": "duration",
        "options": "map",
        "think": "think",
        "truncate": "*bool",
        "shift": "*bool",
        "logprobs": "bool",
        "top_logprobs": "int",
        "_debug_render_only": "bool",
    },
    "EmbedRequest": {
        "model": "string",
        "input": "any",
        "truncate": "*bool",
        "dimensions": "int",
        "keep_alive": "duration",
        "options": "map",
    },
    "EmbeddingRequest": {
        "model": "string",
        "prompt": "string",
        "keep_alive": "duration",
        "options": "map",
    },
    "ShowRequest": {
        "model": "string",
        "name": "string",
        "system": "string",
        "template": "string",
        "verbose": "bool",
        "options": "map",
    },
    "PullRequest": {
        "model": "string",
        "name": "string",
        "insecure": "bool",
        "username": "string",
        "password": "string",
        "stream": "*bool",
    },
    "PushRequest": {
        "model": "string",
        "name": "string",
        "insecure": "bool",
        "username": "string",
        "password": "string",
        "stream": "*bool",
    },
    "CreateRequest": {
        "model": "string",
        "name": "string",
        "stream": "*bool",
        "quantize": "string",
        "draft_quantize": "string",
        "from": "string",
        "remote_host": "string",
        "files": "smap",
        "draft_files": "smap",
        "adapters": "smap",
        "template": "string",
        "license": "any",
        "system": "string",
        "parameters": "map",
        "messages": "messages",
        "renderer": "string",
        "parser": "string",
        "requires": "string",
        "info": "map",
        "quantization": "string",
    },
    # The pre-0.5.5 request, for the legacy mode.
    "LegacyCreateRequest": {
        "model": "string",
        "name": "string",
        "modelfile": "string",
        "path": "string",
        "quantize": "string",
        "stream": "*bool",
    },
    "CopyRequest": {"source": "string", "destination": "string"},
    "DeleteRequest": {"model": "string", "name": "string"},
}

_GO_TYPE = {
    "string": "string",
    "bool": "bool",
    "*bool": "bool",
    "int": "int",
    "[]int": "[]int",
    "map": "map[string]interface {}",
    "smap": "map[string]string",
    "images": "[]api.ImageData",
    "messages": "[]api.Message",
    "tools": "[]api.Tool",
}

_MESSAGE_FIELDS = {
    "role": "string",
    "content": "string",
    "thinking": "string",
    "images": "images",
    "tool_calls": "any",
    "tool_name": "string",
    "tool_call_id": "string",
}


def json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _type_error(value: Any, struct: str, fld: str, go_type: str) -> HTTPError:
    kind = json_kind(value)
    if kind == "number" and go_type in ("int", "uint32"):
        kind = f"number {_go_number(value)}"
    return HTTPError(
        400, f"json: cannot unmarshal {kind} into Go struct field {struct}.{fld} of type {go_type}"
    )


def _go_number(value: Any) -> str:
    return json.dumps(value)


def _check_images(value: Any, struct: str, fld: str) -> list[bytes]:
    if not isinstance(value, list):
        raise _type_error(value, struct, fld, _GO_TYPE["images"])
    out = []
    for item in value:
        if item is None:
            out.append(b"")
            continue
        if not isinstance(item, str):
            raise _type_error(item, struct, fld, "api.ImageData")
        bad = re.search(r"[^A-Za-z0-9+/=\r\n]", item)
        try:
            if bad:
                raise binascii.Error()
            out.append(base64.b64decode(item, validate=False))
        except binascii.Error as exc:
            pos = bad.start() if bad else len(item.rstrip("=")) // 4 * 4
            raise HTTPError(400, f"illegal base64 data at input byte {pos}") from exc
    return out


def parse_keep_alive(value: Any) -> int | None:
    """api.Duration: seconds as a number, a Go duration string; negative = forever."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        go = {"array": "[]interface {}", "object": "map[string]interface {}", "bool": "bool"}
        raise HTTPError(400, f"Unsupported type: '{go.get(json_kind(value), json_kind(value))}'")
    if isinstance(value, str):
        try:
            ns = parse_duration(value)
        except DurationError as exc:
            raise HTTPError(400, str(exc)) from exc
        return MAX_DURATION_NS if ns < 0 else ns
    if value < 0:
        return MAX_DURATION_NS
    return int(value * 1_000_000_000)


def _check_think(value: Any) -> bool | str:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if value not in ("high", "medium", "low", "max"):
            quoted = json.dumps(value)
            raise HTTPError(
                400,
                f"invalid think value: {quoted} "
                '(must be "high", "medium", "low", "max", true, or false)',
            )
        return value
    raise HTTPError(
        400, 'think must be a boolean or string ("high", "medium", "low", "max", true, or false)'
    )


def _check_messages(value: Any, struct: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise _type_error(value, struct, "messages", _GO_TYPE["messages"])
    out = []
    for item in value:
        if item is None:
            out.append({"role": "", "content": ""})
            continue
        if not isinstance(item, dict):
            raise _type_error(item, struct, "messages", "api.Message")
        msg: dict[str, Any] = {}
        for key, val in item.items():
            fld = _match(key, _MESSAGE_FIELDS)
            if fld is None or val is None:
                continue
            kind = _MESSAGE_FIELDS[fld]
            if kind == "string" and not isinstance(val, str):
                raise _type_error(val, f"{struct}.messages", fld, "string")
            if kind == "images":
                _check_images(val, f"{struct}.messages", fld)
            msg[fld] = val
        msg["role"] = str(msg.get("role", "")).lower()
        msg.setdefault("content", "")
        out.append(msg)
    return out


def _match(key: str, fields: dict[str, str]) -> str | None:
    if key in fields:
        return key
    low = key.lower()
    for fld in fields:
        if fld.lower() == low:
            return fld
    return None


def decode(body: bytes, struct: str) -> dict[str, Any]:
    """Decode and type-check a request body; the result maps canonical field names to values."""
    if not body.strip():
        raise HTTPError(400, "missing request body")
    try:
        raw = json.loads(body)
    except json.JSONDecodeError as exc:
        raise HTTPError(400, _syntax_message(body, exc)) from exc
    except UnicodeDecodeError as exc:
        raise HTTPError(400, "invalid character in request body") from exc
    schema = SCHEMAS[struct]
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise HTTPError(
            400, f"json: cannot unmarshal {json_kind(raw)} into Go value of type api.{struct}"
        )
    out: dict[str, Any] = {}
    first_type_error: HTTPError | None = None
    for key, value in raw.items():
        fld = _match(key, schema)
        if fld is None:
            continue  # unknown fields are ignored, as Go does
        if value is None:
            out.pop(fld, None)
            continue
        kind = schema[fld]
        try:
            out[fld] = _check(kind, value, struct, fld)
        except HTTPError as err:
            if kind in ("duration", "think", "images"):
                raise  # custom unmarshalers stop the decoder at once
            first_type_error = first_type_error or err
    if first_type_error is not None:
        raise first_type_error
    return out


def _check(kind: str, value: Any, struct: str, fld: str) -> Any:
    go_type = _GO_TYPE.get(kind, kind)
    if kind == "string":
        if not isinstance(value, str):
            raise _type_error(value, struct, fld, go_type)
        return value
    if kind in ("bool", "*bool"):
        if not isinstance(value, bool):
            raise _type_error(value, struct, fld, go_type)
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _type_error(value, struct, fld, "int")
        if isinstance(value, float) and not value.is_integer():
            raise _type_error(value, struct, fld, "int")
        return int(value)
    if kind == "[]int":
        if not isinstance(value, list) or not all(
            isinstance(x, int) and not isinstance(x, bool) for x in value
        ):
            raise _type_error(value, struct, fld, go_type)
        return value
    if kind == "map":
        if not isinstance(value, dict):
            raise _type_error(value, struct, fld, go_type)
        return value
    if kind == "smap":
        if not isinstance(value, dict):
            raise _type_error(value, struct, fld, go_type)
        for v in value.values():
            if v is not None and not isinstance(v, str):
                raise _type_error(v, struct, fld, "string")
        return {k: (v or "") for k, v in value.items()}
    if kind == "tools":
        if not isinstance(value, list):
            raise _type_error(value, struct, fld, go_type)
        return value
    if kind == "duration":
        return parse_keep_alive(value)
    if kind == "think":
        return _check_think(value)
    if kind == "images":
        _check_images(value, struct, fld)
        return value
    if kind == "messages":
        return _check_messages(value, struct)
    return value


def _syntax_message(body: bytes, exc: json.JSONDecodeError) -> str:
    """Go's syntax errors, for the common cases."""
    text = body.decode("utf-8", "replace")
    pos = exc.pos
    if pos >= len(text.rstrip()):
        return "unexpected EOF"
    ch = text[pos]
    where = "looking for beginning of value"
    if exc.msg.startswith("Expecting property name"):
        where = "looking for beginning of object key string"
    elif exc.msg.startswith("Expecting ',' delimiter") or exc.msg.startswith("Expecting ':'"):
        where = "after object key" if ":" in exc.msg else "after object key:value pair"
    elif exc.msg.startswith("Extra data"):
        where = "after top-level value"
    return f"invalid character '{ch}' {where}"
