"""The metadata cache: `ModelCatalog.get_model_metadata` from the cache against from Ollama.

Against the double over loopback: after one call fills the cache, the same number of calls are
timed with the cache (`use_cache=True`) and without it (`use_cache=False`, which asks `/api/tags`
and `/api/show` every time). The double's request log shows whether the cached calls sent any
`/api/show` at all. A real Ollama answers `/api/show` more slowly than the double (it reads the
model's GGUF), so the real gain is larger than this figure shows.
"""

from __future__ import annotations

import time

import anyio

from bench.common import Figure, Workspace
from tests.ollama_double import OllamaDouble, running_double
from tools.api.client import OllamaClient
from tools.catalog.cache import MetadataCache
from tools.catalog.model_catalog import ModelCatalog
from tools.catalog.store import ModelStore

MODEL = "llama3.2:latest"


def run(workspace: Workspace) -> list[Figure]:
    models = workspace.folder("metadata-models")
    with running_double(models) as double:
        return anyio.run(_measure, workspace, double)


async def _measure(workspace: Workspace, double: OllamaDouble) -> list[Figure]:
    calls = workspace.settings.metadata_calls
    cache = MetadataCache(workspace.folder("metadata-cache"))
    async with OllamaClient(double.url, max_retries=0) as client:
        catalog = ModelCatalog(client, cache, store=ModelStore(double.models_dir))
        first = await catalog.get_model_metadata(MODEL)
        if first.source != "live":
            raise RuntimeError(f"the first lookup came from {first.source!r}, not from Ollama")

        shows, tags = _counts(double)
        start = time.perf_counter()
        for _ in range(calls):
            found = await catalog.get_model_metadata(MODEL)
            if found.source != "cache":
                raise RuntimeError(f"a cached lookup came from {found.source!r}")
        cached_s = (time.perf_counter() - start) / calls
        shows_after, tags_after = _counts(double)
        cached_shows, cached_tags = shows_after - shows, tags_after - tags

        start = time.perf_counter()
        for _ in range(calls):
            await catalog.get_model_metadata(MODEL, use_cache=False)
        live_s = (time.perf_counter() - start) / calls
        live_shows = _counts(double)[0] - shows_after
    return [
        Figure.of(
            "metadata_cache",
            "Model metadata from the cache",
            cached_s * 1e6,
            live_s * 1e6,
            ratio_of="per-call time, cached / from Ollama (the double)",
            unit="µs",
            healthy="well under 1; /api/show requests during cached calls: 0",
            details={
                "calls_each": calls,
                "show_requests_during_cached_calls": cached_shows,
                "tags_requests_during_cached_calls": cached_tags,
                "show_requests_during_uncached_calls": live_shows,
            },
        )
    ]


def _counts(double: OllamaDouble) -> tuple[int, int]:
    """Requests the double has had so far: (`/api/show`, `/api/tags`)."""
    return (
        double.requests.count("POST", "/api/show"),
        double.requests.count("GET", "/api/tags"),
    )
