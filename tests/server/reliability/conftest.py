"""Fixtures for the reliability tests: the folders a bad path points into, and the snapshot of
everything the server and the double keep on disk."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from server.settings import Settings
from tests.ollama_double.server import OllamaDouble


@dataclass(frozen=True)
class Places:
    """An allowed folder holding traps, and a folder outside it holding a secret."""

    allowed: Path
    outside: Path

    @property
    def secret(self) -> Path:
        return self.outside / "secret"


@pytest.fixture
def places(tmp_path: Path, allowed_dir: Path) -> Places:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("FROM llama3.2\n")
    (allowed_dir / "Modelfile").write_text("FROM llama3.2\n")
    (allowed_dir / "link").symlink_to(outside / "secret")
    (allowed_dir / "dirlink").symlink_to(outside)
    (allowed_dir / "folder").mkdir()
    os.mkfifo(allowed_dir / "fifo")
    return Places(allowed_dir, outside)


@pytest.fixture
def stores(ollama_double: OllamaDouble, settings: Settings) -> list[Path]:
    """What must not change when a call is refused: the double's model store, the cache."""
    assert settings.cache_dir is not None
    return [ollama_double.models_dir, settings.cache_dir]
