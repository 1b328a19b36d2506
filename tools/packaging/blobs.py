"""File digests and blob uploads: hash once, upload only what Ollama lacks, notice changed files.

* `sha256_file` reads 8 MiB at a time into one reused buffer, each read and hash step in a worker
  thread (hashlib releases the GIL), so memory stays flat and the event loop never blocks. Hopping
  back to the loop between chunks is what makes hashing cancellable and lets it report progress.
* `DigestCache` remembers digests on disk (sqlite, `digests.sqlite3` in the cache folder, apart from
  the metadata cache) keyed by the file's real path, size, mtime, ctime, inode and device, so
  packaging the same 5 GB adapter twice hashes it once. ctime is part of the key because a program
  can set mtime back but not ctime. A cache that cannot be opened is logged and skipped: it must
  never be why packaging fails.
* `upload_file` goes through the client (HEAD first, then a streamed POST). A file that changes
  between hashing and uploading is caught twice: Ollama answers `digest mismatch`, and the file is
  stat'ed again after the upload. Both raise `FileChangedDuringUpload`, which names the file and
  says to retry. Ollama keeps mis-sent bytes only under their *real* digest (contract 2.15), so no
  blob ever sits under a wrong name.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import anyio
import anyio.to_thread

from tools.api.types import ByteProgressCallback
from tools.errors import FileChangedDuringUpload, OllamaAPIError
from tools.local.path_gate import open_regular
from tools.shared.cache_dir import default_cache_dir
from tools.shared.singleflight import SingleFlight
from tools.shared.sqlite_file import open_with_recovery

logger = logging.getLogger(__name__)

HASH_CHUNK_SIZE = 8 << 20
DIGEST_DB_NAME = "digests.sqlite3"
_BUSY_TIMEOUT = 5.0


@dataclass(frozen=True)
class FileIdentity:
    """What must stay the same for a cached digest to still describe the file."""

    path: str
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    device: int

    @classmethod
    def of(cls, real: Path, st: os.stat_result) -> FileIdentity:
        return cls(str(real), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)

    def same_file(self, st: os.stat_result) -> bool:
        return self == FileIdentity.of(Path(self.path), st)


# --- hashing ----------------------------------------------------------------------------------


async def sha256_file(
    real: Path,
    *,
    expected: os.stat_result | None = None,
    on_progress: ByteProgressCallback | None = None,
    chunk_size: int = HASH_CHUNK_SIZE,
) -> str:
    """`sha256:<hex>` of the file at `real` (a gated real path), read in worker threads."""
    stream = await anyio.to_thread.run_sync(open_regular, real, expected)
    try:
        total = os.fstat(stream.fileno()).st_size
        hasher = hashlib.sha256()
        buffer = memoryview(bytearray(chunk_size))
        done = 0
        while n := await anyio.to_thread.run_sync(_read_and_hash, stream, hasher, buffer):
            done += n
            if on_progress is not None:
                await on_progress(done, max(total, done))
        return f"sha256:{hasher.hexdigest()}"
    finally:
        stream.close()


def _read_and_hash(stream: io.FileIO, hasher: hashlib._Hash, buffer: memoryview) -> int:
    n = stream.readinto(buffer) or 0
    if n:
        hasher.update(buffer[:n])
    return n


# --- the digest cache -------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS digests (
    path      TEXT PRIMARY KEY,  -- the real path
    size      INTEGER NOT NULL,
    mtime_ns  TEXT NOT NULL,     -- text: stat values can exceed sqlite's signed 64 bits
    ctime_ns  TEXT NOT NULL,
    inode     TEXT NOT NULL,
    device    TEXT NOT NULL,
    digest    TEXT NOT NULL,
    hashed_at REAL NOT NULL
)
"""


