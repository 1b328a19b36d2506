"""A gate on a streaming route: lines go out only as the test allows, so a pull can be made as
slow and as long as a test needs without a single sleep.

    gate = ollama.faults.gate("/api/pull")   # every stream on the path now waits at the gate
    await gate.wait_held_async(lines=3)      # the stream sent 3 lines and waits for the 4th
    gate.allow(2)                            # let two more lines out
    gate.open()                              # let everything out (faults.reset() opens it too)

The double's loop waits on an asyncio event; the test's thread wakes it with
`call_soon_threadsafe`, so a held stream still notices its client going away at once.
"""

from __future__ import annotations

import asyncio
import threading


class Gate:
    def __init__(self, path: str) -> None:
        self.path = path
        self._cond = threading.Condition()
        self._allowed = 0
        self._opened = False
        self.passed = 0  # lines let out so far, over every stream on the path
        self.held = 0  # streams waiting at the gate now
        self._wakers: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    # --- the test's side (any thread) -----------------------------------------------------
    def allow(self, lines: int) -> None:
        """Let `lines` more lines out."""
        with self._cond:
            self._allowed += lines
        self._wake()

    def open(self) -> None:
        """Let every line out from now on."""
        with self._cond:
            self._opened = True
        self._wake()

    def wait_held(self, lines: int, timeout: float = 5.0) -> bool:
        """Wait until a stream waits at the gate after `lines` lines in all have gone out."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self.held > 0 and self.passed >= lines and self._allowed == 0, timeout
            )

    async def wait_held_async(self, lines: int, timeout: float = 5.0) -> bool:  # noqa: ASYNC109
        return await asyncio.to_thread(self.wait_held, lines, timeout)

    async def wait_holding_async(self, streams: int, timeout: float = 10.0) -> bool:  # noqa: ASYNC109
        """Wait until `streams` streams wait at the gate at once."""

        def holding() -> bool:
            with self._cond:
                return self._cond.wait_for(lambda: self.held >= streams, timeout)

        return await asyncio.to_thread(holding)

    # --- the double's side (its event loop) ----------------------------------------------------
    async def pass_line(self) -> None:
        """Return when the next line may go out."""
        while True:
            with self._cond:
                if self._opened or self._allowed > 0:
                    if not self._opened:
                        self._allowed -= 1
                    self.passed += 1
                    self._cond.notify_all()
                    return
                waker = (asyncio.get_running_loop(), asyncio.Event())
                self._wakers.append(waker)
                self.held += 1
                self._cond.notify_all()
            try:
                await waker[1].wait()
            finally:
                with self._cond:
                    self.held -= 1
                    if waker in self._wakers:
                        self._wakers.remove(waker)

    def _wake(self) -> None:
        with self._cond:
            wakers, self._wakers = self._wakers, []
            self._cond.notify_all()
        for loop, event in wakers:
            loop.call_soon_threadsafe(event.set)
