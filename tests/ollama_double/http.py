"""A small HTTP/1.1 server on asyncio streams.

Written by hand instead of using a framework because the double must control things
frameworks hide: answering before (or without) reading a request body, noticing that
a client went away while a response is pending, aborting a connection after N
streamed lines, and closing the listening socket and reopening it on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any
from urllib.parse import unquote

_MAX_HEADER_LINE = 64 * 1024
_READ_SIZE = 256 * 1024
# After answering without reading a body, keep discarding what the client still sends
# for this long at most, so it can finish its upload and read the answer (Go instead
# drains 256 KiB and then closes; an abrupt close can lose the answer to a TCP reset).
_DRAIN_IDLE_SECONDS = 5.0


class ClientGone(Exception):
    """The peer closed the connection while we were answering."""


class BadRequest(Exception):
    pass


class Connection:
    """One TCP connection with a push-back buffer, so a watcher can read ahead safely."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.buf = bytearray()
        self.eof = False
        self.killed = False  # closed by the server itself (faults), not by the client

    async def fill(self) -> bool:
        """Read more bytes into the buffer; False at EOF."""
        if self.eof:
            return False
        try:
            data = await self.reader.read(_READ_SIZE)
        except (ConnectionError, OSError):
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    async def readline(self) -> bytes | None:
        while True:
            idx = self.buf.find(b"\n")
            if idx >= 0:
                line = bytes(self.buf[: idx + 1])
                del self.buf[: idx + 1]
                return line
            if len(self.buf) > _MAX_HEADER_LINE:
                raise BadRequest("header line too long")
            if not await self.fill():
                return None

    async def read_some(self, limit: int) -> bytes:
        if not self.buf and not await self.fill():
            return b""
        data = bytes(self.buf[:limit])
        del self.buf[:limit]
        return data

    async def read_exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not await self.fill():
                raise ClientGone("the client went away mid-body")
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()

    def abort(self) -> None:
        self.killed = True
        with contextlib.suppress(Exception):
            self.writer.transport.abort()


class Request:
    def __init__(
        self, conn: Connection, method: str, target: str, version: str, headers: dict[str, str]
    ) -> None:
        self.conn = conn
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        raw_path, _, self.query = target.partition("?")
        self.path = unquote(raw_path)
        te = headers.get("transfer-encoding", "").lower()
        self.chunked = "chunked" in te
        cl = headers.get("content-length")
        self.content_length: int | None = None
        if cl is not None and not self.chunked:
            try:
                self.content_length = int(cl)
            except ValueError as exc:
                raise BadRequest("bad content-length") from exc
        self.has_body = self.chunked or bool(self.content_length)
        self.body_finished = asyncio.Event()
        if not self.has_body:
            self.body_finished.set()
        self.body_started = False
        self.bytes_read = 0
        self._remaining = self.content_length or 0
        self._chunk_left = 0
        self._cached: bytes | None = None

    @property
    def keep_alive(self) -> bool:
        conn_hdr = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in conn_hdr
        return "close" not in conn_hdr

    async def _next_chunk(self) -> bytes:
        if self.body_finished.is_set():
            return b""
        self.body_started = True
        if not self.chunked:
            if self._remaining <= 0:
                self.body_finished.set()
                return b""
            data = await self.conn.read_some(min(self._remaining, _READ_SIZE))
            if not data:
                raise ClientGone("the client went away mid-body")
            self._remaining -= len(data)
            if self._remaining == 0:
                self.body_finished.set()
            return data
        if self._chunk_left == 0:
            line = await self.conn.readline()
            if line is None:
                raise ClientGone("the client went away mid-body")
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError as exc:
                raise BadRequest("bad chunk size") from exc
            if size == 0:
                while True:  # trailers end with an empty line
                    trailer = await self.conn.readline()
                    if trailer is None or trailer in (b"\r\n", b"\n"):
                        break
                self.body_finished.set()
                return b""
            self._chunk_left = size
        data = await self.conn.read_some(min(self._chunk_left, _READ_SIZE))
        if not data:
            raise ClientGone("the client went away mid-body")
        self._chunk_left -= len(data)
        if self._chunk_left == 0:
            await self.conn.read_exactly(2)  # the CRLF after the chunk data
        return data

    async def iter_body(self) -> AsyncIterator[bytes]:
        while True:
            data = await self._next_chunk()
            if not data:
                return
            self.bytes_read += len(data)
            yield data

    async def read(self) -> bytes:
        if self._cached is None:
            parts = [chunk async for chunk in self.iter_body()]
            self._cached = b"".join(parts)
        return self._cached


