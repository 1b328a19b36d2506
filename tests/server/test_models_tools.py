"""The `models` toolset through the real client: normal paths and the main error paths."""

from __future__ import annotations

import logging

import pytest

from tests.ollama_double.server import OllamaDouble
from tests.server.conftest import Connect

NOT_INSTALLED = (
    "Error executing tool show_model: model 'nope' is not installed: pull it with pull_model, "
    "or call list_models for the installed names"
)


def text(result: object) -> str:
    content = result.content  # type: ignore[attr-defined]
    return str(content[0].text)


async def test_list_models_is_a_short_table_with_full_data(connect: Connect) -> None:
    async with connect() as client:
        result = await client.call_tool("list_models", {})
    assert not result.is_error
    assert text(result).splitlines()[0] == "4 model(s) installed"
    assert "llama3.2:latest" in text(result) and "{" not in text(result)
    data = result.structured_content
    assert data is not None
    names = [m["name"] for m in data["models"]]
    assert names == ["llama3.2:latest", "all-minilm:latest", "qwen3:latest", "gemma2:2b"]
    assert data["models"][0]["family"] == "llama"
    assert data["models"][0]["quantization"] == "Q4_K_M"


async def test_show_model_leaves_long_texts_out_unless_asked(connect: Connect) -> None:
    async with connect() as client:
        plain = await client.call_tool("show_model", {"name": "llama3.2"})
        licensed = await client.call_tool(
            "show_model", {"name": "llama3.2", "include": ["license", "modelfile"]}
        )
    assert plain.structured_content is not None and licensed.structured_content is not None
    assert plain.structured_content["license"] is None
    assert plain.structured_content["capabilities"] == ["completion", "tools"]
    assert plain.structured_content["context_length"] == 131072
    assert "LLAMA 3.2 COMMUNITY LICENSE" in licensed.structured_content["license"]
    assert licensed.structured_content["modelfile"].startswith("FROM llama3.2")
    assert "LICENSE" not in text(plain)
    # Where an answer came from is said only when it matters: not for a live one.
    assert text(plain).splitlines()[-1].startswith("parameters: stop=")
    assert text(licensed).splitlines()[-1] == "(cached)"


async def test_show_model_not_installed_says_to_pull_it(connect: Connect) -> None:
    async with connect() as client:
        result = await client.call_tool("show_model", {"name": "nope"})
    assert result.is_error
    assert text(result) == NOT_INSTALLED


async def test_bad_model_name_is_refused_before_asking_ollama(connect: Connect) -> None:
    async with connect() as client:
        result = await client.call_tool("show_model", {"name": "bad name!"})
    assert result.is_error
    assert text(result).startswith("Error executing tool show_model: invalid model name")
    assert "use [host/][namespace/]model[:tag]" in text(result)


async def test_copy_and_delete(connect: Connect, ollama_double: OllamaDouble) -> None:
    async with connect() as client:
        copied = await client.call_tool("copy_model", {"source": "llama3.2", "destination": "mine"})
        listed = await client.call_tool("list_models", {})
        deleted = await client.call_tool("delete_model", {"name": "mine"})
        again = await client.call_tool("delete_model", {"name": "mine"})
    assert text(copied) == "copied llama3.2 to mine"
    assert listed.structured_content is not None
    assert "mine:latest" in [m["name"] for m in listed.structured_content["models"]]
    assert text(deleted) == "deleted mine"
    assert "mine:latest" not in ollama_double.installed_names()
    assert again.is_error
    assert "model 'mine' is not installed" in text(again)


async def test_list_running_after_a_generate(connect: Connect) -> None:
    async with connect() as client:
        await client.call_tool("generate", {"model": "llama3.2", "prompt": "hi"})
        result = await client.call_tool("list_running", {})
    assert result.structured_content is not None
    assert [m["name"] for m in result.structured_content["models"]] == ["llama3.2:latest"]
    assert text(result).startswith("1 model(s) loaded\nllama3.2:latest")


async def test_status_reports_reachable_and_modes(
    connect: Connect, ollama_double: OllamaDouble
) -> None:
    async with connect() as client:
        result = await client.call_tool("ollama_status", {})
    data = result.structured_content
    assert data is not None
    assert data["reachable"] is True
    assert data["version"] == "0.33.0-rc2"
    assert data["base_url"] == ollama_double.url
    assert data["model_count"] == 4
    assert data["read_only"] is False and data["push_enabled"] is True
    assert len(data["allowed_roots"]) == 1
    assert (
        "read-only: no; toolsets: models, registry, modelfile, packaging, inference, library; "
        "push: on"
    ) in text(result).splitlines()


async def test_ollama_down_is_a_tool_error_that_says_how_to_start_it(
    connect: Connect, ollama_double: OllamaDouble
) -> None:
    ollama_double.faults.refuse_connections()
    async with connect() as client:
        result = await client.call_tool("list_running", {})
    assert result.is_error
    assert text(result) == (
        f"Error executing tool list_running: Ollama is not running at {ollama_double.url} "
        "(nothing answered): start it with `ollama serve`, or set OLLAMA_HOST to where it runs"
    )


def retries(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The connection retries the client logged: each one waits through a backoff."""
    return [r.getMessage() for r in caplog.records if "; retry " in r.getMessage()]


async def test_offline_list_and_status_answer_from_the_cache_at_once(
    connect: Connect, ollama_double: OllamaDouble, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tools.api.transport")
    async with connect() as client:
        await client.call_tool("list_models", {})  # fills the cache
        ollama_double.faults.refuse_connections()
        listed = await client.call_tool("list_models", {})
        status = await client.call_tool("ollama_status", {})
    assert retries(caplog) == []  # no backoff: the first refused connection is the answer
    assert not listed.is_error and listed.structured_content is not None
    assert listed.structured_content["source"] in ("cache", "stale")
    assert status.structured_content is not None
    assert status.structured_content["reachable"] is False
    assert status.structured_content["model_count"] == 4


async def test_offline_with_nothing_cached_reads_ollamas_folder_at_once(
    connect: Connect,
    ollama_double: OllamaDouble,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="tools.api.transport")
    monkeypatch.setenv("OLLAMA_MODELS", str(ollama_double.models_dir))
    ollama_double.faults.refuse_connections()
    async with connect() as client:
        listed = await client.call_tool("list_models", {})
        shown = await client.call_tool("show_model", {"name": "qwen3"})
    assert retries(caplog) == []
    assert listed.structured_content is not None and shown.structured_content is not None
    assert listed.structured_content["source"] == "disk"
    assert "(Ollama unreachable: read from its model folder)" in text(listed).splitlines()[0]
    assert shown.structured_content["source"] == "disk"
    assert shown.structured_content["family"] == "qwen3"
