"""Offline memory: once Ollama is found unreachable, the catalog answers from the cache or the
model folder at once for `offline_window` seconds, then makes one cheap probe (a single attempt,
no retries) to notice that Ollama came back."""

from __future__ import annotations

from pathlib import Path

import httpx2

from tests.ollama_double import OllamaDouble
from tools.api.client import OllamaClient
from tools.catalog.cache import MetadataCache
from tools.catalog.model_catalog import ModelCatalog
from tools.catalog.store import ModelStore
from tools.connector import OllamaConnector


class CountingTransport(httpx2.AsyncBaseTransport):
    """The real transport, counting the requests it is asked to send (refused ones too)."""

    def __init__(self) -> None:
        self.inner = httpx2.AsyncHTTPTransport()
        self.sent = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.sent += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_an_unreachable_ollama_is_remembered_for_the_window_then_probed_once(
    ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    transport, clock = CountingTransport(), Clock()
    client = OllamaClient(ollama_double.url, sleep=sleep, transport=transport, max_retries=3)
    catalog = ModelCatalog(
        client,
        MetadataCache(tmp_path / "cache"),
        store=ModelStore(ollama_double.models_dir),
        list_max_age=0,  # every list call would ask Ollama
        offline_window=5.0,
        clock=clock,
    )
    assert (await catalog.list_models()).source == "live"
    ollama_double.faults.refuse_connections()
    sent = transport.sent

    # The first call finds Ollama down at its first attempt: no retry cycle, since the cache
    # (or the folder) can answer.
    assert (await catalog.list_models(use_cache=False)).source == "stale"
    assert (transport.sent, sleeps) == (sent + 1, []) and catalog.offline
    sent = transport.sent

    # Within the window: answers at once, from the cache or the folder, with no request at all.
    clock.now += 4.9
    assert (await catalog.list_models(use_cache=False)).source == "stale"
    assert (await catalog.get_model_metadata("qwen3")).source == "disk"
    assert (await catalog.find_model("qwen3")).source == "stale"
    assert (transport.sent, sleeps) == (sent, [])

    # After it: one probe, no retries; still down, so the window starts again.
    clock.now += 0.2
    assert (await catalog.list_models(use_cache=False)).source == "stale"
    assert (transport.sent, sleeps) == (sent + 1, [])
    assert (await catalog.list_models(use_cache=False)).source == "stale"
    assert transport.sent == sent + 1

    # Ollama is back: the first call after the window notices it and answers live.
    ollama_double.faults.accept_connections()
    clock.now += 5.1
    assert (await catalog.list_models(use_cache=False)).source == "live"
    assert not catalog.offline and sleeps == []
    await client.aclose()


async def test_any_answer_from_ollama_ends_the_window_at_once(
    ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    clock = Clock()
    client = OllamaClient(ollama_double.url, max_retries=0)
    catalog = ModelCatalog(
        client, MetadataCache(tmp_path / "cache"), list_max_age=0, offline_window=5.0, clock=clock
    )
    await catalog.list_models()
    ollama_double.faults.refuse_connections()
    assert (await catalog.list_models(use_cache=False)).source == "stale" and catalog.offline

    # Back, and another call (a generate, say) got an answer: the catalog need not wait.
    ollama_double.faults.accept_connections()
    await client.version()
    assert (await catalog.list_models(use_cache=False)).source == "live"
    assert not catalog.offline
    await client.aclose()


async def test_a_zero_window_asks_ollama_every_time(
    ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    transport = CountingTransport()
    client = OllamaClient(ollama_double.url, transport=transport, max_retries=0)
    catalog = ModelCatalog(client, MetadataCache(tmp_path / "cache"), offline_window=0)
    await catalog.list_models()
    ollama_double.faults.refuse_connections()
    for _ in range(2):
        sent = transport.sent
        assert (await catalog.list_models(use_cache=False)).source == "stale"
        assert transport.sent == sent + 1
    await client.aclose()


async def test_the_connector_takes_the_window(ollama_double: OllamaDouble, tmp_path: Path) -> None:
    connector = OllamaConnector(cache_dir=tmp_path / "cache", offline_window=2.5)
    await connector.connect({"base_url": ollama_double.url})
    assert connector.catalog.offline_window == 2.5
    assert OllamaConnector().catalog.offline_window == 5.0  # the default
    await connector.disconnect()
