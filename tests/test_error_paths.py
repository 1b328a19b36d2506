"""Refusals that had only a builtin class before the error tree: each raises its tree class,
with its exact text, before anything reaches Ollama."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.ollama_double import OllamaDouble
from tools.api.client import OllamaClient
from tools.api.host import resolve_base_url
from tools.connector import OllamaConnector
from tools.errors import (
    GoLiteralError,
    InvalidArgument,
    InvalidHost,
    InvalidModelfileCommand,
    NotADirectory,
    PathUnresolvable,
)
from tools.local.path_gate import AllowedRoots
from tools.modelfile.document import ModelfileMessage, Parameter, from_show
from tools.modelfile.go_literals import go_unquote
from tools.packaging.create import create_model


def test_a_negative_retry_setting_is_refused() -> None:
    with pytest.raises(InvalidArgument) as caught:
        OllamaClient(max_retries=-1)
    assert str(caught.value) == "max_retries, backoff_base and backoff_max must not be negative"


def test_a_host_with_another_scheme_is_refused() -> None:
    with pytest.raises(InvalidHost) as caught:
        resolve_base_url("ftp://example.com")
    assert str(caught.value) == (
        "host 'ftp://example.com' is not a valid Ollama address: "
        "unsupported scheme 'ftp'; use http or https"
    )


@pytest.mark.parametrize(
    ("literal", "text"),
    [
        ("plain", "not a Go string literal: 'plain'"),
        ('"\\q"', "bad escape in Go string literal: '\"\\\\q\"'"),
    ],
)
def test_a_malformed_go_literal_is_refused(literal: str, text: str) -> None:
    with pytest.raises(GoLiteralError) as caught:
        go_unquote(literal)
    assert str(caught.value) == text


def test_from_show_without_a_name_is_refused() -> None:
    with pytest.raises(InvalidArgument) as caught:
        from_show({"modelfile": "FROM /blobs/sha256-x\n"})
    assert str(caught.value) == (
        "from_show needs the model's name: pass `model`, or a show response whose "
        "`modelfile` has the `# FROM <name>` comment"
    )


def test_a_parameter_name_no_modelfile_has_is_refused() -> None:
    with pytest.raises(InvalidModelfileCommand) as caught:
        Parameter("top k", "40")
    assert str(caught.value) == "a PARAMETER name is letters, digits and underscores, not 'top k'"


def test_a_message_role_no_modelfile_has_is_refused() -> None:
    with pytest.raises(InvalidModelfileCommand) as caught:
        ModelfileMessage("robot", "beep")  # type: ignore[arg-type]
    assert str(caught.value) == (
        'message role must be one of "system", "user", or "assistant", not \'robot\''
    )


async def test_create_model_with_both_modelfile_forms_is_refused(
    ollama_double: OllamaDouble,
) -> None:
    async with OllamaClient(ollama_double.url, max_retries=0) as client:
        with pytest.raises(InvalidArgument) as caught:
            await create_model(client, "mine", modelfile="FROM x", modelfile_path="Modelfile")
    assert str(caught.value) == "give exactly one of modelfile (the text) or modelfile_path"
    assert ollama_double.requests.entries() == []


async def test_upload_artifact_without_a_name_is_refused(tmp_path: Path) -> None:
    connector = OllamaConnector(cache_dir=tmp_path / "cache", allowed_roots=[tmp_path])
    with pytest.raises(InvalidArgument) as caught:
        await connector.upload_artifact(tmp_path, {"base_model": "llama3.2"})
    assert str(caught.value) == "invalid metadata: 'name' (the model to create) is required"


def test_a_file_where_a_folder_is_needed_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    with pytest.raises(NotADirectory) as caught:
        AllowedRoots([tmp_path]).directory(tmp_path / "notes.txt")
    where = str(tmp_path / "notes.txt")
    assert str(caught.value) == f"[Errno 20] not a directory: {where!r}: {where!r}"


def test_a_symlink_loop_is_refused(tmp_path: Path) -> None:
    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    with pytest.raises(PathUnresolvable) as caught:
        AllowedRoots([tmp_path]).resolve(tmp_path / "a")
    assert str(caught.value).startswith(f"[Errno 40] cannot resolve {str(tmp_path / 'a')!r}: ")
