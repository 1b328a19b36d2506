"""The distribution's version, read once from its installed metadata: `pyproject.toml` is the one
place it is written. The MCP server reports it, and the client sends it in its User-Agent."""

from __future__ import annotations

from importlib import metadata
from typing import Final

DISTRIBUTION: Final = "ollama-connector-mcp"


def _installed_version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "0"


VERSION: Final = _installed_version()
