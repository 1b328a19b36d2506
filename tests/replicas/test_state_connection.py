"""How a replica reaches its Redis: a password (in the URL or OLLAMA_MCP_STATE_PASSWORD, never
logged nor shown), TLS with `rediss://` and a CA file, and the refusals at start when either is
wrong."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from server.cli import main
from tests.ollama_double.server import OllamaDouble
from tests.replicas.processes import LoggedProcess, RedisServer, Replica, TlsFiles, free_port
from tests.server.reliability.helpers import text

PASSWORD = "redis-secret-5b7e1c"


@pytest.fixture
def locked_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis", password=PASSWORD)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis", tls=TlsFiles(tmp_path / "tls"))
    server.start()
    yield server
    server.stop()


async def status_of(replica: Replica) -> str:
    async with Client(streamable_http_client(replica.mcp)) as client:
        return text(await client.call_tool("ollama_status", {}))


def refusal(url: str, *flags: str, **env: str) -> str:
    """What a replica says when it will not start (it must exit 1)."""
    command = [sys.executable, "-m", "server", "--transport", "streamable-http",
               "--port", str(free_port()), "--state-url", url, *flags]  # fmt: skip
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OLLAMA")}
    process = LoggedProcess(command, env={**environ, **env})
    assert process.stop_when_done() == 1, process.log()
    return process.log()


@pytest.mark.parametrize("where", ["environment", "url"])
async def test_a_password_in_the_environment_or_the_url_works_and_is_never_shown(
    where: str, locked_redis: RedisServer, ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    plain = locked_redis.url
    if where == "url":
        url, env = plain.replace("redis://", f"redis://:{PASSWORD}@"), {}
    else:
        url, env = plain, {"OLLAMA_MCP_STATE_PASSWORD": PASSWORD}
    replica = Replica(ollama_double, url, tmp_path / "cache", **env).ready()
    try:
        status = await status_of(replica)
        assert f"shared state: Redis at {plain}: connected" in status
        assert PASSWORD not in status
    finally:
        replica.stop()
    assert PASSWORD not in replica.process.log()


def test_a_wrong_password_is_refused_at_start_without_showing_it(
    locked_redis: RedisServer,
) -> None:
    said = refusal(locked_redis.url, OLLAMA_MCP_STATE_PASSWORD="not-the-password")
    assert said == (
        f"ollama-mcp: cannot reach the shared state store at {locked_redis.url} (invalid "
        "username-password pair or user is disabled.); replicas that asked for shared state "
        "must not fall back to state of their own. Start Redis there, fix --state-url / "
        "OLLAMA_MCP_STATE_URL (and OLLAMA_MCP_STATE_PASSWORD), or leave --state-url out to "
        "keep state on this machine"
    )
    assert "not-the-password" not in said


async def test_tls_with_the_ca_file_connects(
    tls_redis: RedisServer, ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    assert tls_redis.tls is not None
    assert tls_redis.url.startswith("rediss://")
    replica = Replica(
        ollama_double, tls_redis.url, tmp_path / "cache", "--state-ca-file", str(tls_redis.tls.cert)
    ).ready()
    try:
        assert f"shared state: Redis at {tls_redis.url}: connected" in await status_of(replica)
    finally:
        replica.stop()


def test_tls_without_the_ca_that_signed_redis_is_refused_at_start(tls_redis: RedisServer) -> None:
    said = refusal(tls_redis.url)
    assert said.startswith(
        f"ollama-mcp: cannot reach the shared state store at {tls_redis.url} ("
    ), said
    assert "certificate verify failed" in said


def doctor_line(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        main(["doctor", *argv])
    lines = capsys.readouterr().out.splitlines()
    found = [ln for ln in lines if ln[6:].startswith("shared state ")]
    assert len(found) == 1, lines
    return int(exited.value.code or 0), found[0]


def test_doctor_says_whether_the_redis_answers_and_the_fix(
    locked_redis: RedisServer,
    ollama_double: OllamaDouble,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OLLAMA_MCP_STATE_PASSWORD", raising=False)
    url = locked_redis.url.replace("redis://", f"redis://:{PASSWORD}@")
    base = ["--ollama-host", ollama_double.url, "--cache-dir", str(tmp_path / "cache")]
    code, said = doctor_line(capsys, *base, "--state-url", url, "--state-prefix", "team-a:")
    assert (code, said) == (
        0,
        f"OK    shared state Redis at {locked_redis.url} answered (keys under team-a:)",
    )
    code, said = doctor_line(capsys, *base, "--state-url", locked_redis.url)
    assert code == 1
    # Redis's own words for a missing password come between the brackets.
    assert said.startswith(f"FAIL  shared state Redis at {locked_redis.url} did not answer (")
    assert said.endswith(
        "): the server will not start -- fix: start Redis there, or fix --state-url / "
        "OLLAMA_MCP_STATE_URL (the password: in the URL or OLLAMA_MCP_STATE_PASSWORD; for "
        "rediss://, --state-ca-file), or leave --state-url out"
    )
    assert PASSWORD not in said
