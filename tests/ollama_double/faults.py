"""Fault controls a test can set and clear while the double runs on its own thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from .gates import Gate

DEFAULT_VERSION = "0.33.0-rc2"
LEGACY_VERSION = "0.5.4"
BUSY_MESSAGE = "server busy, please try again.  maximum pending requests exceeded"


@dataclass
class LineFault:
    """Act after `lines` streamed NDJSON lines on `path` (any streaming route when None)."""

    lines: int
    path: str | None
    message: str | None  # None: drop the connection; else send {"error": message}

    def applies(self, path: str) -> bool:
        return self.path is None or route_matches(self.path, path)


def route_matches(pattern: str, path: str) -> bool:
    """An exact path, or every path under a pattern that ends with '/' (e.g. /api/blobs/)."""
    return path == pattern or (pattern.endswith("/") and path.startswith(pattern))


class Faults:
    """Thread-safe switches read by the server loop on every request."""

    def __init__(
        self,
        on_refuse: Callable[[], None] | None = None,
        on_accept: Callable[[], None] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._on_refuse = on_refuse
        self._on_accept = on_accept
        self._delays: dict[str, float] = {}
        self._busy = 0
        self._line_faults: list[LineFault] = []
        self.token_delay: float = 0.0
        self.legacy: bool = False
        self._version: str | None = None
        self.push_unauthorized: bool = False
        # ollama.com as the daemon sees it (routes_cloud): None, or where OLLAMA_NO_CLOUD came
        # from ("env", "config" or "both"); no signing key; unreachable; an error it answered.
        self.cloud_disabled: str | None = None
        self.signed_out: bool = False
        self.upstream_down: bool = False
        self.upstream_error: tuple[int, str] | None = None
        self._gates: dict[str, Gate] = {}

    # --- connection-level -------------------------------------------------------
    def refuse_connections(self) -> None:
        """Close the listening socket and open connections: clients get ECONNREFUSED."""
        if self._on_refuse is not None:
            self._on_refuse()

    def accept_connections(self) -> None:
        """Listen again on the same port."""
        if self._on_accept is not None:
            self._on_accept()

    # --- per-request ---------------------------------------------------------------
    def delay(self, path: str, seconds: float) -> None:
        """Hold every answer on `path` (or under it, when it ends with '/'); 0 clears."""
        with self._lock:
            if seconds <= 0:
                self._delays.pop(path, None)
            else:
                self._delays[path] = seconds

    def delay_for(self, path: str) -> float:
        with self._lock:
            for pattern, seconds in self._delays.items():
                if route_matches(pattern, path):
                    return seconds
            return 0.0

    def busy(self, n: int) -> None:
        """The next n requests (any route) are answered 503 server busy."""
        with self._lock:
            self._busy = max(0, n)

    def take_busy(self) -> bool:
        with self._lock:
            if self._busy > 0:
                self._busy -= 1
                return True
            return False

    def drop_after_lines(self, n: int, path: str | None = None) -> None:
        with self._lock:
            self._line_faults.append(LineFault(n, path, None))

    def error_after_lines(self, n: int, message: str, path: str | None = None) -> None:
        with self._lock:
            self._line_faults.append(LineFault(n, path, message))

    def take_line_fault(self, path: str) -> LineFault | None:
        """The fault for a new stream on `path`; each fault applies to one stream only."""
        with self._lock:
            for fault in self._line_faults:
                if fault.applies(path):
                    self._line_faults.remove(fault)
                    return fault
            return None

    def gate(self, path: str) -> Gate:
        """Hold every stream on `path` at a gate that lets lines out as the test allows."""
        with self._lock:
            return self._gates.setdefault(path, Gate(path))

    def gate_for(self, path: str) -> Gate | None:
        with self._lock:
            return self._gates.get(path)

    # --- server identity -----------------------------------------------------------
    @property
    def version(self) -> str:
        if self._version is not None:
            return self._version
        return LEGACY_VERSION if self.legacy else DEFAULT_VERSION

    @version.setter
    def version(self, value: str) -> None:
        self._version = value

    def reset(self) -> None:
        with self._lock:
            self._delays.clear()
            self._busy = 0
            self._line_faults.clear()
            self.token_delay = 0.0
            self.legacy = False
            self._version = None
            self.push_unauthorized = False
            self.cloud_disabled = None
            self.signed_out = False
            self.upstream_down = False
            self.upstream_error = None
            gates, self._gates = list(self._gates.values()), {}
        for gate in gates:
            gate.open()
        self.accept_connections()
