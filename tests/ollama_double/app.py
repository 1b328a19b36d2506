"""Routing, faults and the response shapes every route shares (contract sections 1.1-1.3)."""

from __future__ import annotations

import asyncio
import json
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import gojson
from .decode import HTTPError, decode
from .faults import BUSY_MESSAGE
from .http import ClientGone, Request, Responder
from .reqlog import Entry

if TYPE_CHECKING:
    from .server import OllamaDouble

JSON_UTF8 = "application/json; charset=utf-8"  # gin c.JSON
JSON_PLAIN = "application/json"  # streamResponse / waitForStream set this first
NDJSON = "application/x-ndjson"
TEXT_UTF8 = "text/plain; charset=utf-8"  # gin c.String
TEXT_PLAIN = "text/plain"  # gin's own 404/405 pages


class StreamEnded(Exception):
    """A fault ended the stream early (with an error line); the handler just stops."""


@dataclass
class StreamError:
    """An error produced by a stream's producer: a status if nothing was sent yet."""

    message: str
    status: int = 500


Handler = Callable[["Ctx"], Awaitable[None]]


class Ctx:
    """One request as a route sees it."""

    def __init__(
        self, double: OllamaDouble, req: Request, resp: Responder, body: bytes, entry: Entry
    ) -> None:
        self.double = double
        self.req = req
        self.resp = resp
        self.body = body
        self.entry = entry

    def record_body(self, value: Any) -> None:
        """Log what the request carried (done before answering, so tests never race it)."""
        self.double.requests.set_body(self.entry, value)

    @property
    def store(self) -> Any:
        return self.double.store

    def decode(self, struct: str) -> dict[str, Any]:
        return decode(self.body, struct)

    async def json(self, status: int, obj: Any, content_type: str = JSON_UTF8) -> None:
        await self.resp.send(status, gojson.dumps(obj), content_type)

    async def error(self, status: int, message: str, content_type: str = JSON_UTF8) -> None:
        await self.json(status, {"error": message}, content_type)

    async def empty(self, status: int = 200) -> None:
        await self.resp.send(status, b"")

    async def pace(self) -> None:
        """The configured pause between streamed tokens / progress lines."""
        delay = self.double.faults.token_delay
        if delay > 0:
            await asyncio.sleep(delay)

    async def stream_ndjson(self, items: AsyncIterator[Any]) -> None:
        """streamResponse: one JSON object per line; an error becomes a status or a last line."""
        fault = self.double.faults.take_line_fault(self.req.path)
        gate = self.double.faults.gate_for(self.req.path)
        lines = 0
        try:
            async for item in items:
                if gate is not None:
                    await gate.pass_line()
                if isinstance(item, StreamError):
                    if not self.resp.started:
                        await self.error(item.status, item.message, JSON_PLAIN)
                    else:
                        await self.resp.write_chunk(gojson.encode_line({"error": item.message}))
                    return
                if not self.resp.started:
                    await self.resp.start_stream(200, NDJSON)
                    if fault is not None and await self._apply_fault(fault, lines):
                        return
                await self.resp.write_chunk(gojson.encode_line(item))
                lines += 1
                self.entry.lines = lines
                if fault is not None and await self._apply_fault(fault, lines):
                    return
        finally:
            if hasattr(items, "aclose"):
                await items.aclose()
        if not self.resp.started:
            await self.resp.start_stream(200, NDJSON)

    async def _apply_fault(self, fault: Any, lines: int) -> bool:
        if lines < fault.lines:
            return False
        if fault.message is None:
            await self.resp.drop()
            raise ClientGone()
        await self.resp.write_chunk(gojson.encode_line({"error": fault.message}))
        await self.resp.end_stream()
        raise StreamEnded()

    async def wait_for_stream(self, items: AsyncIterator[Any]) -> None:
        """waitForStream: only the last progress object, or the error with its status."""
        latest: Any = {}
        try:
            async for item in items:
                if isinstance(item, StreamError):
                    await self.error(item.status, item.message, JSON_PLAIN)
                    return
                latest = item
        finally:
            if hasattr(items, "aclose"):
                await items.aclose()
        await self.json(200, latest, JSON_PLAIN)


def wants_stream(req: dict[str, Any]) -> bool:
    """Only an explicit `"stream": false` turns streaming off."""
    return req.get("stream") is not False


class Router:
    def __init__(self) -> None:
        self.routes: dict[str, dict[str, Handler]] = {}
        self.prefix_routes: dict[str, dict[str, Handler]] = {}

    def add(self, method: str, path: str, handler: Handler) -> None:
        self.routes.setdefault(path, {})[method] = handler

    def add_param(self, method: str, prefix: str, handler: Handler) -> None:
        """A route with one trailing path parameter, e.g. /api/blobs/:digest."""
        self.prefix_routes.setdefault(prefix, {})[method] = handler

    def match(self, path: str) -> dict[str, Handler] | None:
        if path in self.routes:
            return self.routes[path]
        for prefix, methods in self.prefix_routes.items():
            if path.startswith(prefix):
                param = path[len(prefix) :]
                if param and "/" not in param:
                    return methods
        return None


async def dispatch(double: OllamaDouble, router: Router, req: Request, resp: Responder) -> None:
    entry = double.requests.record(req.method, req.path, req.headers)
    methods = router.match(req.path)
    if methods is None:
        stripped = req.path.rstrip("/")
        if stripped != req.path and router.match(stripped) is not None:
            # gin's RedirectTrailingSlash
            code = 301 if req.method == "GET" else 307
            await resp.send(code, b"", None, [("Location", stripped)])
            return
        await resp.send(404, b"404 page not found", TEXT_PLAIN)
        return
    handler = methods.get(req.method)
    if handler is None:
        await resp.send(405, b"405 method not allowed", TEXT_PLAIN)
        return
    is_blob = req.path.startswith("/api/blobs/")
    body = b""
    if not is_blob:
        body = await req.read()
        if body:
            try:
                recorded: Any = json.loads(body)
            except ValueError:
                recorded = body
            double.requests.set_body(entry, recorded)
    faults = double.faults
    if faults.take_busy():
        await resp.send(503, gojson.dumps({"error": BUSY_MESSAGE}), JSON_UTF8)
        return
    delay = faults.delay_for(req.path)
    if delay > 0:
        await asyncio.sleep(delay)
    ctx = Ctx(double, req, resp, body, entry)
    try:
        await handler(ctx)
    except HTTPError as err:
        if is_blob:
            ctx.record_body(req.bytes_read)
        if resp.started:
            raise
        await ctx.error(err.status, err.message)
    except StreamEnded:
        return
    except (ClientGone, asyncio.CancelledError):
        raise
    except Exception as exc:  # a bug in the double: answer 500 and say where
        traceback.print_exc()
        if not resp.started:
            await ctx.error(500, f"test double error: {exc!r}")
