"""Ollama 0.5.4's /api/create: a `modelfile` (or `path`) parsed on the server.

Only what the double needs for compatibility tests: FROM (a model name, or
`@sha256:<digest>` for an uploaded blob), ADAPTER @sha256:..., SYSTEM, TEMPLATE,
LICENSE, PARAMETER and MESSAGE, each on one line or in triple quotes.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from .app import Ctx
from .decode import HTTPError

RunCreate = Callable[[Ctx, dict[str, Any], bool], Awaitable[None]]

_COMMAND = re.compile(r"^\s*([A-Za-z]+)\s+(.*)$", re.S)


def parse_modelfile(text: str) -> list[tuple[str, str]]:
    """(instruction, argument) pairs; triple-quoted values may span lines."""
    out: list[tuple[str, str]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _COMMAND.match(line)
        if match is None:
            raise HTTPError(400, f"(line {i}): command must be one of the Modelfile instructions")
        cmd, arg = match.group(1).lower(), match.group(2).strip()
        if arg.startswith('"""'):
            body = arg[3:]
            while not body.endswith('"""') and i < len(lines):
                body += "\n" + lines[i]
                i += 1
            arg = body[:-3] if body.endswith('"""') else body
        elif len(arg) >= 2 and arg.startswith('"') and arg.endswith('"'):
            arg = arg[1:-1]
        out.append((cmd, arg))
    return out


def _typed(value: str) -> Any:
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def to_request(body: dict[str, Any]) -> dict[str, Any]:
    req: dict[str, Any] = {"model": body.get("model") or body.get("name") or ""}
    if "stream" in body:
        req["stream"] = body["stream"]
    if body.get("quantize"):
        req["quantize"] = body["quantize"]
    params: dict[str, Any] = {}
    licenses: list[str] = []
    messages: list[dict[str, str]] = []
    for cmd, arg in parse_modelfile(body.get("modelfile", "")):
        if cmd == "from":
            if arg.startswith("@sha256:"):
                req.setdefault("files", {})["model.gguf"] = arg[1:]
            else:
                req["from"] = arg
        elif cmd == "adapter" and arg.startswith("@sha256:"):
            req.setdefault("adapters", {})["adapter.gguf"] = arg[1:]
        elif cmd in ("system", "template"):
            req[cmd] = arg
        elif cmd == "license":
            licenses.append(arg)
        elif cmd == "parameter":
            key, _, value = arg.partition(" ")
            value = value.strip()
            if key == "stop":
                params.setdefault("stop", []).append(value.strip('"'))
            else:
                params[key] = _typed(value)
        elif cmd == "message":
            role, _, content = arg.partition(" ")
            messages.append({"role": role, "content": content.strip().strip('"')})
    if not req.get("from") and not req.get("files"):
        raise HTTPError(400, "no FROM line")
    if params:
        req["parameters"] = params
    if licenses:
        req["license"] = licenses
    if messages:
        req["messages"] = messages
    return req


async def legacy_create(ctx: Ctx, run_create: RunCreate) -> None:
    body = ctx.decode("LegacyCreateRequest")
    if not body.get("modelfile") and not body.get("path"):
        raise HTTPError(400, "path or Modelfile are required")
    if not body.get("modelfile"):
        raise HTTPError(400, f"open {body['path']}: no such file or directory")
    await run_create(ctx, to_request(body), True)
