"""The catalog (list_models, get_model_metadata) over the cache, against the Ollama double:
freshness, digest checks, invalidation after each mutation, single flight, stale and disk
answers with Ollama stopped. The clock is a variable: no test sleeps."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx2
import pytest

from tests.ollama_double import OllamaDouble
from tools.api.bodies import CreateRequest
from tools.api.client import OllamaClient
from tools.catalog.cache import MetadataCache
from tools.catalog.model_catalog import DEFAULT_LIST_MAX_AGE, DEFAULT_OFFLINE_WINDOW, ModelCatalog
from tools.catalog.store import ModelStore
from tools.errors import InvalidModelName, ModelNotFound, OllamaUnavailable

TTL = 24 * 3600.0
INSIDE_TTL = 3600.0  # an hour on: the list must be asked again, a show entry is still young


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class Setup:
    """One process's view: a client, a cache and a catalog, which can be rebuilt (a restart)."""

    def __init__(self, double: OllamaDouble, folder: Path, clock: Clock) -> None:
        self.double, self.folder, self.clock = double, folder, clock
        # No retries: a refused connection is reported at once, without backoff sleeps.
        self.client = OllamaClient(double.url, max_retries=0)
        self.cache = MetadataCache(folder, ttl=TTL, clock=clock)
        self.catalog = ModelCatalog(
            self.client, self.cache, store=ModelStore(double.models_dir), clock=clock
        )

    def restart(self, *, store: ModelStore | None = None) -> ModelCatalog:
        self.cache.close()
        self.cache = MetadataCache(self.folder, ttl=TTL, clock=self.clock)
        self.catalog = ModelCatalog(
            self.client,
            self.cache,
            store=store or ModelStore(self.double.models_dir),
            clock=self.clock,
        )
        return self.catalog

    def shows(self) -> int:
        return self.double.requests.count("POST", "/api/show")

    def tags(self) -> int:
        return self.double.requests.count("GET", "/api/tags")


@pytest.fixture
async def setup(ollama_double: OllamaDouble, tmp_path: Path) -> AsyncIterator[Setup]:
    made = Setup(ollama_double, tmp_path / "cache", Clock())
    yield made
    made.cache.close()
    await made.client.aclose()


# --- fresh, cached, expired ----------------------------------------------------------------------


async def test_metadata_is_live_then_cached(setup):
    first = await setup.catalog.get_model_metadata("llama3.2")
    second = await setup.catalog.get_model_metadata("LLAMA3.2:latest")  # the same model
    assert (first.source, second.source) == ("live", "cache")
    assert second.value == first.value
    assert second.value.details.family == "llama"
    assert second.cached_at == datetime.fromtimestamp(setup.clock.now, UTC)
    assert setup.shows() == 1


async def test_metadata_expires_after_the_ttl(setup):
    await setup.catalog.get_model_metadata("llama3.2")
    setup.clock.now += TTL - 1
    assert (await setup.catalog.get_model_metadata("llama3.2")).source == "cache"
    setup.clock.now += 1
    assert (await setup.catalog.get_model_metadata("llama3.2")).source == "live"
    assert setup.shows() == 2


async def test_use_cache_false_forces_a_refresh(setup):
    await setup.catalog.get_model_metadata("llama3.2")
    assert (await setup.catalog.get_model_metadata("llama3.2", use_cache=False)).source == "live"
    assert (await setup.catalog.list_models(use_cache=False)).source == "live"
    assert setup.shows() == 2


async def test_list_is_trusted_briefly_then_asked_again(setup):
    first = await setup.catalog.list_models()
    assert first.source == "live"
    assert (await setup.catalog.list_models()).source == "cache"
    setup.clock.now += DEFAULT_LIST_MAX_AGE
    assert (await setup.catalog.list_models()).source == "live"
    assert setup.tags() == 2
    assert [m.name for m in first.value] == setup.double.installed_names()


