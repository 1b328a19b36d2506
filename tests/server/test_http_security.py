"""The streamable HTTP transport: the bearer gate, Host and Origin checks, `/healthz`, the refused
non-loopback bind, and a real MCP client through it (stateful and stateless)."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from server.app import build_server
from server.http_security import (
    InsecureBind,
    allowed_hosts,
    check_bind,
    http_app,
    is_loopback_host,
    uvicorn_server,
)
from server.settings import Settings, parse_args

TOKEN = "correct-horse-battery-staple-0123456789"
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "0"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}

Start = Callable[..., str]


@pytest.fixture
def start_http() -> Iterator[Start]:
    """Start the real HTTP app on a socket bound here (so requests queue until it serves)."""
    running: list[tuple[threading.Thread, object]] = []

    def start(*flags: str) -> str:
        settings = parse_args(["--transport", "streamable-http", *flags], env={})
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        server = uvicorn_server(http_app(build_server(settings), settings), settings)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        running.append((thread, server))
        return f"http://127.0.0.1:{port}"

    yield start
    for thread, server in running:
        server.should_exit = True  # type: ignore[attr-defined]
        thread.join(timeout=30)


def post_initialize(url: str, **headers: str) -> httpx2.Response:
    with httpx2.Client(timeout=30) as http:
        return http.post(f"{url}/mcp", json=INIT, headers={**MCP_HEADERS, **headers})


def test_without_a_token_the_answer_is_401_with_www_authenticate(start_http: Start) -> None:
    url = start_http("--auth-token", TOKEN)
    answer = post_initialize(url)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == 'Bearer realm="ollama-mcp"'
    assert answer.text == (
        "missing bearer token: send the header `Authorization: Bearer <token>` with the token this "
        "server was started with (--auth-token or OLLAMA_MCP_AUTH_TOKEN)\n"
    )


@pytest.mark.parametrize(
    "authorization", [f"Bearer {TOKEN}x", "Bearer wrong", f"Bearer {TOKEN[:-1]}"]
)
def test_a_wrong_token_is_401_invalid_token(start_http: Start, authorization: str) -> None:
    url = start_http("--auth-token", TOKEN)
    answer = post_initialize(url, Authorization=authorization)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == (
        'Bearer realm="ollama-mcp", error="invalid_token", '
        'error_description="the bearer token is not the one this server accepts"'
    )
    assert answer.text == "wrong bearer token: use the token this server was started with\n"


def test_a_basic_credential_is_not_a_bearer_token(start_http: Start) -> None:
    url = start_http("--auth-token", TOKEN)
    answer = post_initialize(url, Authorization=f"Basic {TOKEN}")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == 'Bearer realm="ollama-mcp"'


async def test_the_right_token_lets_a_real_client_in(start_http: Start) -> None:
    url = start_http("--auth-token", TOKEN)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
    ):
        tools = await client.list_tools()
    assert isinstance(tools.tools, list)


async def test_without_a_token_configured_loopback_is_open(start_http: Start) -> None:
    url = start_http()
    async with Client(f"{url}/mcp") as client:
        assert client.protocol_version


async def test_stateless_mode_serves_without_sessions(start_http: Start) -> None:
    url = start_http("--stateless")
    answer = post_initialize(url)
    assert answer.status_code == 200
    assert "mcp-session-id" not in answer.headers
    async with Client(f"{url}/mcp", mode="legacy") as client:
        assert isinstance((await client.list_tools()).tools, list)


def test_stateful_mode_hands_out_a_session(start_http: Start) -> None:
    answer = post_initialize(start_http())
    assert answer.status_code == 200
    assert answer.headers["mcp-session-id"]


def test_a_foreign_host_is_refused(start_http: Start) -> None:
    url = start_http("--auth-token", TOKEN)
    answer = post_initialize(url, Authorization=f"Bearer {TOKEN}", Host="evil.example:80")
    assert answer.status_code == 421
    assert answer.text == "Invalid Host header"


def test_a_foreign_origin_is_refused(start_http: Start) -> None:
    url = start_http("--auth-token", TOKEN)
    answer = post_initialize(url, Authorization=f"Bearer {TOKEN}", Origin="http://evil.example")
    assert answer.status_code == 403
    assert answer.text == "Invalid Origin header"


def test_a_loopback_origin_is_accepted(start_http: Start) -> None:
    url = start_http()
    assert post_initialize(url, Origin=url).status_code == 200


def test_healthz_answers_without_a_token_and_reveals_nothing(start_http: Start) -> None:
    url = start_http("--auth-token", TOKEN)
    with httpx2.Client(timeout=30) as http:
        answer = http.get(f"{url}/healthz")
        post = http.post(f"{url}/healthz")
    assert answer.status_code == 200
    assert answer.text == "ok\n"
    assert set(answer.headers) == {"content-length", "content-type"}
    assert post.status_code == 405


def test_the_token_never_reaches_the_logs(
    start_http: Start, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = start_http("--auth-token", TOKEN, "--log-level", "DEBUG")
    post_initialize(url, Authorization=f"Bearer {TOKEN}")
    post_initialize(url, Authorization=f"Bearer {TOKEN}-wrong")
    assert "refused an HTTP request with a wrong bearer token" in caplog.text
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(parse_args(["--auth-token", TOKEN], env={}))


def test_a_non_loopback_bind_without_a_token_is_refused_at_start() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "server", "--transport", "streamable-http", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        env={"PATH": ""},
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith(
        "ollama-mcp: refusing to listen on 0.0.0.0: an address other than loopback lets other "
        "machines reach this server, so it needs a bearer token; set a bearer token with "
        "--auth-token or OLLAMA_MCP_AUTH_TOKEN"
    )


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "box.lan"])
def test_check_bind_needs_a_token_beyond_loopback(host: str) -> None:
    with pytest.raises(InsecureBind, match=f"refusing to listen on {host}"):
        check_bind(Settings(http_host=host))
    check_bind(Settings(http_host=host, auth_token=TOKEN))


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_binds_need_no_token(host: str) -> None:
    assert is_loopback_host(host)
    check_bind(Settings(http_host=host))


def test_a_specific_bind_address_is_an_allowed_host() -> None:
    assert allowed_hosts("192.168.1.20") == [
        "127.0.0.1:*",
        "localhost:*",
        "[::1]:*",
        "192.168.1.20:*",
    ]
    assert f"{socket.gethostname()}:*" in allowed_hosts("0.0.0.0")
