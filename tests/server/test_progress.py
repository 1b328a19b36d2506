"""The progress reporter alone, on a clock the test moves: coalescing, the last value always
sent, values that never step back, and per-layer bytes summed."""

from __future__ import annotations

from server.progress import LayeredTotals, ProgressReporter, human_bytes

Sent = list[tuple[float, float | None, str | None]]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def reporter(sent: Sent, clock: FakeClock) -> ProgressReporter:
    async def send(progress: float, total: float | None, message: str | None) -> None:
        sent.append((progress, total, message))

    return ProgressReporter(send, interval=0.1, clock=clock)


async def test_bursts_are_coalesced_and_the_last_is_sent_on_flush() -> None:
    sent: Sent = []
    clock = FakeClock()
    progress = reporter(sent, clock)
    for value in range(1, 1001):  # a thousand lines within one interval
        await progress.report(value, 1000, f"line {value}")
    assert sent == [(1, 1000, "line 1")]
    await progress.flush()
    assert sent == [(1, 1000, "line 1"), (1000, 1000, "line 1000")]


async def test_at_most_one_notification_per_interval() -> None:
    sent: Sent = []
    clock = FakeClock()
    progress = reporter(sent, clock)
    for step in range(100):  # ten reports at each instant, instants 0.25 s apart
        clock.now = step * 0.25
        for burst in range(10):
            await progress.report(step * 10 + burst, None, None)
    assert [v for v, _, _ in sent] == [step * 10 for step in range(100)]


async def test_values_never_step_back_and_never_repeat() -> None:
    sent: Sent = []
    clock = FakeClock()
    progress = reporter(sent, clock)
    for value, message in ((50, "a"), (10, "b"), (50, "c")):
        clock.now += 1
        await progress.report(value, 100, message)
    values = [v for v, _, _ in sent]
    assert values[0] == 50 and values[1] > 50 and values[2] > values[1]
    assert [m for _, _, m in sent] == ["a", "b", "c"]


def test_layers_sum_and_each_layer_only_grows() -> None:
    totals = LayeredTotals()
    totals.update("sha256:a", 100, 100)
    totals.update("sha256:b", 10, 200)
    totals.update("sha256:b", 5, 200)  # a layer restarting its count does not step back
    assert (totals.done, totals.total, totals.parts) == (110, 300, 2)


def test_human_bytes() -> None:
    assert human_bytes(512) == "512 B"
    assert human_bytes(9_200_000) == "9.2 MB"
    assert human_bytes(2_000_000_000) == "2.0 GB"
