"""Small sqlite cache files, opened with recovery. Both caches use this: the digest cache
(`tools.packaging.blobs`) and the metadata cache (`tools.catalog.cache_db`).

Each holds only what can be computed again, so a file that is not a database, or is damaged, is
removed (with its `-wal`, `-shm` and `-journal` companions) and started afresh rather than
repaired. Blocking: callers run these in worker threads.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Literal, TypeAlias

logger = logging.getLogger(__name__)

# sqlite result codes that mean the file itself is bad, so starting it afresh is the cure.
_DAMAGED = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}
_COMPANIONS = ("", "-wal", "-shm", "-journal")

# None is autocommit: each statement its own transaction. DEFERRED is sqlite3's default.
IsolationLevel: TypeAlias = Literal["DEFERRED", "EXCLUSIVE", "IMMEDIATE"] | None


def sqlite_code(exc: sqlite3.Error) -> int:
    """The primary sqlite result code (extended codes carry it in the low byte)."""
    return int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def is_damaged(exc: sqlite3.Error) -> bool:
    """Whether `exc` says the file is not a database or is corrupt."""
    return sqlite_code(exc) in _DAMAGED


def connect(
    path: Path,
    *,
    busy_timeout: float,
    set_up: Callable[[sqlite3.Connection], None],
    isolation_level: IsolationLevel = "DEFERRED",
) -> sqlite3.Connection:
    """Open `path` (creating its folder) for use from worker threads, one at a time, and run
    `set_up` on it (journal mode, schema); the connection is closed if `set_up` fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        path, timeout=busy_timeout, isolation_level=isolation_level, check_same_thread=False
    )
    try:
        set_up(conn)
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.close()
        raise
    return conn


def remove_database_files(path: Path) -> None:
    """Remove the database and its companions; one that cannot be removed is logged."""
    for suffix in _COMPANIONS:
        try:
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        except OSError as exc:
            logger.warning("could not remove %s%s: %s", path, suffix, exc)


def open_with_recovery(
    path: Path,
    *,
    busy_timeout: float,
    set_up: Callable[[sqlite3.Connection], None],
    on_damaged: Callable[[sqlite3.Error], None],
    isolation_level: IsolationLevel = "DEFERRED",
) -> sqlite3.Connection:
    """`connect`, and when the file is damaged, tell `on_damaged`, start it afresh and connect
    once more. Raises `sqlite3.Error` or `OSError` when it still cannot be used."""
    try:
        return connect(
            path, busy_timeout=busy_timeout, set_up=set_up, isolation_level=isolation_level
        )
    except sqlite3.DatabaseError as exc:
        if not is_damaged(exc):
            raise
        on_damaged(exc)
    remove_database_files(path)
    return connect(path, busy_timeout=busy_timeout, set_up=set_up, isolation_level=isolation_level)
