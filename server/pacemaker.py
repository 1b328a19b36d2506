"""One task for the whole process that keeps the progress of short, frequent calls alive.

`heartbeat` (server.progress) starts a task per call and cancels it at the end; for generate
and chat, calls of a few milliseconds, that task cost about a fifth of a millisecond each
(`python -m bench --profile`: anyio's `cancel` formatting the task, the task group). Here a call
only joins a set: the pacemaker looks at the live calls every `PACE` seconds and, for a call
older than its first interval, does what the per-call task would do: send progress held back
by coalescing, or after `every` seconds of silence say the call is still working. A call that
ends before its first interval starts nothing and is sent nothing it did not report itself.

A send runs in a task of its own (a slow client holds up only its own call); if it fails, the
call is stopped and fails with that error, as with `heartbeat`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
from anyio.abc import TaskGroup

from server.progress import DEFAULT_HEARTBEAT, ProgressReporter

PACE = 0.05  # seconds between looks at the live calls (heartbeat's own floor)


class _Beat:
    """One live call: its reporter and, while a send for it runs, that send's scope."""

    def __init__(
        self, reporter: ProgressReporter, describe: Callable[[float], str], every: float
    ) -> None:
        self.reporter = reporter
        self.describe = describe
        self.every = every
        self.started = reporter.clock()
        # heartbeat's first look comes one period in: nothing is sent to a quicker call
        self.first_look = self.started + min(every, max(reporter.interval, PACE))
        self.body = anyio.CancelScope()
        self.sending: anyio.CancelScope | None = None
        self.error: BaseException | None = None

    def due(self) -> Callable[[], Awaitable[None]] | None:
        """What the call needs now, if anything."""
        reporter = self.reporter
        now = reporter.clock()
        if self.sending is not None or now < self.first_look:
            return None
        quiet_for = now - reporter.last_time
        if reporter.has_pending and quiet_for >= reporter.interval:
            return reporter.flush
        if quiet_for >= self.every:
            message = self.describe(now - self.started)
            return lambda: reporter.tick(message)
        return None

    async def send(self, work: Callable[[], Awaitable[None]], scope: anyio.CancelScope) -> None:
        # `scope` may be cancelled before this starts (the call ended): then nothing is sent.
        with scope:
            try:
                await work()
            except Exception as exc:  # the call's error, raised where the call ends
                self.error = exc
                self.body.cancel()
        self.sending = None


class Pacemaker:
    """Keeps every joined call's progress alive while `running()` is open."""

    def __init__(self, pace: float = PACE) -> None:
        self.pace = pace
        self._beats: set[_Beat] = set()
        self._group: TaskGroup | None = None
        self._joined = anyio.Event()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Pacemaker]:
        async with anyio.create_task_group() as group:
            self._group = group
            group.start_soon(self._run, name="progress pacemaker")
            try:
                yield self
            finally:
                self._group = None
                group.cancel_scope.cancel()

    @asynccontextmanager
    async def beating(
        self,
        reporter: ProgressReporter,
        describe: Callable[[float], str],
        *,
        every: float = DEFAULT_HEARTBEAT,
    ) -> AsyncIterator[None]:
        """While the body runs, its held-back progress is flushed and, after `every` seconds
        of silence, `describe(seconds so far)` is sent; the last progress is sent at the end."""
        if self._group is None:
            raise RuntimeError("the pacemaker is not running")
        beat = _Beat(reporter, describe, every)
        self._beats.add(beat)
        self._joined.set()
        try:
            with beat.body:
                yield
        finally:
            self._beats.discard(beat)
            if beat.sending is not None:
                beat.sending.cancel()
        if beat.error is not None:
            raise beat.error
        await reporter.flush()

    async def _run(self) -> None:
        while True:
            if not self._beats:
                self._joined = anyio.Event()
                await self._joined.wait()
            await anyio.sleep(self.pace)
            for beat in list(self._beats):
                work = beat.due()
                if work is not None and self._group is not None:
                    beat.sending = anyio.CancelScope()  # one send at a time per call
                    self._group.start_soon(beat.send, work, beat.sending)