class Responder:
    """Writes one response: either whole, or as a chunked stream."""

    def __init__(self, req: Request) -> None:
        self.req = req
        self.conn = req.conn
        self.started = False
        self.finished = False
        self.streaming = False
        self.status = 0
        self.close_after = not req.keep_alive

    def _head(self, status: int, headers: list[tuple[str, str]]) -> bytes:
        reason = _REASONS.get(status, "")
        lines = [f"HTTP/1.1 {status} {reason}".rstrip()]
        lines.append(f"Date: {email.utils.formatdate(usegmt=True)}")
        if not self.req.body_finished.is_set():
            # We answer without having read the whole body: the connection cannot be reused.
            self.close_after = True
        if self.close_after:
            lines.append("Connection: close")
        lines += [f"{k}: {v}" for k, v in headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def _write(self, data: bytes) -> None:
        transport = self.conn.writer.transport
        if transport.is_closing():
            raise ClientGone()
        try:
            self.conn.writer.write(data)
            await self.conn.writer.drain()
        except (ConnectionError, OSError) as exc:
            raise ClientGone() from exc

    async def send(
        self,
        status: int,
        body: bytes = b"",
        content_type: str | None = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        assert not self.started, "response already started"
        self.started = True
        self.status = status
        hdrs = list(headers or [])
        if content_type is not None:
            hdrs.append(("Content-Type", content_type))
        hdrs.append(("Content-Length", str(len(body))))
        payload = self._head(status, hdrs)
        if self.req.method != "HEAD":
            payload += body
        await self._write(payload)
        self.finished = True

    async def start_stream(
        self, status: int = 200, content_type: str = "application/x-ndjson"
    ) -> None:
        assert not self.started, "response already started"
        self.started = True
        self.streaming = True
        self.status = status
        hdrs = [("Content-Type", content_type), ("Transfer-Encoding", "chunked")]
        await self._write(self._head(status, hdrs))

    async def write_chunk(self, data: bytes) -> None:
        if data:
            await self._write(b"%x\r\n%s\r\n" % (len(data), data))

    async def end_stream(self) -> None:
        if not self.finished:
            self.finished = True
            await self._write(b"0\r\n\r\n")

    async def drop(self) -> None:
        """End the connection mid-response, as a crashed or killed server would."""
        self.finished = True
        self.close_after = True
        self.conn.killed = True
        with contextlib.suppress(Exception):
            await self.conn.writer.drain()
        self.conn.close()


_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    301: "Moved Permanently",
    307: "Temporary Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    499: "",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}

Dispatch = Callable[[Request, Responder], Coroutine[Any, Any, None]]
OnDisconnect = Callable[[Request], None]


class HttpServer:
    """Accepts connections and runs `dispatch` for each request, one at a time per connection."""

    def __init__(self, dispatch: Dispatch, on_disconnect: OnDisconnect, host: str = "127.0.0.1"):
        self.dispatch = dispatch
        self.on_disconnect = on_disconnect
        self.host = host
        self.port = 0
        self._server: asyncio.Server | None = None
        self.connections: set[Connection] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    async def listen(self, port: int) -> int:
        self._server = await asyncio.start_server(
            self._on_connection, self.host, port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop_listening(self) -> None:
        """Close the listening socket and every open connection (as a stopped server would)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for conn in list(self.connections):
            conn.abort()

    async def shutdown(self) -> None:
        await self.stop_listening()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task

    @property
    def listening(self) -> bool:
        return self._server is not None

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        conn = Connection(reader, writer)
        self.connections.add(conn)
        try:
            while not conn.killed:
                req = await self._read_request(conn)
                if req is None:
                    break
                if not await self._serve_one(conn, req):
                    break
        except (BadRequest, ConnectionError, OSError):
            pass
        except asyncio.CancelledError:
            pass  # shutdown; returning normally keeps asyncio from logging the cancelled task
        finally:
            self.connections.discard(conn)
            self._tasks.discard(task)
            conn.close()

    async def _read_request(self, conn: Connection) -> Request | None:
        line = await conn.readline()
        while line in (b"\r\n", b"\n"):  # tolerate stray CRLF between requests
            line = await conn.readline()
        if line is None:
            return None
        parts = line.decode("latin-1").strip().split(" ")
        if len(parts) != 3:
            conn.writer.write(
                b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n400 Bad Request"
            )
            return None
        method, target, version = parts
        headers: dict[str, str] = {}
        while True:
            hline = await conn.readline()
            if hline is None:
                return None
            if hline in (b"\r\n", b"\n"):
                break
            key, _, value = hline.decode("latin-1").partition(":")
            headers[key.strip().lower()] = value.strip()
        return Request(conn, method, target, version, headers)

    async def _serve_one(self, conn: Connection, req: Request) -> bool:
        """Run the handler; returns whether the connection can serve another request."""
        resp = Responder(req)
        handler = asyncio.create_task(self.dispatch(req, resp))
        watcher = asyncio.create_task(self._watch(conn, req, handler))
        gone = False
        try:
            await asyncio.wait({handler})
        except asyncio.CancelledError:
            handler.cancel()  # server shutdown: take the handler down with the connection
            raise
        finally:
            watcher.cancel()
            with contextlib.suppress(BaseException):
                await watcher
        if handler.cancelled():
            gone = True
        elif (exc := handler.exception()) is not None:
            if isinstance(exc, ClientGone):
                gone = True
            elif isinstance(exc, BadRequest):
                return False
            else:
                raise exc
        if gone:
            if not conn.killed:
                self.on_disconnect(req)
            return False
        if resp.streaming and not resp.finished:
            try:
                await resp.end_stream()
            except ClientGone:
                return False
        if not resp.started:
            await resp.send(200)
        if not req.body_finished.is_set():
            await self._drain_unread(req)
            return False
        return not resp.close_after and not conn.killed

    async def _watch(self, conn: Connection, req: Request, handler: asyncio.Task[None]) -> None:
        """Once the body is read, an EOF from the client means it went away: cancel the handler."""
        await req.body_finished.wait()
        if conn.buf:
            return  # the client already sent more (pipelining): nothing to learn
        if not await conn.fill() and not conn.killed:
            handler.cancel()

    async def _drain_unread(self, req: Request) -> None:
        """Discard the rest of a body we answered without reading, then close."""
        conn = req.conn
        with contextlib.suppress(Exception):
            await conn.writer.drain()
            # Half-close our side first, as Go does, so the client sees the answer end.
            if conn.writer.can_write_eof():
                conn.writer.write_eof()
            while True:
                async with asyncio.timeout(_DRAIN_IDLE_SECONDS):
                    if not await conn.read_some(_READ_SIZE):
                        break
        conn.close()
