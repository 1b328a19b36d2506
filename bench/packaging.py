"""The digest cache: packaging the same big GGUF adapter a second time.

`tools.packaging.adapter.package_adapter` runs twice against the Ollama double over loopback, with
the digest cache in the run's folder. The second run uses a new `DigestCache` object on the same
folder, as after a restart of the server, so it also shows the cache survives on disk. A healthy
second run hashes nothing and uploads nothing (the double's request log confirms it), and takes
a small fraction of the first.
"""

from __future__ import annotations

import time
from pathlib import Path

import anyio

from bench.common import Figure, Workspace
from tests.ollama_double import OllamaDouble, running_double
from tools.api.client import OllamaClient
from tools.local.path_gate import AllowedRoots
from tools.packaging.adapter import package_adapter
from tools.packaging.blobs import DigestCache
from tools.packaging.reports import PackageReport

BASE_MODEL = "llama3.2:latest"  # seeded in the double; llama architecture, 3072 wide
MODEL_NAME = "bench-adapter"
BLOB_PREFIX = "/api/blobs/"


def run(workspace: Workspace) -> list[Figure]:
    models = workspace.folder("packaging-models")
    with running_double(models) as double:
        return anyio.run(_measure, workspace, double)


async def _measure(workspace: Workspace, double: OllamaDouble) -> list[Figure]:
    adapter = workspace.big.path
    gate = AllowedRoots([adapter.parent])
    digests = workspace.folder("packaging-digests")
    async with OllamaClient(double.url, max_retries=0) as client:
        first, first_s = await _package(client, adapter, gate, digests)
        before = len(double.requests.entries())
        second, second_s = await _package(client, adapter, gate, digests)
        posts = _blob_posts(double, since=before)
    blobs = [f.digest for f in (*first.files, *second.files)]
    if blobs != [workspace.big.digest] * 2 or first.bytes_uploaded != workspace.big.size:
        raise RuntimeError(
            f"unexpected packaging: blobs {blobs} (expected {workspace.big.digest} twice), "
            f"first run uploaded {first.bytes_uploaded} of {workspace.big.size} bytes"
        )
    return [
        Figure.of(
            "digest_cache",
            "Packaging the same adapter again",
            second_s,
            first_s,
            ratio_of="second package_adapter time / first",
            unit="s",
            healthy="well under 0.1; bytes uploaded and files hashed on the second run: 0",
            details={
                "first_files_hashed": first.files_hashed,
                "first_bytes_uploaded": first.bytes_uploaded,
                "second_files_hashed": second.files_hashed,
                "second_digest_cache_hits": second.digest_cache_hits,
                "second_bytes_uploaded": second.bytes_uploaded,
                "second_blob_posts_seen_by_double": len(posts),
                "second_body_bytes_read_by_double": sum(posts),
            },
        )
    ]


async def _package(
    client: OllamaClient, adapter: Path, gate: AllowedRoots, digests: Path
) -> tuple[PackageReport, float]:
    cache = DigestCache(digests)  # a new object each time: what a restarted server would open
    try:
        start = time.perf_counter()
        report = await package_adapter(
            client, adapter, MODEL_NAME, BASE_MODEL, readable=gate, digest_cache=cache
        )
        return report, time.perf_counter() - start
    finally:
        cache.close()


def _blob_posts(double: OllamaDouble, *, since: int) -> list[int]:
    """Body bytes the double read for each blob upload after its first `since` requests."""
    return [
        int(entry.body or 0)
        for entry in double.requests.entries()[since:]
        if entry.method == "POST" and entry.path.startswith(BLOB_PREFIX)
    ]
