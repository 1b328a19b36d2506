"""Every mutation made through the connector invalidates what it touched (issue 6): the model
list is trusted for an hour here, so only an invalidation can make a change show at once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.ollama_double import OllamaDouble
from tools.connector import OllamaConnector


@pytest.fixture
async def connector(ollama_double: OllamaDouble, tmp_path: Path) -> AsyncIterator[OllamaConnector]:
    made = OllamaConnector(cache_dir=tmp_path / "cache")
    await made.connect({"base_url": ollama_double.url})
    made.catalog.list_max_age = 3600.0  # without an invalidation, the cached list would be served
    yield made
    await made.disconnect()


async def names(connector: OllamaConnector) -> list[str]:
    return [model.name for model in await connector.list_models()]


async def test_create_invalidates_the_list_and_the_model(connector):
    assert "mario:latest" not in await names(connector)
    await connector.create_model("mario", "FROM llama3.2\nSYSTEM one", stream=False)
    assert "mario:latest" in await names(connector)
    first = await connector.get_model_metadata("mario")
    assert first is not None and first.system == "one"
    await connector.create_model("mario", "FROM llama3.2\nSYSTEM two", stream=False)
    again = await connector.get_model_metadata("mario")
    assert again is not None and (again.source, again.system) == ("live", "two")


async def test_delete_invalidates(connector):
    assert await connector.get_model_metadata("gemma2:2b") is not None
    await connector.delete_model("gemma2:2b")
    assert "gemma2:2b" not in await names(connector)
    assert await connector.get_model_metadata("gemma2:2b") is None


async def test_copy_invalidates(connector):
    assert "me/qwen-copy:latest" not in await names(connector)
    await connector.copy_model("qwen3", "me/qwen-copy")
    assert "me/qwen-copy:latest" in await names(connector)


async def test_pull_invalidates(connector):
    assert "tinyllama:latest" not in await names(connector)
    await connector.pull_model("tinyllama", stream=False)
    assert "tinyllama:latest" in await names(connector)


async def test_push_invalidates(connector):
    await connector.copy_model("llama3.2", "me/pushed")
    assert (await connector.get_model_metadata("me/pushed")) is not None
    await connector.push_model("me/pushed", stream=False)
    pushed = await connector.get_model_metadata("me/pushed")
    assert pushed is not None and pushed.source == "live"
