"""pytest fixtures: `ollama_double`, a started double with a fresh models dir per test, and
`http`, a raw httpx2 client on it (nothing between a test and the bytes on the wire)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from .server import OllamaDouble, running_double


@pytest.fixture
def ollama_double(tmp_path: Path) -> Iterator[OllamaDouble]:
    with running_double(tmp_path / "ollama-models") as double:
        yield double


@pytest.fixture
def http(ollama_double: OllamaDouble) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=ollama_double.url, timeout=30, verify=False) as client:
        yield client
