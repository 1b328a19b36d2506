"""Recommended models read against the installed ones: names Ollama takes as the same model,
cloud against local, the query and local-only filters."""

from __future__ import annotations

from tests.ollama_double.cloud import RECOMMENDATIONS
from tools.api.types import ModelRecommendation
from tools.catalog.library import library_models

RECS = [ModelRecommendation.model_validate(r) for r in RECOMMENDATIONS]


def test_names_that_differ_only_by_the_default_tag_or_case_are_installed() -> None:
    found = library_models(RECS, ["Gemma4:Latest", "llama3.2:latest"])
    gemma = next(m for m in found if m.name == "gemma4")
    assert (gemma.installed, gemma.installed_as) == (True, "Gemma4:Latest")
    assert [m.name for m in found if m.installed] == ["gemma4"]


def test_a_local_model_is_not_its_cloud_twin_and_back() -> None:
    found = {m.name: m for m in library_models(RECS, ["qwen3.5:latest"])}
    assert found["qwen3.5"].installed is True
    assert found["qwen3.5:cloud"].installed is False
    found = {m.name: m for m in library_models(RECS, ["qwen3.5:cloud"])}
    assert (found["qwen3.5:cloud"].installed, found["qwen3.5"].installed) == (True, False)


def test_another_tag_is_another_model() -> None:
    found = {m.name: m for m in library_models(RECS, ["gemma4:27b", "registry.ollama.ai/x/gemma4"])}
    assert found["gemma4"].installed is False


def test_fields_and_where_each_runs() -> None:
    found = {m.name: m for m in library_models(RECS, [])}
    kimi = found["kimi-k2.6:cloud"]
    assert (kimi.runs_on, kimi.context_length, kimi.max_output_tokens) == ("cloud", 262144, 262144)
    assert (found["gemma4"].runs_on, found["gemma4"].vram_bytes) == ("local", 12_000_000_000)
    assert found["gemma4"].pull_command == "ollama pull gemma4"


def test_query_keeps_entries_holding_every_word_and_local_only_drops_cloud() -> None:
    coding = library_models(RECS, [], query="CODE generation")
    assert [m.name for m in coding] == ["glm-5.1:cloud", "gemma4"]
    assert [m.name for m in library_models(RECS, [], local_only=True)] == ["gemma4", "qwen3.5"]
    assert [m.name for m in library_models(RECS, [], query="vision", local_only=True)] == []
    assert library_models(RECS, [], query="nothing-like-this") == []


def test_a_name_ollama_would_refuse_matches_nothing() -> None:
    odd = [ModelRecommendation(model="bad name!", description="x")]
    (entry,) = library_models(odd, ["bad name!"])
    assert entry.installed is False
