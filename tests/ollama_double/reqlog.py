"""What clients sent: request counts, bodies and disconnects, readable from any thread."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Entry:
    method: str
    path: str
    body: Any = None
    has_body: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    lines: int = 0  # NDJSON lines streamed in the answer (written by the server thread only)


class RequestLog:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._entries: list[Entry] = []
        self.disconnects: list[str] = []
        self._disconnects_seen = 0

    # --- recording (server thread) ---------------------------------------------------
    def record(self, method: str, path: str, headers: dict[str, str]) -> Entry:
        entry = Entry(method, path, headers=dict(headers))
        with self._cond:
            self._entries.append(entry)
            self._cond.notify_all()
        return entry

    def set_body(self, entry: Entry, body: Any) -> None:
        with self._cond:
            entry.body = body
            entry.has_body = True
            self._cond.notify_all()

    def record_disconnect(self, path: str) -> None:
        with self._cond:
            self.disconnects.append(path)
            self._cond.notify_all()

    # --- queries (test thread) -----------------------------------------------------
    def entries(self) -> list[Entry]:
        with self._cond:
            return list(self._entries)

    def count(self, method: str, path: str) -> int:
        with self._cond:
            return sum(1 for e in self._entries if e.method == method and e.path == path)

    def count_prefix(self, method: str, prefix: str) -> int:
        with self._cond:
            return sum(1 for e in self._entries if e.method == method and e.path.startswith(prefix))

    def lines(self, path: str) -> int:
        """NDJSON lines streamed so far in every answer on `path` (e.g. a pull's progress)."""
        with self._cond:
            return sum(e.lines for e in self._entries if e.path == path)

    def bodies(self, path: str) -> list[Any]:
        """Decoded JSON bodies sent to `path`, in order (a byte count for blob uploads)."""
        with self._cond:
            return [e.body for e in self._entries if e.path == path and e.has_body]

    def last_body(self, path: str) -> Any:
        found = self.bodies(path)
        if not found:
            raise LookupError(f"no request body was sent to {path}")
        return found[-1]

    def headers(self, path: str) -> list[dict[str, str]]:
        with self._cond:
            return [e.headers for e in self._entries if e.path == path]

    def clear(self) -> None:
        with self._cond:
            self._entries.clear()
            self.disconnects.clear()
            self._disconnects_seen = 0

    # --- waiting without sleeping ----------------------------------------------------
    def wait_disconnect(self, timeout: float = 5.0) -> bool:
        """Wait for a client disconnect not yet consumed by an earlier call; consume it."""
        with self._cond:
            ok = self._cond.wait_for(
                lambda: len(self.disconnects) > self._disconnects_seen, timeout
            )
            if ok:
                self._disconnects_seen += 1
            return ok

    async def wait_disconnect_async(self, timeout: float = 5.0) -> bool:  # noqa: ASYNC109
        """As wait_disconnect, without blocking the caller's event loop."""
        return await asyncio.to_thread(self.wait_disconnect, timeout)

    def wait_count(self, method: str, path: str, n: int = 1, timeout: float = 5.0) -> bool:
        """Wait until at least n requests for (method, path) have arrived."""
        with self._cond:
            return self._cond.wait_for(
                lambda: sum(1 for e in self._entries if e.method == method and e.path == path) >= n,
                timeout,
            )

    async def wait_count_async(
        self,
        method: str,
        path: str,
        n: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> bool:
        return await asyncio.to_thread(self.wait_count, method, path, n, timeout)
