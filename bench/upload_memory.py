"""Upload memory: the peak Python memory `OllamaClient.upload_blob` needs for the big file.

tracemalloc traces every thread of the process, so the double runs as a child process here
(`python -m tests.ollama_double`): what it allocates to receive the upload would otherwise be
counted as the client's. The figure is the traced peak above what was allocated before the
upload, over the file's size: a streamed upload keeps it tiny and independent of the size.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import anyio

from bench.common import Figure, MiB, Workspace
from tools.api.client import UPLOAD_CHUNK_SIZE, OllamaClient

START_TIMEOUT = 30.0


def run(workspace: Workspace) -> list[Figure]:
    folder = workspace.folder("upload-double")
    with _double_process(folder) as url:
        peak, seconds = anyio.run(_measure, url, workspace)
    size = workspace.big.size
    return [
        Figure.of(
            "upload_memory",
            "Upload memory",
            peak / MiB,
            size / MiB,
            ratio_of="peak traced memory during upload_blob / file size",
            unit="MiB",
            healthy="a few chunks over the file size: shrinks as the file grows",
            details={
                "chunk_mib": UPLOAD_CHUNK_SIZE / MiB,
                "peak_in_chunks": round(peak / UPLOAD_CHUNK_SIZE, 2),
                "upload_mib_per_s": round(size / MiB / seconds, 1),
            },
        )
    ]


async def _measure(url: str, workspace: Workspace) -> tuple[int, float]:
    big = workspace.big
    async with OllamaClient(url, max_retries=0) as client:
        await client.version()  # the connection pool and lazy imports are not the upload's
        tracemalloc.start()
        try:
            before, _ = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            start = time.perf_counter()
            sent = await client.upload_blob(big.path, big.digest)
            seconds = time.perf_counter() - start
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    if not sent:
        raise RuntimeError("the double already had the blob: nothing was uploaded")
    return peak - before, seconds


@contextlib.contextmanager
def _double_process(folder: Path) -> Iterator[str]:
    """A double in a child process; yields its URL and stops it (by its own pid) afterwards."""
    log = folder / "double.log"
    with log.open("wb") as stderr:
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.ollama_double",
                "--port",
                "0",
                "--models-dir",
                str(folder / "models"),
            ],
            stdout=subprocess.PIPE,
            stderr=stderr,
            cwd=Path(__file__).resolve().parent.parent,
        )
    try:
        yield _first_line(child, log)
    finally:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


def _first_line(child: subprocess.Popen[bytes], log: Path) -> str:
    """The URL the double prints first; a reader thread makes the wait portable and bounded."""
    stdout = child.stdout
    assert stdout is not None
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(START_TIMEOUT)
    line = lines[0].decode(errors="replace").strip() if lines else ""
    if not line.startswith("http://"):
        tail = log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"the Ollama double did not start (printed {line!r}):\n{tail}")
    return line
