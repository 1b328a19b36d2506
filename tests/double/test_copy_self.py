"""Copying a model onto its own name: Ollama's CopyModel returns before touching anything when
source and destination name the same manifest path (server/images.go at fb30760), so the
handler answers 200 with an empty body, whether or not the model exists."""

from __future__ import annotations

import httpx2
import pytest

from tests.ollama_double import OllamaDouble


def manifest_mtime(double: OllamaDouble) -> int:
    path = double.models_dir / "manifests/registry.ollama.ai/library/llama3.2/latest"
    return path.stat().st_mtime_ns


@pytest.mark.parametrize(
    ("source", "destination"),
    [
        ("llama3.2", "llama3.2"),
        ("llama3.2", "registry.ollama.ai/library/llama3.2:latest"),
        ("LLAMA3.2", "llama3.2:Latest"),  # both mapped to the installed case first
    ],
)
def test_a_copy_onto_itself_is_a_no_op_answered_200(
    http: httpx2.Client, ollama_double: OllamaDouble, source: str, destination: str
) -> None:
    before = manifest_mtime(ollama_double)
    resp = http.post("/api/copy", json={"source": source, "destination": destination})
    assert (resp.status_code, resp.content) == (200, b"")
    assert manifest_mtime(ollama_double) == before
    assert ollama_double.installed_names().count("llama3.2:latest") == 1


def test_a_missing_model_copied_onto_itself_is_also_200(
    http: httpx2.Client, ollama_double: OllamaDouble
) -> None:
    resp = http.post("/api/copy", json={"source": "nobody", "destination": "nobody"})
    assert (resp.status_code, resp.content) == (200, b"")
    assert "nobody:latest" not in ollama_double.installed_names()
