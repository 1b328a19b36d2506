"""Fixtures for the replicas tests: a real redis-server, and replicas of the server sharing it."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.ollama_double.server import OllamaDouble
from tests.replicas.processes import RedisServer, Replica

StartReplicas = Callable[..., list[Replica]]


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of the test's own; missing, the test skips on a developer's machine and
    fails in CI, whose .ci/run installs it."""
    try:
        server = RedisServer(tmp_path / "redis")
    except FileNotFoundError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def start_replicas(
    ollama_double: OllamaDouble, redis_server: RedisServer, tmp_path: Path
) -> Iterator[StartReplicas]:
    """`start_replicas(3, *flags)`: that many replicas on one double and one Redis, each with a
    cache folder of its own (they share nothing but Redis), all started at once."""
    started: list[Replica] = []

    def start(count: int, *flags: str, **env: str) -> list[Replica]:
        first = len(started)
        folders = [tmp_path / f"cache{first + i}" for i in range(count)]
        batch = [Replica(ollama_double, redis_server.url, f, *flags, **env) for f in folders]
        started.extend(batch)
        return [replica.ready() for replica in batch]

    try:
        yield start
    finally:
        for replica in started:
            replica.stop()
