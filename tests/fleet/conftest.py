"""Three Ollama doubles on loopback with different models, and a server configured with all
three (`a` the default, then `b`, then `c`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from server.app import build_server, state_of
from server.settings import Settings
from server.state import AppState
from tests.ollama_double.server import OllamaDouble, running_double

# What each host keeps of the seeded models (the rest is deleted before the test).
KEEPS = {
    "a": ("llama3.2:latest", "gemma2:2b"),
    "b": ("llama3.2:latest", "qwen3:latest"),
    "c": ("all-minilm:latest",),
}


@dataclass
class Hosts:
    doubles: dict[str, OllamaDouble]
    settings: Settings

    def __getitem__(self, name: str) -> OllamaDouble:
        return self.doubles[name]


def _keep_only(double: OllamaDouble, keep: tuple[str, ...]) -> None:
    with httpx2.Client(base_url=double.url, timeout=30) as http:
        for name in double.installed_names():
            if name not in keep:
                http.request("DELETE", "/api/delete", json={"model": name}).raise_for_status()


@pytest.fixture
def hosts(tmp_path: Path) -> Iterator[Hosts]:
    with (
        running_double(tmp_path / "a") as a,
        running_double(tmp_path / "b") as b,
        running_double(tmp_path / "c") as c,
    ):
        doubles = {"a": a, "b": b, "c": c}
        for name, double in doubles.items():
            _keep_only(double, KEEPS[name])
        allowed = tmp_path / "allowed"
        allowed.mkdir()
        settings = Settings(
            ollama_hosts=tuple(f"{name}={d.url}" for name, d in doubles.items()),
            cache_dir=tmp_path / "cache",
            allow_dirs=(allowed,),
            allow_push=True,
        )
        yield Hosts(doubles, settings)


@pytest.fixture(params=("auto", "legacy"))
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@asynccontextmanager
async def serving(settings: Settings, mode: str) -> AsyncIterator[tuple[Client, AppState]]:
    """The real SDK client on a server over the hosts, and that server's state."""
    server: MCPServer[AppState] = build_server(settings)
    async with Client(server, mode=mode, read_timeout_seconds=30) as client:
        yield client, state_of(server)