async def test_find_model_gives_the_list_entry(setup):
    found = await setup.catalog.find_model("Qwen3")
    assert (found.source, found.value.name) == ("live", "qwen3:latest")
    assert found.value.digest and found.value.size > 0 and found.value.details.family == "qwen3"
    assert (await setup.catalog.find_model("qwen3")).source == "cache"
    await setup.client.copy("qwen3", "qwen-new")  # not in the cached list: asked again
    assert (await setup.catalog.find_model("qwen-new")).source == "live"
    with pytest.raises(ModelNotFound, match="model 'absent:latest' not found"):
        await setup.catalog.find_model("absent")
    setup.double.faults.refuse_connections()
    setup.clock.now += INSIDE_TTL
    assert (await setup.catalog.find_model("qwen3")).source == "stale"


async def test_metadata_survives_a_restart(setup):
    await setup.catalog.get_model_metadata("qwen3")
    catalog = setup.restart()
    found = await catalog.get_model_metadata("qwen3")
    assert found.source == "cache"
    assert setup.shows() == 1


# --- correctness before the TTL ------------------------------------------------------------------


async def test_a_changed_digest_refreshes_inside_the_ttl(setup):
    # Changed behind the catalog's back, as the `ollama` CLI would: no invalidation.
    await setup.client.create(CreateRequest(model="mario", from_="llama3.2", system="It's-a me"))
    assert (await setup.catalog.get_model_metadata("mario")).value.system == "It's-a me"
    await setup.client.create(CreateRequest(model="mario", from_="llama3.2", system="Wahoo"))

    setup.clock.now += INSIDE_TTL
    found = await setup.catalog.get_model_metadata("mario")
    assert (found.source, found.value.system) == ("live", "Wahoo")
    assert setup.shows() == 2


async def test_an_edited_manifest_refreshes_inside_the_ttl(setup):
    await setup.catalog.get_model_metadata("gemma2:2b")
    manifest = setup.double.models_dir / "manifests/registry.ollama.ai/library/gemma2/2b"
    manifest.write_bytes(manifest.read_bytes().rstrip(b"\n") + b" \n")  # new bytes, new digest
    setup.clock.now += INSIDE_TTL
    assert (await setup.catalog.get_model_metadata("gemma2:2b")).source == "live"


async def test_an_unchanged_digest_keeps_the_cache_inside_the_ttl(setup):
    await setup.catalog.get_model_metadata("gemma2:2b")
    setup.clock.now += INSIDE_TTL
    assert (await setup.catalog.get_model_metadata("gemma2:2b")).source == "cache"
    assert (setup.shows(), setup.tags()) == (1, 2)  # the list was checked, show was not asked


async def test_a_model_newer_than_the_cached_list_is_cached_with_its_digest(setup):
    await setup.catalog.list_models()
    await setup.client.copy("qwen3", "qwen-new")  # behind the catalog's back
    assert (await setup.catalog.get_model_metadata("qwen-new")).source == "live"
    assert (await setup.catalog.get_model_metadata("qwen-new")).source == "cache"
    assert setup.shows() == 1


async def test_a_model_deleted_behind_the_catalogs_back_is_not_served(setup):
    await setup.catalog.get_model_metadata("gemma2:2b")
    await setup.client.delete("gemma2:2b")  # as the `ollama` CLI would: no invalidation
    setup.clock.now += DEFAULT_LIST_MAX_AGE  # the list is asked again; the show entry is young
    with pytest.raises(ModelNotFound):
        await setup.catalog.get_model_metadata("gemma2:2b")
    setup.double.faults.refuse_connections()  # what Ollama said is gone is not served stale
    with pytest.raises(OllamaUnavailable):
        await setup.catalog.get_model_metadata("gemma2:2b")


async def test_a_missing_model_raises_ollamas_not_found(setup):
    with pytest.raises(ModelNotFound, match="model 'nothing-here:latest' not found"):
        await setup.catalog.get_model_metadata("nothing-here")


async def test_an_invalid_name_is_refused_before_any_request(setup):
    with pytest.raises(InvalidModelName):
        await setup.catalog.get_model_metadata("bad//name")
    assert setup.tags() == setup.shows() == 0


