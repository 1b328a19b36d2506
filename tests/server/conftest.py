"""Fixtures for the MCP server tests: the server built from settings that point at the Ollama
double, and the SDK's real client on it, in both protocol eras."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from server.app import build_server
from server.settings import Settings
from tests.ollama_double.server import OllamaDouble

MODES = ("auto", "legacy")  # 2026-07-28 in process; 2025-11-25 JSON-RPC with the handshake


@pytest.fixture
def allowed_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "allowed"
    folder.mkdir()
    return folder


@pytest.fixture
def settings(ollama_double: OllamaDouble, tmp_path: Path, allowed_dir: Path) -> Settings:
    return Settings(
        ollama_host=ollama_double.url,
        cache_dir=tmp_path / "cache",
        allow_dirs=(allowed_dir,),
        allow_push=True,
    )


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


Connect = Callable[..., AbstractAsyncContextManager[Client]]


@pytest.fixture
def connect(settings: Settings, mode: str) -> Connect:
    """`async with connect(**client_options) as client:` the real SDK client on a server built
    from `settings`, in the era of `mode`. (A context manager rather than a yield fixture: an
    anyio task group must be left in the task that entered it.)"""

    @asynccontextmanager
    async def connected(settings_: Settings | None = None, **options: Any) -> AsyncIterator[Client]:
        server = build_server(settings_ or settings)
        async with Client(server, mode=mode, read_timeout_seconds=30, **options) as client:
            yield client

    return connected


def with_settings(settings: Settings, **changes: Any) -> Settings:
    return dataclasses.replace(settings, **changes)
