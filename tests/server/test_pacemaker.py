"""The progress pacemaker: one task for every paced call, on the real clock. A quick call starts
nothing and is sent nothing it did not report; a quiet call gets its held-back progress and its
heartbeat; a failing send fails the call with its own error; a call's end stops its send."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest

from server.pacemaker import Pacemaker
from server.progress import ProgressReporter

Sent = list[tuple[float, float | None, str | None]]
WAIT = 5.0  # seconds: a hang guard for events the pacemaker must cause


@asynccontextmanager
async def running() -> AsyncIterator[Pacemaker]:
    async with Pacemaker().running() as pacemaker:
        yield pacemaker


def recorder(sent: Sent, arrived: anyio.Event | None = None) -> ProgressReporter:
    async def send(progress: float, total: float | None, message: str | None) -> None:
        sent.append((progress, total, message))
        if arrived is not None and len(sent) >= 2:
            arrived.set()

    return ProgressReporter(send, interval=0.1)


async def test_a_call_that_ends_at_once_starts_no_task_and_gets_only_its_own_progress() -> None:
    sent: Sent = []
    async with running() as pacemaker:
        before = len(anyio.get_running_tasks())
        reporter = recorder(sent)
        async with pacemaker.beating(reporter, lambda s: f"waiting ({s:.0f} s)"):
            await reporter.report(1, None, "first")
            await reporter.report(2, None, "second")  # held back: under an interval after 1
            during = len(anyio.get_running_tasks())
    assert during == before
    assert sent == [(1, None, "first"), (2, None, "second")]  # the last, sent at the end


async def test_held_back_progress_is_sent_while_the_call_is_quiet() -> None:
    sent: Sent = []
    arrived = anyio.Event()
    async with running() as pacemaker:
        reporter = recorder(sent, arrived)
        async with pacemaker.beating(reporter, lambda s: "waiting"):
            await reporter.report(1, 10, "one")
            await reporter.report(2, 10, "two")  # held back
            with anyio.fail_after(WAIT):
                await arrived.wait()  # the pacemaker flushes it, the body never does
            assert sent == [(1, 10, "one"), (2, 10, "two")]


async def test_a_silent_call_is_told_to_be_still_working_after_every_seconds() -> None:
    sent: Sent = []
    arrived = anyio.Event()
    async with running() as pacemaker:
        reporter = recorder(sent, arrived)
        await reporter.report(1, None, "started")
        async with pacemaker.beating(reporter, lambda s: "still loading", every=0.2):
            with anyio.fail_after(WAIT):
                await arrived.wait()
    assert sent[1][2] == "still loading"
    assert sent[1][0] > 1  # nudged forward: progress never repeats


async def test_a_failing_send_stops_the_call_with_the_send_s_error() -> None:
    async def send(progress: float, total: float | None, message: str | None) -> None:
        if message == "still loading":
            raise ConnectionResetError("the client went away")

    reached_the_end = False
    async with running() as pacemaker:
        reporter = ProgressReporter(send, interval=0.1)
        with (
            anyio.fail_after(WAIT),
            pytest.raises(ConnectionResetError, match="the client went away"),
        ):
            async with pacemaker.beating(reporter, lambda s: "still loading", every=0.1):
                await anyio.sleep_forever()  # the failure must end this
            reached_the_end = True
    assert not reached_the_end


async def test_a_send_in_flight_stops_when_its_call_ends() -> None:
    started, stopped = anyio.Event(), anyio.Event()

    async def send(progress: float, total: float | None, message: str | None) -> None:
        if message == "final":
            return
        started.set()
        try:
            await anyio.sleep_forever()  # a client that never reads
        finally:
            stopped.set()

    async with running() as pacemaker:
        reporter = ProgressReporter(send, interval=0.1)
        async with pacemaker.beating(reporter, lambda s: "still loading", every=0.1):
            with anyio.fail_after(WAIT):
                await started.wait()
            await reporter.report(5, None, "final")
        with anyio.fail_after(WAIT):
            await stopped.wait()


async def test_joining_a_pacemaker_that_is_not_running_says_so() -> None:
    reporter = recorder([])
    with pytest.raises(RuntimeError, match="the pacemaker is not running"):
        async with Pacemaker().beating(reporter, str):
            pass
