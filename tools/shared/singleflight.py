"""Coalesce concurrent calls for the same key into one: the first caller does the work, the others
wait for its outcome (value or exception).

If the caller doing the work is cancelled, the waiters are not left hanging or handed a
cancellation that was not theirs: one of them takes over and does the work itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

import anyio

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Flight(Generic[V]):
    __slots__ = ("done", "error", "finished", "value")

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.finished = False  # False after `done` means the leader was cancelled
        self.value: V | None = None
        self.error: Exception | None = None


class SingleFlight(Generic[K, V]):
    """At most one `work()` in progress per key; everyone asking meanwhile shares its outcome."""

    def __init__(self) -> None:
        self._flights: dict[K, _Flight[V]] = {}

    async def run(self, key: K, work: Callable[[], Awaitable[V]]) -> V:
        while True:
            flight = self._flights.get(key)
            if flight is None:
                return await self._lead(key, work)
            await flight.done.wait()
            if not flight.finished:
                continue  # the leader was cancelled: take over
            if flight.error is not None:
                raise flight.error
            return flight.value  # type: ignore[return-value]  # set whenever finished w/o error

    def forget(self) -> None:
        """Let calls from now on start afresh instead of joining work already in progress
        (after an invalidation, work begun before it may return what is no longer true)."""
        self._flights.clear()

    async def _lead(self, key: K, work: Callable[[], Awaitable[V]]) -> V:
        flight: _Flight[V] = _Flight()
        self._flights[key] = flight
        try:
            value = await work()
        except Exception as exc:
            flight.error = exc
            flight.finished = True
            raise
        else:
            flight.value = value
            flight.finished = True
            return value
        finally:
            if self._flights.get(key) is flight:
                del self._flights[key]
            flight.done.set()