# --- invalidation after mutations made through the connector -------------------------------------


async def test_create_then_invalidate(setup):
    await setup.catalog.list_models()
    await setup.client.create(CreateRequest(model="fresh", from_="llama3.2"))
    assert "fresh:latest" not in await _names(setup.catalog)  # still the cached list
    await setup.catalog.invalidate("fresh")
    assert "fresh:latest" in await _names(setup.catalog)


async def test_delete_then_invalidate(setup):
    await setup.catalog.get_model_metadata("gemma2:2b")
    await setup.client.delete("gemma2:2b")
    assert (await setup.catalog.get_model_metadata("gemma2:2b")).source == "cache"
    await setup.catalog.invalidate("gemma2:2b")
    with pytest.raises(ModelNotFound):
        await setup.catalog.get_model_metadata("gemma2:2b")
    assert "gemma2:2b" not in await _names(setup.catalog)


async def test_copy_then_invalidate(setup):
    await setup.catalog.list_models()
    await setup.client.copy("qwen3", "me/qwen-copy")
    await setup.catalog.invalidate("me/qwen-copy")
    assert "me/qwen-copy:latest" in await _names(setup.catalog)
    copied = await setup.catalog.get_model_metadata("me/qwen-copy")
    assert (copied.source, copied.value.details.family) == ("live", "qwen3")


async def test_pull_then_invalidate(setup):
    await setup.catalog.list_models()
    with pytest.raises(ModelNotFound):
        await setup.catalog.get_model_metadata("tinyllama")
    await setup.client.pull("tinyllama")
    await setup.catalog.invalidate("tinyllama")
    assert "tinyllama:latest" in await _names(setup.catalog)
    assert (await setup.catalog.get_model_metadata("tinyllama")).source == "live"


async def test_push_then_invalidate(setup):
    await setup.client.copy("llama3.2", "me/pushed")
    await setup.catalog.get_model_metadata("me/pushed")
    await setup.client.push("me/pushed")
    await setup.catalog.invalidate("me/pushed")
    assert (await setup.catalog.get_model_metadata("me/pushed")).source == "live"
    assert setup.shows() == 2


async def test_invalidate_ignores_names_that_cannot_be_models(setup):
    await setup.catalog.list_models()
    await setup.catalog.invalidate("bad//name", "qwen3")  # runs after mutations: never raises
    assert (await setup.catalog.list_models()).source == "live"


async def test_two_hosts_sharing_one_cache_never_mix(setup):
    # The same server under another address is another host to the cache.
    other = OllamaClient(setup.double.url.replace("127.0.0.1", "localhost"), max_retries=0)
    elsewhere = ModelCatalog(other, setup.cache, store=ModelStore(setup.double.models_dir))
    try:
        await setup.catalog.get_model_metadata("qwen3")
        assert (await elsewhere.list_models()).source == "live"
        assert (await elsewhere.get_model_metadata("qwen3")).source == "live"
        await setup.catalog.invalidate("qwen3")
        assert (await elsewhere.get_model_metadata("qwen3")).source == "cache"
        setup.catalog.clear()
        assert (await elsewhere.get_model_metadata("qwen3")).source == "cache"
    finally:
        await other.aclose()


async def test_invalidate_list_and_clear(setup):
    await setup.catalog.get_model_metadata("qwen3")
    await setup.catalog.invalidate_list()
    assert (await setup.catalog.list_models()).source == "live"
    assert (await setup.catalog.get_model_metadata("qwen3")).source == "cache"
    setup.catalog.clear()  # synchronous, as the seed calls it
    assert (await setup.catalog.get_model_metadata("qwen3")).source == "live"
    await setup.catalog.aclear()
    assert (await setup.catalog.get_model_metadata("qwen3")).source == "live"


# --- single flight --------------------------------------------------------------------------------


