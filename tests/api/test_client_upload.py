"""A large blob upload streams from disk: Python's memory stays flat whatever the file size."""

from __future__ import annotations

import hashlib
import itertools
import os
import tracemalloc
from pathlib import Path

import pytest

from tests.ollama_double import OllamaDouble
from tools.api.client import UPLOAD_CHUNK_SIZE, OllamaClient
from tools.errors import NotARegularFile

MiB = 1 << 20
SIZE = 256 * MiB + 12_345  # an odd tail, so the last chunk is a short one
PEAK_LIMIT = 16 * MiB


def make_large_file(path: Path, size: int) -> str:
    """A sparse file with some real data in it; returns its digest, hashed in chunks."""
    with path.open("wb") as handle:
        for offset in (0, size // 2, size - MiB):
            handle.seek(offset)
            handle.write(os.urandom(MiB))
        handle.truncate(size)
    with path.open("rb") as handle:
        return "sha256:" + hashlib.file_digest(handle, "sha256").hexdigest()


async def test_a_256_mib_upload_keeps_python_memory_under_16_mib(
    ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    path = tmp_path / "model.gguf"
    digest = make_large_file(path, SIZE)
    progress: list[tuple[int, int]] = []

    async def on_progress(done: int, total: int) -> None:
        progress.append((done, total))

    async with OllamaClient(ollama_double.url) as client:
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            uploaded = await client.upload_blob(path, digest, on_progress=on_progress)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    assert uploaded is True
    # Measured for the whole process: our client and the double's server thread together.
    print(f"peak traced memory during a {SIZE / MiB:.0f} MiB upload: {peak / MiB:.2f} MiB")
    assert peak < PEAK_LIMIT, f"peak traced memory {peak / MiB:.1f} MiB"
    assert ollama_double.store.has_blob(digest)
    assert ollama_double.requests.count("POST", f"/api/blobs/{digest}") == 1
    assert ollama_double.requests.bodies(f"/api/blobs/{digest}")[-1] == SIZE  # bytes received
    assert len(progress) == -(-SIZE // UPLOAD_CHUNK_SIZE)
    assert progress[-1] == (SIZE, SIZE)
    assert all(a[0] < b[0] for a, b in itertools.pairwise(progress))


async def test_upload_of_a_fifo_is_refused_without_blocking(
    ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    async with OllamaClient(ollama_double.url, max_retries=0) as client:
        with pytest.raises(NotARegularFile, match=r"a FIFO \(named pipe\)"):
            await client.upload_blob(fifo, "sha256:" + "0" * 64)
    assert ollama_double.requests.count_prefix("HEAD", "/api/blobs/") == 0
    assert ollama_double.requests.count_prefix("POST", "/api/blobs/") == 0
