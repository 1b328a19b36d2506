"""Ollama's progress as MCP progress: monotonic, coalesced, and alive while nothing moves.

The protocol wants each progress value larger than the last. Ollama's pull and push report per
layer, starting again from 0 at each new layer (contract 9.3), and packaging reports per phase;
`LayeredTotals` sums the bytes of every layer (or file) seen, each never going back, so the sum
only grows. `ProgressReporter` sends at most one notification per `interval` (about ten a
second), keeps the latest one that was held back and always sends the last; a value that would
not be larger than the one sent is nudged just past it, so a new message ("verifying sha256
digest") is never lost and the value never steps back.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio

# Seconds between notifications: a little over 0.1, since the first and the last are sent
# whatever the rate, and the average must stay under ten a second.
DEFAULT_INTERVAL = 0.11
DEFAULT_HEARTBEAT = 5.0  # seconds of silence after which a long call says it is still working

Send = Callable[[float, float | None, str | None], Awaitable[None]]
Clock = Callable[[], float]


class LayeredTotals:
    """Bytes done and bytes known over every layer (or file), each keyed by its digest."""

    def __init__(self) -> None:
        self._done: dict[str, int] = {}
        self._total: dict[str, int] = {}

    def update(self, key: str, completed: int | None, total: int | None) -> None:
        if total:
            self._total[key] = max(self._total.get(key, 0), total)
        if completed is not None:
            self._done[key] = max(self._done.get(key, 0), completed)

    @property
    def done(self) -> int:
        return sum(self._done.values())

    @property
    def total(self) -> int:
        return sum(self._total.values())

    @property
    def parts(self) -> int:
        """How many layers (or files) were seen."""
        return len(self._total.keys() | self._done.keys())


class ProgressReporter:
    """Coalesces progress into at most one notification per `interval` seconds."""

    def __init__(
        self, send: Send, *, interval: float = DEFAULT_INTERVAL, clock: Clock = time.monotonic
    ) -> None:
        self._send = send
        self.interval = interval
        self.clock = clock
        self._last_value = -math.inf
        self.last_time = -math.inf
        self._pending: tuple[float, float | None, str | None] | None = None

    @property
    def has_pending(self) -> bool:
        return self._pending is not None

    async def report(
        self, progress: float, total: float | None = None, message: str | None = None
    ) -> None:
        """Record the newest progress; send it now unless one was sent under `interval` ago."""
        self._pending = (progress, total, message)
        if self.clock() - self.last_time >= self.interval:
            await self.flush()

    async def flush(self) -> None:
        """Send what is held back, if anything (the last report is always sent this way)."""
        if self._pending is None:
            return
        progress, total, message = self._pending
        self._pending = None
        if progress <= self._last_value:  # never step back, never repeat: nudge past it
            progress = self._last_value + max(abs(self._last_value) * 1e-9, 1e-6)
        if total is not None and total < progress:
            total = progress
        self._last_value = progress
        self.last_time = self.clock()
        await self._send(progress, total, message)

    async def tick(self, message: str) -> None:
        """Say the call is still alive: the same value, nudged forward, with `message`."""
        await self.report(max(self._last_value, 0.0), None, message)
        await self.flush()


@asynccontextmanager
async def heartbeat(
    reporter: ProgressReporter,
    describe: Callable[[float], str],
    *,
    every: float = DEFAULT_HEARTBEAT,
) -> AsyncIterator[None]:
    """While the body runs, flush held-back progress and, after `every` seconds of silence,
    send `describe(seconds so far)`: a client that resets its timeout on progress then never
    times out on a slow first load or a long answer."""
    clock = reporter.clock
    started = clock()

    async def beat() -> None:
        while True:
            await anyio.sleep(min(every, max(reporter.interval, 0.05)))
            quiet_for = clock() - reporter.last_time
            if reporter.has_pending and quiet_for >= reporter.interval:
                await reporter.flush()
            elif quiet_for >= every:
                await reporter.tick(describe(clock() - started))

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(beat)
            try:
                yield
            finally:
                group.cancel_scope.cancel()
    except BaseExceptionGroup as group_error:
        # The body's own error, as itself: callers (and the error table) never see a group.
        raise _single(group_error) from None
    await reporter.flush()


def _single(group: BaseExceptionGroup[BaseException]) -> BaseException:
    error: BaseException = group
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error


def human_bytes(size: float) -> str:
    """`2.0 GB`, `9.2 MB`, `512 B`: decimal units, as Ollama's CLI prints them."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(size) < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")
