"""Opening a sqlite cache file with recovery: a damaged file starts afresh, anything else is
raised untouched."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tools.shared.sqlite_file import open_with_recovery


def _schema(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")


def test_a_file_that_is_not_a_database_starts_afresh(tmp_path: Path) -> None:
    db = tmp_path / "deep" / "cache.sqlite3"
    db.parent.mkdir()
    db.write_bytes(b"garbage, not a database " * 100)
    told: list[str] = []
    conn = open_with_recovery(
        db, busy_timeout=1.0, set_up=_schema, on_damaged=lambda e: told.append(str(e))
    )
    conn.execute("INSERT INTO t VALUES (1)")
    conn.commit()
    conn.close()
    assert told == ["file is not a database"]
    assert db.read_bytes().startswith(b"SQLite format 3\x00")


def test_a_file_that_cannot_be_opened_is_raised_and_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "cache.sqlite3"
    db.mkdir()  # a folder where the file should be
    told: list[str] = []
    with pytest.raises(sqlite3.OperationalError, match="unable to open database file"):
        open_with_recovery(
            db, busy_timeout=1.0, set_up=_schema, on_damaged=lambda e: told.append(str(e))
        )
    assert told == [] and db.is_dir()


def test_the_folder_is_created(tmp_path: Path) -> None:
    db = tmp_path / "a" / "b" / "cache.sqlite3"
    open_with_recovery(db, busy_timeout=1.0, set_up=_schema, on_damaged=lambda e: None).close()
    assert db.is_file()
