"""The server's own warnings and errors, sent to clients as MCP log messages.

A handshake-era client that sends `logging/setLevel` hears, as `notifications/message`, each
warning or error the server logs (Ollama unreachable, a damaged cache recovered, a background
pull failed) at or above the level it set, with the logger's name. Only the message's own line
goes out: no traceback, and any secret the server knows (the bearer token, Ollama's API key) is
replaced. Each connection hears at most `RATE` messages per `PER` seconds; what is held back is
counted and said with the next message. stderr logging is unchanged.

On 2026-07-28 logging is per request (the client's opt-in rides each request), so messages
from outside a request cannot reach those clients; they read stderr or `ollama_status`.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, get_args

import anyio
from mcp.server.connection import Connection
from mcp.server.context import ServerRequestContext
from mcp.types import EmptyResult, LoggingLevel, SetLevelRequestParams

from server.notifications import connection_of

LEVELS: tuple[LoggingLevel, ...] = get_args(LoggingLevel)  # ascending, RFC 5424's order
FORWARDED_LOGGERS = ("server", "tools")  # the server's own modules, not the SDK's
MAX_TEXT = 500
QUEUE_SIZE = 256
SEND_TIMEOUT = 2.0
REDACTED = "[redacted]"

logger = logging.getLogger(__name__)


def mcp_level(record: logging.LogRecord) -> LoggingLevel:
    if record.levelno >= logging.CRITICAL:
        return "critical"
    if record.levelno >= logging.ERROR:
        return "error"
    if record.levelno >= logging.WARNING:
        return "warning"
    return "info" if record.levelno >= logging.INFO else "debug"


@dataclass
class RateLimit:
    """At most `rate` messages in any window of `per` seconds; `held_back` counts the rest."""

    rate: int
    per: float
    clock: Callable[[], float] = time.monotonic
    sent: list[float] = field(default_factory=list)
    held_back: int = 0

    def allow(self) -> bool:
        now = self.clock()
        self.sent = [t for t in self.sent if now - t < self.per]
        if len(self.sent) >= self.rate:
            self.held_back += 1
            return False
        self.sent.append(now)
        return True


@dataclass
class Listener:
    level: LoggingLevel
    limit: RateLimit


class ClientLog(logging.Handler):
    """A logging handler that queues the server's warnings for the connections that asked."""

    RATE = 10
    PER = 60.0

    def __init__(
        self, secrets: Iterable[str | None] = (), clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(level=logging.WARNING)
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._clock = clock
        self._listeners: weakref.WeakKeyDictionary[Connection, Listener] = (
            weakref.WeakKeyDictionary()
        )
        self._queue: asyncio.Queue[tuple[LoggingLevel, str, str]] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def set_level(self, connection: Connection, level: LoggingLevel) -> None:
        listener = self._listeners.get(connection)
        if listener is None:
            limit = RateLimit(self.RATE, self.PER, self._clock)
            self._listeners[connection] = Listener(level, limit)
        else:
            listener.level = level

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text[:MAX_TEXT]

    def emit(self, record: logging.LogRecord) -> None:
        # May run in a worker thread (hashing, sqlite): hand over to the loop, never block.
        if self._loop is None or not self._listeners:
            return
        try:
            entry = (mcp_level(record), record.name, self.redact(record.getMessage()))
            self._loop.call_soon_threadsafe(self._enqueue, entry)
        except Exception:  # a closed loop or a bad format string must not break logging
            self.handleError(record)

    def _enqueue(self, entry: tuple[LoggingLevel, str, str]) -> None:
        if self._queue is not None and not self._queue.full():
            self._queue.put_nowait(entry)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Attached to the server's loggers, and sending, while the server runs."""
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue(QUEUE_SIZE)
        targets = [logging.getLogger(name) for name in FORWARDED_LOGGERS]
        for target in targets:
            target.addHandler(self)
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._send_forever)
                try:
                    yield
                finally:
                    group.cancel_scope.cancel()
        finally:
            for target in targets:
                target.removeHandler(self)
            self._loop = self._queue = None

    async def _send_forever(self) -> None:
        assert self._queue is not None
        while True:
            level, name, text = await self._queue.get()
            for connection, listener in list(self._listeners.items()):
                if LEVELS.index(level) < LEVELS.index(listener.level):
                    continue
                await self._send(connection, listener, level, name, text)

    async def _send(
        self, connection: Connection, listener: Listener, level: LoggingLevel, name: str, text: str
    ) -> None:
        limit = listener.limit
        held_back = limit.held_back
        if not limit.allow():
            return
        if held_back:
            limit.held_back = 0
            text = f"{text} ({held_back} earlier messages held back by the rate limit)"
        try:
            with anyio.fail_after(SEND_TIMEOUT):
                await connection.log(level, text, logger=name)
        except Exception:  # that client went away: forget it (logged below WARNING: no loop)
            logger.debug("dropping a connection that could not take a log message", exc_info=True)
            self._listeners.pop(connection, None)


def set_level_handler(log: ClientLog) -> Any:
    """The handshake-era `logging/setLevel` handler."""

    async def on_set_level(
        ctx: ServerRequestContext[Any, Any], params: SetLevelRequestParams
    ) -> EmptyResult:
        log.set_level(connection_of(ctx.session), params.level)
        return EmptyResult()

    return on_set_level