def _set_up(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(_SCHEMA)
    conn.commit()


class DigestCache:
    """Digests remembered across runs. Methods are async; sqlite work runs in worker threads.

    `folder=None` means `default_cache_dir()`; `persistent=False` keeps digests in memory only.
    """

    def __init__(self, folder: Path | None = None, *, persistent: bool = True) -> None:
        self.path: Path | None = (
            (folder or default_cache_dir()) / DIGEST_DB_NAME if persistent else None
        )
        self._memory: dict[str, tuple[FileIdentity, str]] = {}
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._opened = False
        self._flights: SingleFlight[FileIdentity, str] = SingleFlight()
        self.hits = 0  # digests answered from the cache
        self.hashed = 0  # files actually read and hashed

    async def get(self, identity: FileIdentity) -> str | None:
        remembered = self._memory.get(identity.path)
        if remembered is not None and remembered[0] == identity:
            return remembered[1]
        digest = await anyio.to_thread.run_sync(self._load, identity)
        if digest is not None:
            self._memory[identity.path] = (identity, digest)
        return digest

    async def put(self, identity: FileIdentity, digest: str) -> None:
        self._memory[identity.path] = (identity, digest)
        await anyio.to_thread.run_sync(self._store, identity, digest)

    async def digest(
        self, real: Path, st: os.stat_result, *, on_progress: ByteProgressCallback | None = None
    ) -> tuple[str, bool]:
        """The file's digest and whether it came from the cache; hashes (once) on a miss."""
        identity = FileIdentity.of(real, st)
        cached = await self.get(identity)
        if cached is not None:
            self.hits += 1
            return cached, True

        async def work() -> str:
            self.hashed += 1
            digest = await sha256_file(real, expected=st, on_progress=on_progress)
            after = await anyio.to_thread.run_sync(os.stat, real)
            if not identity.same_file(after):
                raise FileChangedDuringUpload(real, "hashing")
            await self.put(identity, digest)
            return digest

        return await self._flights.run(identity, work), False

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.close()
                self._conn = None

    # blocking helpers, run in worker threads

    def _connection(self) -> sqlite3.Connection | None:
        if self._opened or self.path is None:
            return self._conn
        self._opened = True
        path = self.path
        try:
            self._conn = open_with_recovery(
                path,
                busy_timeout=_BUSY_TIMEOUT,
                set_up=_set_up,
                on_damaged=lambda _: logger.warning(
                    "digest cache %s is damaged; starting it afresh", path
                ),
            )
        except (OSError, sqlite3.Error) as exc:
            logger.warning(
                "digest cache %s cannot be used (%s); hashing without it", self.path, exc
            )
            self._conn = None
        return self._conn

    def _load(self, identity: FileIdentity) -> str | None:
        with self._lock:
            conn = self._connection()
            if conn is None:
                return None
            try:
                row = conn.execute(
                    "SELECT size, mtime_ns, ctime_ns, inode, device, digest FROM digests "
                    "WHERE path = ?",
                    (identity.path,),
                ).fetchone()
            except sqlite3.Error as exc:
                logger.warning("digest cache read failed (%s)", exc)
                return None
        if row is None:
            return None
        stored = (int(row[0]), int(row[1]), int(row[2]), int(row[3]), int(row[4]))
        current = (
            identity.size,
            identity.mtime_ns,
            identity.ctime_ns,
            identity.inode,
            identity.device,
        )
        return str(row[5]) if stored == current else None

    def _store(self, identity: FileIdentity, digest: str) -> None:
        with self._lock:
            conn = self._connection()
            if conn is None:
                return
            try:
                with conn:
                    conn.execute(
                        "INSERT OR REPLACE INTO digests VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            identity.path,
                            identity.size,
                            str(identity.mtime_ns),
                            str(identity.ctime_ns),
                            str(identity.inode),
                            str(identity.device),
                            digest,
                            time.time(),
                        ),
                    )
            except sqlite3.Error as exc:
                logger.warning("digest cache write failed (%s)", exc)


# --- uploads ----------------------------------------------------------------------------------


class BlobClient(Protocol):
    """The part of `OllamaClient` that uploads need."""

    async def upload_blob(
        self,
        path: Path,
        digest: str,
        *,
        expected: os.stat_result | None = None,
        on_progress: ByteProgressCallback | None = None,
    ) -> bool: ...


async def upload_file(
    client: BlobClient,
    real: Path,
    digest: str,
    identity: FileIdentity,
    *,
    expected: os.stat_result | None = None,
    on_progress: ByteProgressCallback | None = None,
) -> bool:
    """Upload `real` as blob `digest` unless Ollama has it; True if bytes were sent.

    `identity` is the file as it was hashed; a file that differs now is reported, not uploaded.
    `expected` is the `os.stat` the path gate checked: the upload reads that very file or
    refuses before sending a byte (`NotARegularFile`).
    """
    try:
        sent = await client.upload_blob(real, digest, expected=expected, on_progress=on_progress)
    except OllamaAPIError as exc:
        if "digest mismatch" in exc.message:
            raise FileChangedDuringUpload(real, "uploading", exc.message) from exc
        raise
    if sent:
        after = await anyio.to_thread.run_sync(os.stat, real)
        if not identity.same_file(after):
            raise FileChangedDuringUpload(
                real, "uploading", "its size or modification time changed"
            )
    return sent