async def test_fifty_concurrent_callers_make_one_request(setup):
    results = await asyncio.gather(
        *(setup.catalog.get_model_metadata("llama3.2") for _ in range(50))
    )
    assert setup.shows() == 1
    assert setup.tags() == 1
    assert {result.source for result in results} == {"live"}
    assert all(result.value == results[0].value for result in results)


async def test_fifty_concurrent_lists_make_one_request(setup):
    await asyncio.gather(*(setup.catalog.list_models() for _ in range(50)))
    assert setup.tags() == 1


# --- Ollama stopped ------------------------------------------------------------------------------


async def test_stale_values_are_served_and_marked(setup):
    live = await setup.catalog.get_model_metadata("llama3.2")
    listed = await setup.catalog.list_models()
    setup.double.faults.refuse_connections()
    setup.clock.now += 2 * TTL  # long expired: still better than nothing, and marked so

    stale = await setup.catalog.get_model_metadata("llama3.2")
    assert (stale.source, stale.is_stale, stale.cached_at) == ("stale", True, live.cached_at)
    assert stale.value == live.value
    stale_list = await setup.catalog.list_models(use_cache=False)
    assert (stale_list.source, stale_list.cached_at) == ("stale", listed.cached_at)
    assert stale_list.value == listed.value

    setup.double.faults.accept_connections()
    setup.clock.now += DEFAULT_OFFLINE_WINDOW  # Ollama is asked again after the offline window
    assert (await setup.catalog.get_model_metadata("llama3.2")).source == "live"


async def test_stale_values_come_from_the_file_after_a_restart(setup):
    await setup.catalog.get_model_metadata("qwen3")
    setup.double.faults.refuse_connections()
    catalog = setup.restart()
    setup.clock.now += INSIDE_TTL
    assert (await catalog.get_model_metadata("qwen3")).source == "stale"
    assert (await catalog.list_models()).source == "stale"


async def test_nothing_cached_and_ollama_stopped_reads_the_model_folder(setup):
    expected = await setup.client.list()
    shown = await setup.client.show("qwen3")
    setup.double.faults.refuse_connections()

    listed = await setup.catalog.list_models()
    assert (listed.source, listed.cached_at) == ("disk", None)
    assert [(m.name, m.digest, m.size) for m in listed.value] == [
        (m.name, m.digest, m.size) for m in expected.models
    ]
    basic = await setup.catalog.get_model_metadata("qwen3")
    assert basic.source == "disk"
    assert basic.value.details == shown.details
    assert basic.value.modified_at == shown.modified_at


async def test_the_model_folder_is_read_only_for_an_ollama_on_this_machine(setup, monkeypatch):
    monkeypatch.setenv("OLLAMA_MODELS", str(setup.double.models_dir))
    setup.double.faults.refuse_connections()
    here = ModelCatalog(setup.client, setup.cache)  # 127.0.0.1: the folder here is its folder
    assert (await here.list_models()).source == "disk"

    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused", request=request)

    transport = httpx2.MockTransport(refuse)
    async with OllamaClient("http://gpu-box:11434", max_retries=0, transport=transport) as far:
        elsewhere = ModelCatalog(far, setup.cache)  # its models are on gpu-box, not here
        assert elsewhere.store is None
        with pytest.raises(OllamaUnavailable):
            await elsewhere.list_models()
        with pytest.raises(OllamaUnavailable):
            await elsewhere.get_model_metadata("qwen3")


async def test_nothing_anywhere_raises_unavailable(setup, tmp_path):
    setup.double.faults.refuse_connections()
    catalog = setup.restart(store=ModelStore(tmp_path / "no-ollama-here"))
    with pytest.raises(OllamaUnavailable):
        await catalog.list_models()
    with pytest.raises(OllamaUnavailable):
        await catalog.get_model_metadata("qwen3")


async def test_a_model_unknown_to_cache_and_folder_raises_unavailable(setup):
    setup.double.faults.refuse_connections()
    with pytest.raises(OllamaUnavailable):
        await setup.catalog.get_model_metadata("never-installed")


async def _names(catalog: ModelCatalog) -> list[str]:
    return [model.name for model in (await catalog.list_models()).value]
