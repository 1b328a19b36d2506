"""pytest fixture `ollama_double`: a started double with a fresh models dir per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .server import OllamaDouble, running_double


@pytest.fixture
def ollama_double(tmp_path: Path) -> Iterator[OllamaDouble]:
    with running_double(tmp_path / "ollama-models") as double:
        yield double
