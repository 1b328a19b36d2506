"""Digests are computed off the event loop, remembered on disk, never wrong for a changed file."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest

from tools.api.types import ByteProgressCallback
from tools.errors import FileChangedDuringUpload
from tools.packaging.blobs import (
    DIGEST_DB_NAME,
    DigestCache,
    FileIdentity,
    sha256_file,
    upload_file,
)
from tools.packaging.pipeline import upload_files

CHUNK = 64 << 10


def _file(path: Path, size: int, byte: int = 7) -> Path:
    path.write_bytes(bytes([byte]) * size)
    return path


def _expected(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


async def test_sha256_matches_hashlib_across_chunks_with_progress(tmp_path: Path) -> None:
    path = _file(tmp_path / "f", 5 * CHUNK + 123)
    seen: list[tuple[int, int]] = []

    async def progress(done: int, total: int) -> None:
        seen.append((done, total))

    assert await sha256_file(path, on_progress=progress, chunk_size=CHUNK) == _expected(path)
    assert [d for d, _ in seen] == [CHUNK * i for i in range(1, 6)] + [5 * CHUNK + 123]
    assert {t for _, t in seen} == {5 * CHUNK + 123}


async def test_an_empty_file_has_the_empty_digest(tmp_path: Path) -> None:
    path = _file(tmp_path / "empty", 0)
    assert await sha256_file(path) == "sha256:" + hashlib.sha256(b"").hexdigest()


async def test_hashing_leaves_the_event_loop_free(tmp_path: Path) -> None:
    """Another task keeps running while a file is hashed: each chunk is read in a worker thread."""
    path = _file(tmp_path / "f", 64 * CHUNK)
    ticks = 0
    done = anyio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        await sha256_file(path, chunk_size=CHUNK)
        done.set()
    assert ticks >= 32  # the ticker ran between (at least half of) the 64 chunks


async def test_the_cache_answers_the_second_time_and_across_instances(tmp_path: Path) -> None:
    path = _file(tmp_path / "adapter.safetensors", 3 * CHUNK)
    st = os.stat(path)
    first = DigestCache(tmp_path / "cache")
    assert await first.digest(path, st) == (_expected(path), False)
    assert await first.digest(path, st) == (_expected(path), True)
    assert (first.hashed, first.hits) == (1, 1)
    first.close()
    assert (tmp_path / "cache" / DIGEST_DB_NAME).is_file()

    second = DigestCache(tmp_path / "cache")
    assert await second.digest(path, st) == (_expected(path), True)
    assert (second.hashed, second.hits) == (0, 1)
    second.close()


async def test_a_modified_file_is_hashed_again(tmp_path: Path) -> None:
    path = _file(tmp_path / "f", CHUNK)
    cache = DigestCache(tmp_path / "cache")
    await cache.digest(path, os.stat(path))
    _file(path, CHUNK, byte=8)  # same size; mtime/ctime change
    digest, cached = await cache.digest(path, os.stat(path))
    assert (digest, cached) == (_expected(path), False)
    assert cache.hashed == 2
    cache.close()


async def test_a_replaced_file_with_the_same_times_is_hashed_again(tmp_path: Path) -> None:
    path = _file(tmp_path / "f", CHUNK)
    cache = DigestCache(tmp_path / "cache")
    before = os.stat(path)
    await cache.digest(path, before)
    other = _file(tmp_path / "g", CHUNK, byte=9)
    os.utime(other, ns=(before.st_atime_ns, before.st_mtime_ns))
    other.replace(path)  # a new inode under the old name, mtime forged back
    _, cached = await cache.digest(path, os.stat(path))
    assert not cached
    cache.close()


def _overwrite_first_byte(path: Path) -> None:
    with open(path, "r+b") as stream:
        stream.write(b"\x07")


async def test_a_file_rewritten_in_place_with_its_mtime_forged_back_is_hashed_again(
    tmp_path: Path,
) -> None:
    path = _file(tmp_path / "f", CHUNK)
    cache = DigestCache(tmp_path / "cache")
    before = os.stat(path)
    await cache.digest(path, before)
    _overwrite_first_byte(path)  # same inode, same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    while os.stat(path).st_ctime_ns == before.st_ctime_ns:  # a coarse clock may not have ticked
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (
        before.st_ino,
        before.st_size,
        before.st_mtime_ns,
    )
    digest, cached = await cache.digest(path, after)  # only ctime tells it changed
    assert (digest, cached) == (_expected(path), False)
    cache.close()


async def test_concurrent_requests_for_one_file_hash_it_once(tmp_path: Path) -> None:
    path = _file(tmp_path / "f", 16 * CHUNK)
    cache = DigestCache(tmp_path / "cache")
    st = os.stat(path)
    results: list[str] = []

    async def ask() -> None:
        results.append((await cache.digest(path, st))[0])

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(ask)
    assert results == [_expected(path)] * 4
    assert cache.hashed == 1
    cache.close()


async def test_a_file_changed_while_hashing_is_reported_and_not_cached(tmp_path: Path) -> None:
    path = _file(tmp_path / "f", 8 * CHUNK)
    cache = DigestCache(tmp_path / "cache")
    st = os.stat(path)

    async def grow(done: int, total: int) -> None:
        if done == CHUNK * 8:
            with path.open("ab") as f:
                f.write(b"more")

    with pytest.raises(FileChangedDuringUpload) as caught:
        await cache.digest(path, st, on_progress=grow)
    assert str(caught.value) == (
        f"{str(path)!r} changed while it was being hashed; "
        "wait until whatever is writing it has finished, then retry"
    )
    assert await cache.get(_identity(path, st)) is None
    cache.close()


async def test_cancelling_a_hash_stores_nothing(tmp_path: Path) -> None:
    path = _file(tmp_path / "f", 64 * CHUNK)
    cache = DigestCache(tmp_path / "cache")
    st = os.stat(path)
    with anyio.CancelScope() as scope:

        async def cancel_at_first_chunk(done: int, total: int) -> None:
            scope.cancel()

        await cache.digest(path, st, on_progress=cancel_at_first_chunk)
    assert scope.cancelled_caught
    assert await cache.get(_identity(path, st)) is None
    assert await cache.digest(path, st) == (_expected(path), False)
    cache.close()


async def test_a_damaged_cache_file_is_rebuilt(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    folder.mkdir()
    (folder / DIGEST_DB_NAME).write_bytes(b"this is not a database" * 100)
    path = _file(tmp_path / "f", CHUNK)
    cache = DigestCache(folder)
    await cache.digest(path, os.stat(path))
    cache.close()
    with sqlite3.connect(folder / DIGEST_DB_NAME) as conn:
        assert conn.execute("SELECT count(*) FROM digests").fetchone() == (1,)


async def test_an_unusable_cache_folder_only_costs_the_cache(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    path = _file(tmp_path / "f", CHUNK)
    cache = DigestCache(blocker / "cache")
    assert await cache.digest(path, os.stat(path)) == (_expected(path), False)
    assert await cache.digest(path, os.stat(path)) == (_expected(path), True)  # memory still helps
    assert "cannot be used" in caplog.text


def _identity(path: Path, st: os.stat_result) -> FileIdentity:
    return FileIdentity.of(path, st)


class _AppendingClient:
    """Accepts the upload, but the file grows meanwhile (a writer still at work)."""

    async def upload_blob(
        self,
        path: Path,
        digest: str,
        *,
        expected: os.stat_result | None = None,
        on_progress: ByteProgressCallback | None = None,
    ) -> bool:
        with path.open("ab") as f:
            f.write(b"late bytes")
        return True


async def test_a_file_that_changes_after_it_was_sent_is_reported(tmp_path: Path) -> None:
    path = _file(tmp_path / "f", CHUNK)
    st = os.stat(path)
    digest = await sha256_file(path)
    with pytest.raises(FileChangedDuringUpload) as caught:
        await upload_file(_AppendingClient(), path, digest, FileIdentity.of(path, st))
    assert caught.value.stage == "uploading"
    assert "its size or modification time changed" in str(caught.value)


class _CountingClient:
    """Holds each upload until `limit` are in flight, and records the most seen at once."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0
        self.most = 0
        self.release = anyio.Event()

    async def upload_blob(
        self,
        path: Path,
        digest: str,
        *,
        expected: os.stat_result | None = None,
        on_progress: ByteProgressCallback | None = None,
    ) -> bool:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        if self.in_flight == self.limit:
            self.release.set()
        await self.release.wait()
        await anyio.lowlevel.checkpoint()
        self.in_flight -= 1
        return True


async def test_uploads_run_in_parallel_up_to_the_bound(tmp_path: Path) -> None:
    files = [(f"part-{i}.bin", _file(tmp_path / f"part-{i}.bin", 1024, byte=i)) for i in range(10)]
    stub = _CountingClient(limit=3)
    cache = DigestCache(persistent=False)
    with anyio.fail_after(10):
        totals = await upload_files(stub, files, cache=cache, max_parallel=3)
    assert stub.most == 3
    assert [f.key for f in totals.files] == [key for key, _ in files]
    assert totals.bytes_uploaded == 10 * 1024 and totals.files_hashed == 10
