"""Hashing: how fast `sha256_file` is, and whether the event loop stays responsive meanwhile.

* Speed: `tools.packaging.blobs.sha256_file` (8 MiB chunks, each read and hash step in a worker
  thread) against `hashlib.file_digest` (one blocking call) on the same file, in the page cache.
* Responsiveness: a task that sleeps 1 ms in a loop records the gap between its wake-ups, idle
  and while `sha256_file` runs; the figures are the max and median gaps during hashing over the
  idle ones. For scale, the details also give the max gap when the file is hashed on the loop
  itself, which is what running the hash without worker threads would do to every other task.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from functools import partial

import anyio
import anyio.lowlevel

from bench.common import Figure, MiB, Workspace, file_digest, median, timed
from tools.packaging.blobs import sha256_file

TICK = 0.001  # seconds the ticker sleeps between wake-ups
MIN_IDLE = 0.1  # seconds of idle ticking at least, for a small file


def run(workspace: Workspace) -> list[Figure]:
    return anyio.run(_measure, workspace)


async def _measure(workspace: Workspace) -> list[Figure]:
    big = workspace.big
    repeats = workspace.settings.repeats

    # Speed: alternate the two so that any drift in the machine hits both alike.
    ours: list[float] = []
    stdlib: list[float] = []
    for _ in range(repeats):
        start = time.perf_counter()
        digest = await sha256_file(big.path)
        ours.append(time.perf_counter() - start)
        stdlib.append(timed(lambda: file_digest(big.path)))
        if digest != big.digest:
            raise RuntimeError(f"sha256_file gave {digest}, hashlib gave {big.digest}")
    best_ours, best_stdlib = min(ours), min(stdlib)
    mib_per_s = big.size / MiB
    speed = Figure.of(
        "hashing_speed",
        "Hashing speed",
        best_ours,
        best_stdlib,
        ratio_of="sha256_file time / hashlib.file_digest time",
        unit="s",
        healthy="about 1 (worker threads cost little)",
        details={
            "sha256_file_mib_per_s": round(mib_per_s / best_ours, 1),
            "file_digest_mib_per_s": round(mib_per_s / best_stdlib, 1),
            "best_of": repeats,
        },
    )

    # Responsiveness: a few rounds of hashing then idling for as long (the same number of
    # chances for an unlucky tick); the median of each round's max gap shrugs off one stray
    # scheduler hiccup on either side.
    busy: list[list[float]] = []
    idle: list[list[float]] = []
    for _ in range(repeats):
        start = time.perf_counter()
        busy.append(await _ticks_during(lambda: sha256_file(big.path)))
        idle_s = max(time.perf_counter() - start, MIN_IDLE)
        idle.append(await _ticks_during(partial(anyio.sleep, idle_s)))
    blocked = await _ticks_during(_on_the_loop(lambda: file_digest(big.path)))
    busy_all = [gap for gaps in busy for gap in gaps]
    idle_all = [gap for gaps in idle for gap in gaps]
    counts: dict[str, int | float | str] = {
        "rounds": repeats,
        "idle_ticks": len(idle_all),
        "hashing_ticks": len(busy_all),
    }
    max_gap = Figure.of(
        "loop_max_gap",
        "Event loop while hashing: max tick gap",
        median([max(gaps) for gaps in busy]) * 1e3,
        median([max(gaps) for gaps in idle]) * 1e3,
        ratio_of="max 1 ms-tick gap while hashing / idle (median over rounds)",
        unit="ms",
        healthy="a few at most (on the loop it would be the whole hash time)",
        details={
            **counts,
            "worst_gap_hashing_ms": round(max(busy_all) * 1e3, 2),
            "worst_gap_idle_ms": round(max(idle_all) * 1e3, 2),
            "max_gap_hashing_on_the_loop_ms": round(max(blocked) * 1e3, 1),
        },
    )
    median_gap = Figure.of(
        "loop_median_gap",
        "Event loop while hashing: median tick gap",
        median(busy_all) * 1e3,
        median(idle_all) * 1e3,
        ratio_of="median 1 ms-tick gap while hashing / idle",
        unit="ms",
        healthy="about 1",
        details=counts,
    )
    return [speed, max_gap, median_gap]


def _on_the_loop(work: Callable[[], object]) -> Callable[[], Awaitable[None]]:
    async def blocking() -> None:
        await anyio.sleep(5 * TICK)  # let the ticker start first
        work()  # deliberately blocks the loop: the reference for what worker threads avoid

    return blocking


async def _ticks_during(work: Callable[[], Awaitable[object]]) -> list[float]:
    """Gaps between the wake-ups of a 1 ms ticker while `await work()` runs."""
    gaps: list[float] = []
    done = anyio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await anyio.sleep(TICK)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    async with anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        await anyio.lowlevel.checkpoint()  # the ticker starts its clock before the work does
        try:
            await work()
        finally:
            done.set()
    return gaps
