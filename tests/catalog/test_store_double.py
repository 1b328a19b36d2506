"""The disk reader against the Ollama double's own model folder: what it reads must be what
`/api/tags` reports (names, digests, sizes, times, details), for pulled and created models."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import pytest

from tests.ollama_double import OllamaDouble
from tests.ollama_double.ggufs import ModelSpec, write_model
from tools.api.bodies import CreateRequest
from tools.api.client import OllamaClient
from tools.api.types import ModelSummary
from tools.catalog.store import ModelStore


@pytest.fixture
async def client(ollama_double: OllamaDouble) -> AsyncIterator[OllamaClient]:
    async with OllamaClient(ollama_double.url, max_retries=0) as made:
        yield made


def comparable(model: ModelSummary) -> dict[str, object]:
    fields = model.model_dump(include={"name", "model", "digest", "size", "modified_at"})
    fields["details"] = model.details.model_dump()
    fields["remote"] = (model.remote_host, model.remote_model)
    return fields


async def assert_same_as_tags(client: OllamaClient, store: ModelStore) -> list[str]:
    from_ollama = (await client.list()).models
    from_disk = await store.list_models()
    by_name = sorted(from_disk, key=lambda model: model.name)
    assert [comparable(model) for model in by_name] == [
        comparable(model) for model in sorted(from_ollama, key=lambda model: model.name)
    ]
    # Newest first, by whole seconds; Ollama orders ties at random.
    seconds = [int(model.modified_at.timestamp()) for model in from_disk if model.modified_at]
    assert seconds == sorted(seconds, reverse=True) and len(seconds) == len(from_disk)
    return [model.name for model in from_disk]


async def test_seeded_models_read_as_tags_reports_them(ollama_double, client):
    names = await assert_same_as_tags(client, ModelStore(ollama_double.models_dir))
    assert names == ollama_double.installed_names() and len(names) >= 4  # distinct seconds


async def test_created_copied_and_pulled_models_read_as_tags_reports_them(ollama_double, client):
    await client.create(CreateRequest(model="mario", from_="llama3.2", system="It's-a me"))
    await client.copy("qwen3", "me/qwen-copy:v1")
    await client.pull("tinyllama")
    await client.delete("gemma2:2b")
    store = ModelStore(ollama_double.models_dir)
    names = await assert_same_as_tags(client, store)
    assert {"mario:latest", "me/qwen-copy:v1", "tinyllama:latest"} <= set(names)
    assert "gemma2:2b" not in names
    mario = next(model for model in await store.list_models() if model.name == "mario:latest")
    assert mario.details.parent_model == "llama3.2:latest"


async def test_the_folder_from_ollama_models(ollama_double, client, monkeypatch):
    monkeypatch.setenv("OLLAMA_MODELS", f' "{ollama_double.models_dir}" ')
    await assert_same_as_tags(client, ModelStore())


async def test_show_from_disk_matches_the_basic_fields_of_show(ollama_double, client):
    await client.create(
        CreateRequest(model="mario", from_="llama3.2", system="It's-a me", license="MIT")
    )
    store = ModelStore(ollama_double.models_dir)
    for name in ("mario", *ollama_double.installed_names()):
        live = await client.show(name)
        disk = await store.show(name)
        assert disk is not None
        assert (disk.details, disk.modified_at) == (live.details, live.modified_at)
        assert (disk.system, disk.license) == (live.system, live.license)


async def test_a_model_from_an_f32_gguf_reads_as_tags_reports_it(ollama_double, client, tmp_path):
    # general.file_type 0 (all F32) is "unknown" to Ollama, not "F32".
    path = tmp_path / "f32.gguf"
    write_model(path, ModelSpec(arch="llama", name="f32", file_type=0))
    digest = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    await client.upload_blob(path, digest)
    await client.create(CreateRequest(model="f32", files={"f32.gguf": digest}))
    await assert_same_as_tags(client, ModelStore(ollama_double.models_dir))
    [f32] = [
        m
        for m in await ModelStore(ollama_double.models_dir).list_models()
        if m.name == "f32:latest"
    ]
    assert f32.details.quantization_level == "unknown"
