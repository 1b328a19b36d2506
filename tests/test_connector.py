"""What the connector adds over the seed's examples: name comparison and offline answers."""

from __future__ import annotations

from pathlib import Path

from tests.ollama_double import OllamaDouble
from tools.connector import ModelRef, OllamaConnector


def test_model_ref_compares_as_ollama_matches_names() -> None:
    listed = ModelRef("llama3.2:latest")
    assert listed == "llama3.2"
    assert listed == "LLAMA3.2:Latest"
    assert listed == "registry.ollama.ai/library/llama3.2:latest"
    assert listed != "llama3.2:1b"
    assert listed != "me/llama3.2"
    assert ModelRef("me/m:v1") == "me/m:v1" and ModelRef("me/m:v1") != "m:v1"
    assert listed != "not a model name!" and listed != 3


def test_equal_model_refs_share_one_set_and_dict_slot() -> None:
    spellings = [
        ModelRef("llama3.2:latest"),
        ModelRef("llama3.2"),
        ModelRef("LLAMA3.2:Latest"),
        ModelRef("registry.ollama.ai/library/llama3.2:latest"),
    ]
    assert len(set(spellings)) == 1
    assert {spellings[0]: "listed"}[spellings[2]] == "listed"
    assert len({ModelRef("llama3.2"), ModelRef("llama3.2:1b"), ModelRef("me/llama3.2")}) == 3


def test_a_model_ref_that_is_not_a_name_hashes_as_its_text() -> None:
    odd = ModelRef("not a model name!")
    assert hash(odd) == hash("not a model name!")
    assert len({odd, ModelRef("not a model name!")}) == 1


async def test_list_models_while_ollama_is_stopped_is_marked_stale(
    ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    connector = OllamaConnector(cache_dir=tmp_path / "cache")
    await connector.connect({"base_url": ollama_double.url})
    live = await connector.list_models()
    assert {m.source for m in live} == {"live"}
    ollama_double.faults.refuse_connections()
    offline = await connector.list_models(use_cache=False)
    assert [m.name for m in offline] == [m.name for m in live]
    assert {m.source for m in offline} == {"stale"}
    assert all(m.cached_at is not None for m in offline)
    await connector.disconnect()


async def test_verify_connection_says_false_instead_of_raising(ollama_double: OllamaDouble) -> None:
    connector = OllamaConnector()
    await connector.connect({"base_url": ollama_double.url})
    assert await connector.verify_connection()
    ollama_double.faults.refuse_connections()
    assert not await connector.verify_connection()
    ollama_double.faults.accept_connections()
    assert await connector.verify_connection()
    await connector.disconnect()
