"""Packaging end to end through MCP: `package_adapter` on the big GGUF adapter, and on one twice
its size for the server's peak memory.

* Against the ideal: what packaging cannot avoid is hashing the file once and sending its bytes
  once. Both are timed here on the same file: `hashlib.file_digest`, then a plain httpx2 POST of
  the file to `/api/blobs/<digest>` of a fresh double. The figure is the MCP call's wall time
  over their sum.
* Again: the same call a second time in the same session; the server's digest cache answers
  the hash and the double already has the blob, so nothing is read or sent.
* Memory: a new server packages an adapter of twice the size; its peak resident memory
  (`VmHWM` in `/proc`, the high-water mark since it started) against its memory after start.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anyio
import httpx2

from bench.common import (
    BigFile,
    Detail,
    Figure,
    MiB,
    Workspace,
    file_digest,
    timed,
    write_big_adapter,
)
from bench.mcp_server import mcp_session
from tests.ollama_double import running_double

BASE_MODEL = "llama3.2:latest"
UPLOAD_TIMEOUT = 600.0


def run(workspace: Workspace) -> list[Figure]:
    big = workspace.big
    hash_s = timed(lambda: file_digest(big.path))
    upload_s = _raw_upload(workspace, big)
    with running_double(workspace.folder("mcp-packaging-models")) as double:
        first, first_s, second, second_s, phases = anyio.run(_package_twice, workspace, double.url)
    _check(first, big, sent=True)
    _check(second, big, sent=False)
    ideal_s = hash_s + upload_s
    figures = [
        Figure.of(
            "mcp_packaging",
            "package_adapter through MCP over the ideal",
            first_s,
            ideal_s,
            ratio_of="tools/call package_adapter / (hashlib.file_digest + raw httpx2 upload)",
            unit="s",
            healthy="within 1.25",
            details={
                "file_mib": round(big.size / MiB, 1),
                "hash_s": round(hash_s, 3),
                "raw_upload_s": round(upload_s, 3),
                "through_mcp_mib_per_s": round(big.size / MiB / first_s, 1),
                **phases,
            },
        ),
        Figure.of(
            "mcp_packaging_again",
            "package_adapter again through MCP",
            second_s,
            first_s,
            ratio_of="second tools/call package_adapter / first (same session)",
            unit="s",
            healthy="under 0.02",
            details={
                "second_files_hashed": second["files_hashed"],
                "second_bytes_uploaded": second["bytes_uploaded"],
                "second_digest_cache_hits": second["digest_cache_hits"],
            },
        ),
    ]
    return [*figures, _memory(workspace)]


def _raw_upload(workspace: Workspace, big: BigFile) -> float:
    """Seconds for the file's bytes to reach a fresh double in one plain streamed POST."""
    with (
        running_double(workspace.folder("raw-upload-models")) as double,
        httpx2.Client(base_url=double.url, timeout=UPLOAD_TIMEOUT) as http,
    ):
        http.get("/api/version").raise_for_status()  # a warm connection, as the server has

        def upload() -> None:
            with big.path.open("rb") as stream:
                answer = http.post(f"/api/blobs/{big.digest}", content=stream)
            if answer.status_code != 201:
                raise RuntimeError(f"the raw upload was answered {answer.status_code}")

        return timed(upload)


async def _package_twice(
    workspace: Workspace, url: str
) -> tuple[dict[str, Any], float, dict[str, Any], float, dict[str, Detail]]:
    folder = workspace.folder("mcp-packaging")
    arguments = {"path": str(workspace.big.path), "name": "bench-mcp", "base_model": BASE_MODEL}
    async with mcp_session(url, folder, allow_dir=workspace.root, label="packaging") as session:
        await session.call("list_models", {})  # warm: the pool, and tools/list for the schema
        phases = Phases()
        start = time.perf_counter()
        first = await session.call("package_adapter", arguments, progress_callback=phases)
        end = time.perf_counter()
        second = await session.call("package_adapter", arguments)
        again = time.perf_counter()
    return first, end - start, second, again - end, phases.seconds(start, end)


class Phases:
    """When each packaging phase was first reported (from the progress messages: "hashing x",
    "uploading x", "creating x", then Ollama's create lines): where the call's time went."""

    NAMES = ("hashing", "uploading", "creating")

    def __init__(self) -> None:
        self.first_seen: dict[str, float] = {}

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        word = (message or "").split(" ", 1)[0]
        if word in self.NAMES:
            self.first_seen.setdefault(word, time.perf_counter())

    def seconds(self, start: float, end: float) -> dict[str, Detail]:
        marks = sorted((when, name) for name, when in self.first_seen.items())
        bounds = [start, *[when for when, _ in marks[1:]], end]
        spans = {
            f"{name}_s": round(bounds[i + 1] - bounds[i], 3) for i, (_, name) in enumerate(marks)
        }
        return {"phases_from_progress": ",".join(name for _, name in marks), **spans}


def _memory(workspace: Workspace) -> Figure:
    size_mib = workspace.settings.memory_size_mib
    folder = workspace.folder("mcp-memory")
    big = write_big_adapter(folder / "adapter.gguf", size_mib)
    try:
        with running_double(workspace.folder("mcp-memory-models")) as double:
            start_rss, peak, result = anyio.run(_package_once, folder, big, double.url)
    finally:
        big.path.unlink()
    _check(result, big, sent=True)
    return Figure.of(
        "mcp_packaging_memory",
        "Server peak memory while packaging",
        peak / MiB,
        start_rss / MiB,
        ratio_of="server peak RSS (VmHWM) packaging the large adapter / RSS after start",
        unit="MiB",
        healthy="peak under 160 MiB (numerator); flat in the file size",
        details={"file_mib": round(big.size / MiB, 1), "peak_rss_mib": round(peak / MiB, 1)},
    )


async def _package_once(folder: Path, big: BigFile, url: str) -> tuple[int, int, dict[str, Any]]:
    arguments = {"path": str(big.path), "name": "bench-memory", "base_model": BASE_MODEL}
    async with mcp_session(url, folder, allow_dir=folder, label="memory") as session:
        await session.call("list_models", {})
        start_rss = session.server.rss()
        result = await session.call("package_adapter", arguments)
        return start_rss, session.server.peak_rss(), result


def _check(result: dict[str, Any], big: BigFile, *, sent: bool) -> None:
    expected = big.size if sent else 0
    if result["bytes_uploaded"] != expected:
        raise RuntimeError(
            f"package_adapter sent {result['bytes_uploaded']} bytes, expected {expected}"
        )
