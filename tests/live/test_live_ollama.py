"""Checks against a real Ollama, for users who have one: skipped unless OLLAMA_LIVE_HOST is set.

    OLLAMA_LIVE_HOST=http://127.0.0.1:11434 python -m pytest tests/live -v

They read what is installed, run one short generation, and create then delete a throwaway model
named `ollama-connector-mcp-live-check` on top of an installed chat model. Nothing else changes.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tools.api.client import OllamaClient
from tools.catalog.cache import MetadataCache
from tools.catalog.model_catalog import ModelCatalog
from tools.catalog.store import ModelStore
from tools.errors import ModelNotFound
from tools.local.path_gate import AllowedRoots
from tools.packaging.create import create_model

LIVE_HOST = os.environ.get("OLLAMA_LIVE_HOST", "")
THROWAWAY = "ollama-connector-mcp-live-check"

pytestmark = pytest.mark.skipif(not LIVE_HOST, reason="set OLLAMA_LIVE_HOST to run against Ollama")


@pytest.fixture
async def client() -> AsyncIterator[OllamaClient]:
    async with OllamaClient(LIVE_HOST) as ollama:
        yield ollama


async def chat_model(client: OllamaClient) -> str:
    for model in (await client.list()).models:
        if "completion" in ((await client.show(model.name)).capabilities or []):
            return model.name
    pytest.skip("no installed model can generate text")


async def test_version_list_and_show_parse(client: OllamaClient) -> None:
    assert await client.version()
    for model in (await client.list()).models:
        shown = await client.show(model.name)
        assert isinstance(shown.model_info, dict)


async def test_a_short_generation_streams_and_finishes(client: OllamaClient) -> None:
    model = await chat_model(client)
    chunks = [c async for c in client.generate_stream(model, "Say hi.", options={"num_predict": 8})]
    assert chunks[-1].done and chunks[-1].done_reason in ("stop", "length")


async def test_create_and_delete_a_throwaway_model(client: OllamaClient, tmp_path: Path) -> None:
    base = await chat_model(client)
    result = await create_model(
        client,
        THROWAWAY,
        modelfile=f"FROM {base}\nSYSTEM You are a live check.\nPARAMETER temperature 0.1",
        readable=AllowedRoots([tmp_path]),
    )
    try:
        assert (await client.show(THROWAWAY)).system == "You are a live check."
        assert len(result.digest) == 64
    finally:
        await client.delete(THROWAWAY)
    with pytest.raises(ModelNotFound):
        await client.show(THROWAWAY)


async def test_the_disk_reader_agrees_with_the_server(client: OllamaClient, tmp_path: Path) -> None:
    store = ModelStore()  # OLLAMA_MODELS or ~/.ollama/models, as seen by this process
    if not store.exists():
        pytest.skip("Ollama's model folder is not readable from here; set OLLAMA_MODELS")
    live = {m.name: m.digest for m in (await client.list()).models}
    disk = {m.name: m.digest for m in await store.list_models()}
    assert disk == live
    catalog = ModelCatalog(client, MetadataCache(tmp_path))
    assert [m.name for m in (await catalog.list_models()).value] == list(live)
