"""The error table: each kind of failure gets its text, and nothing unknown leaks a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.errors import error_text
from server.tools_api import (
    BaseModelNotInstalled,
    InvalidModelName,
    ModelNotFound,
    OllamaUnavailable,
    OutsideAllowedRoots,
    ServerBusy,
    UnsupportedServer,
)


@pytest.mark.parametrize(
    ("error", "tool", "text"),
    [
        (
            OllamaUnavailable("http://127.0.0.1:11434"),
            "list_models",
            "Ollama is not running at http://127.0.0.1:11434 (nothing answered): start it with "
            "`ollama serve`, or set OLLAMA_HOST to where it runs",
        ),
        (
            ModelNotFound("ghost"),
            "show_model",
            "model 'ghost' is not installed: pull it with pull_model, or call list_models for "
            "the installed names",
        ),
        (
            BaseModelNotInstalled("mistral:latest"),
            "package_adapter",
            "base model 'mistral:latest' is not installed: pull it with pull_model first",
        ),
        (
            UnsupportedServer("0.5.4", "0.5.5", "the JSON create request"),
            "create_model",
            "Ollama 0.5.4 is too old for create_model: upgrade Ollama to 0.5.5 or newer",
        ),
        (
            ServerBusy(503, "server busy"),
            "generate",
            "Ollama is busy (its queue is full): try again in a moment (server busy)",
        ),
        (
            OutsideAllowedRoots("/etc/passwd", Path("/etc/passwd"), ()),
            "generate",
            "refusing to read '/etc/passwd': it is outside the allowed folders (none); to allow "
            "a folder, add it to your MCP client's roots, or start the server with --allow-dir "
            "DIR (env OLLAMA_MCP_ALLOW_DIRS)",
        ),
        (
            FileNotFoundError(2, "No such file or directory", "/data/missing"),
            "create_model",
            "no such file or folder: /data/missing; check the path",
        ),
    ],
)
def test_each_failure_has_its_text(error: Exception, tool: str, text: str) -> None:
    assert error_text(error, tool) == text


def test_bad_name_keeps_the_connectors_advice() -> None:
    text = error_text(InvalidModelName("a b"), "show_model")
    assert text.startswith("invalid model name 'a b'")


def test_an_unknown_error_is_one_line_without_a_traceback() -> None:
    text = error_text(KeyError("x"), "list_models")
    assert text == "unexpected error (KeyError: 'x'); the server log (stderr) has details"
    assert "Traceback" not in text
