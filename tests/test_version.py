"""The version is written once, in pyproject.toml, and read from the installed metadata."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import tools
from server.app import build_server
from server.settings import Settings
from tools.version import VERSION

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_the_version_is_the_one_in_pyproject() -> None:
    written = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["version"]
    assert VERSION == metadata.version("ollama-connector-mcp") == written
    assert tools.__version__ == VERSION


def test_the_mcp_server_reports_it() -> None:
    assert build_server(Settings()).version == VERSION
