"""The connector's own promises: one cache folder, validated metadata, a connection that never
falls back to another server, and offline answers that consult Ollama's folder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.adapter_factories import write_peft_dir
from tests.ollama_double import OllamaDouble
from tools.api.client import OllamaClient
from tools.connector import NotConnected, OllamaConnector
from tools.shared.cache_dir import CACHE_DIR_ENV

LLAMA_HIDDEN = 3072
MESSAGES = "a list of {'role': ..., 'content': ...} mappings"


@pytest.fixture
async def connector(ollama_double: OllamaDouble, tmp_path: Path) -> AsyncIterator[OllamaConnector]:
    made = OllamaConnector(cache_dir=tmp_path / "cache", allowed_roots=[tmp_path])
    await made.connect({"base_url": ollama_double.url})
    yield made
    await made.disconnect()


# --- item 4: everything persisted goes to cache_dir ----------------------------------------------


async def test_the_digest_cache_lives_in_the_connectors_cache_dir(
    ollama_double: OllamaDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "default-cache"))
    connector = OllamaConnector(cache_dir=tmp_path / "mine", allowed_roots=[tmp_path])
    await connector.connect({"base_url": ollama_double.url})
    adapter = write_peft_dir(tmp_path / "adapter", hidden=LLAMA_HIDDEN)
    report = await connector.package_adapter(adapter, {"name": "t", "base_model": "llama3.2"})
    await connector.disconnect()
    assert report.files_hashed == 2
    assert (tmp_path / "mine" / "digests.sqlite3").is_file()
    assert not (tmp_path / "default-cache").exists()


# --- items 7 and 8: the seed's metadata, validated -----------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("push", "false", "true or false"),
        ("pull_base", 1, "true or false"),
        ("system_prompt", 123, "a string"),
        ("template", ["x"], "a string"),
        ("parameters", "temperature=1", "a mapping of parameter names to values"),
        ("messages", "hi", MESSAGES),
        ("messages", [{"role": "user", "content": 5}], MESSAGES),
        ("license", 5, "a string or a list of strings"),
    ],
)  # fmt: skip
async def test_bad_metadata_is_a_value_error_naming_the_key(
    connector: OllamaConnector,
    ollama_double: OllamaDouble,
    tmp_path: Path,
    key: str,
    value: Any,
    expected: str,
) -> None:
    adapter = write_peft_dir(tmp_path / "adapter", hidden=LLAMA_HIDDEN)
    metadata = {"name": "me/tuned", "base_model": "llama3.2", key: value}
    with pytest.raises(ValueError) as caught:
        await connector.package_adapter(adapter, metadata)
    assert type(caught.value).__name__ == "InvalidMetadata"
    assert str(caught.value) == f"invalid metadata: {key!r} must be {expected}, not {value!r}"
    assert ollama_double.requests.count_prefix("POST", "/api/blobs/") == 0
    assert ollama_double.requests.count("POST", "/api/push") == 0


async def test_good_metadata_in_every_accepted_form_packages(
    connector: OllamaConnector, tmp_path: Path
) -> None:
    adapter = write_peft_dir(tmp_path / "adapter", hidden=LLAMA_HIDDEN)
    report = await connector.package_adapter(
        adapter,
        {
            "name": "tuned",
            "base_model": "llama3.2",
            "system_prompt": "be brief",
            "parameters": {"temperature": 0.5, "stop": ["a", "b"]},
            "messages": ({"role": "user", "content": "hi"},),
            "license": ["MIT", "Apache-2.0"],
            "push": False,
        },
    )
    assert report.push is None and "PARAMETER temperature 0.5" in report.modelfile


# --- items 10 and 11: never raise from verify_connection, never fall back to another server ------


async def test_verify_connection_is_false_for_an_invalid_ollama_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "http://[::1")
    assert await OllamaConnector().verify_connection() is False


async def test_a_refused_base_url_leaves_the_connector_unconnected(
    ollama_double: OllamaDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Were the connector to fall back to OLLAMA_HOST, the double would get the calls.
    monkeypatch.setenv("OLLAMA_HOST", ollama_double.url)
    connector = OllamaConnector()
    with pytest.raises(ValueError, match="not a valid Ollama address"):
        await connector.connect({"base_url": "ftp://example.com"})
    expected = (
        "not connected: connect() refused 'ftp://example.com' (host 'ftp://example.com' is "
        "not a valid Ollama address: unsupported scheme 'ftp'; use http or https); call "
        "connect() again with a valid base_url"
    )
    with pytest.raises(NotConnected) as caught:
        await connector.delete_model("llama3.2")
    assert str(caught.value) == expected
    with pytest.raises(NotConnected):
        await connector.list_models()
    assert await connector.verify_connection() is False
    assert ollama_double.requests.entries() == []
    await connector.connect({"base_url": ollama_double.url})  # a good connect recovers
    assert await connector.verify_connection()
    await connector.disconnect()


# --- item 12: offline, a model newer than the cached list is found on disk -----------------------


async def test_offline_metadata_of_a_model_newer_than_the_cached_list_comes_from_disk(
    ollama_double: OllamaDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_MODELS", str(ollama_double.models_dir))
    connector = OllamaConnector(cache_dir=tmp_path / "cache")
    await connector.connect({"base_url": ollama_double.url})
    assert "newer:latest" not in [m.name for m in await connector.list_models()]
    async with OllamaClient(ollama_double.url) as other:  # another program creates a model
        await other.copy("llama3.2", "newer")
    ollama_double.faults.refuse_connections()
    found = await connector.get_model_metadata("newer")
    assert found is not None
    assert (found.name, found.source) == ("newer:latest", "disk")
    assert await connector.get_model_metadata("nobody-has-this") is None
    await connector.disconnect()
