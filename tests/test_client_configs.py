"""The shipped client configurations parse and start the server this project installs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "client_configs").glob("*.json"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_each_config_starts_ollama_mcp(path: Path) -> None:
    config = json.loads(path.read_text())
    servers = config.get("mcpServers") or config["servers"]
    assert servers["ollama"]["command"] == "ollama-mcp"


def test_there_are_configs() -> None:
    assert len(CONFIGS) >= 3
