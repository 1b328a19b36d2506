"""The persistent half of the metadata cache: one small sqlite file in WAL mode.

Why sqlite in WAL mode: every write is one atomic transaction, so a crash never leaves half an
entry; readers never wait for a writer, and writers from several processes queue on a short busy
timeout instead of clobbering each other's files. It is in the standard library.

Every method here is blocking and thread-safe (callers run them in a worker thread), and none
raises: the cache must never be why something fails. A file that is not a database, or is
damaged, is logged and rebuilt empty; one that cannot be opened at all (a directory, no
permission) is logged and the cache carries on in memory only.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from tools.shared.sqlite_file import connect, is_damaged, remove_database_files, sqlite_code

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
DEFAULT_BUSY_TIMEOUT = 2.0  # seconds; writes take microseconds, so waiting this long means trouble

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    host      TEXT NOT NULL,  -- the Ollama base URL, so two servers never mix
    kind      TEXT NOT NULL,  -- what was cached, e.g. "tags" or "show"
    name      TEXT NOT NULL,  -- the normalised model name, "" for the list
    digest    TEXT NOT NULL,  -- the manifest digest the value belongs to, "" if none
    stored_at REAL NOT NULL,  -- seconds since the epoch, from the cache's clock
    payload   TEXT NOT NULL,  -- the value as JSON
    PRIMARY KEY (host, kind, name)
) WITHOUT ROWID
"""
_SETUP_ATTEMPTS = 5

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class CacheKey:
    host: str
    kind: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class CacheEntry:
    payload: str
    digest: str
    stored_at: float


class CacheDatabase:
    """Key-value rows in one sqlite file; see the module docstring for the failure rules."""

    def __init__(self, path: Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
        self.path = path
        self._busy_timeout = busy_timeout
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._reported: set[str] = set()

    def get(self, key: CacheKey) -> CacheEntry | None:
        def read(conn: sqlite3.Connection) -> CacheEntry | None:
            row = conn.execute(
                "SELECT payload, digest, stored_at FROM entries WHERE host=? AND kind=? AND name=?",
                (key.host, key.kind, key.name),
            ).fetchone()
            return None if row is None else CacheEntry(str(row[0]), str(row[1]), float(row[2]))

        return self._run(read, None)

    def put(
        self, key: CacheKey, entry: CacheEntry, *, only_if: Callable[[], bool] | None = None
    ) -> None:
        """Store `entry`; with `only_if`, only when it still says so once the lock is held."""

        def write(conn: sqlite3.Connection) -> None:
            if only_if is not None and not only_if():
                return
            conn.execute(
                "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?)",
                (key.host, key.kind, key.name, entry.digest, entry.stored_at, entry.payload),
            )

        self._run(write, None)

    def delete(self, host: str, *, names: Iterable[str] = (), kinds: Iterable[str] = ()) -> None:
        """Delete the rows of `host` whose name is in `names` or whose kind is in `kinds`."""
        name_list, kind_list = list(names), list(kinds)

        def remove(conn: sqlite3.Connection) -> None:
            # One statement, so other processes see all of it or none of it.
            conn.execute(
                f"DELETE FROM entries WHERE host=? AND (name IN ({_marks(name_list)}) "
                f"OR kind IN ({_marks(kind_list)}))",
                (host, *name_list, *kind_list),
            )

        if name_list or kind_list:
            self._run(remove, None)

    def clear(self, host: str | None = None) -> None:
        def wipe(conn: sqlite3.Connection) -> None:
            if host is None:
                conn.execute("DELETE FROM entries")
            else:
                conn.execute("DELETE FROM entries WHERE host=?", (host,))

        self._run(wipe, None)

    def close(self) -> None:
        with self._lock:
            self._disconnect()

    # --- connection handling -----------------------------------------------------------------

    def _run(self, operation: Callable[[sqlite3.Connection], R], fallback: R) -> R:
        with self._lock:
            for attempt in (1, 2):
                try:
                    return operation(self._connection())
                except sqlite3.Error as exc:
                    if sqlite_code(exc) == sqlite3.SQLITE_BUSY:
                        self._report(
                            f"metadata cache {self.path} stayed locked by another process for "
                            f"{self._busy_timeout}s; going on without it this time"
                        )
                        return fallback
                    self._disconnect()
                    if attempt == 1 and is_damaged(exc):
                        logger.warning(
                            "metadata cache %s is damaged (%s); rebuilding it empty", self.path, exc
                        )
                        remove_database_files(self.path)
                        continue
                    self._report(
                        f"metadata cache {self.path} cannot be used ({exc}); carrying on without it"
                    )
                    return fallback
                except OSError as exc:
                    self._disconnect()
                    self._report(
                        f"metadata cache folder {self.path.parent} cannot be used ({exc}); "
                        "carrying on without it"
                    )
                    return fallback
            return fallback

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = connect(
                self.path,
                busy_timeout=self._busy_timeout,
                set_up=_set_up,
                isolation_level=None,  # autocommit: each statement is its own short transaction
            )
        return self._conn

    def _disconnect(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    def _report(self, message: str) -> None:
        # Warn once per distinct problem; a cache that keeps failing must not flood the log.
        if message in self._reported:
            logger.debug("%s", message)
        else:
            self._reported.add(message)
            logger.warning("%s", message)


def _set_up(conn: sqlite3.Connection) -> None:
    """WAL mode and the schema. Several processes may do this at once on a new file; the mode
    switch can then report "locked" without waiting, so it is retried."""
    for attempt in range(1, _SETUP_ATTEMPTS + 1):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            # A cache can afford to lose its last write on power loss.
            conn.execute("PRAGMA synchronous=NORMAL")
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version != SCHEMA_VERSION:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    if int(conn.execute("PRAGMA user_version").fetchone()[0]) != SCHEMA_VERSION:
                        conn.execute("DROP TABLE IF EXISTS entries")
                        conn.execute(_SCHEMA)
                        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            return
        except sqlite3.OperationalError as exc:
            if attempt == _SETUP_ATTEMPTS or sqlite_code(exc) != sqlite3.SQLITE_BUSY:
                raise


def _marks(items: list[str]) -> str:
    return ", ".join("?" * len(items))
