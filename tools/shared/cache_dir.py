"""Where the connector keeps what it caches (model metadata, file digests)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_DIR_NAME = "ollama-connector-mcp"
CACHE_DIR_ENV = "OLLAMA_MCP_CACHE_DIR"


def default_cache_dir() -> Path:
    """`$OLLAMA_MCP_CACHE_DIR`, else the platform's user cache folder for this app."""
    override = os.environ.get(CACHE_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    home = Path.home()
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / APP_DIR_NAME
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA")
        base = Path(local) if local else home / "AppData" / "Local"
        return base / APP_DIR_NAME / "Cache"
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg) if xdg else home / ".cache") / APP_DIR_NAME
