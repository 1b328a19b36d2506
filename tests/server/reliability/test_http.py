"""The streamable HTTP transport under misuse: requests without the token, with a wrong one, or
from a foreign Host or Origin are refused before they reach a tool, change nothing on disk, and
the server answers the next proper call; a client that drops its connection mid-call makes the
server close its stream to Ollama."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.ollama_double.server import OllamaDouble
from tests.server.reliability.helpers import changed, snapshot, text
from tests.server.test_http_security import INIT, MCP_HEADERS, TOKEN, Start, start_http

__all__ = ["start_http"]  # the fixture, shared with the transport's own tests

LONG_PROMPT = " ".join(f"word{i}" for i in range(48))
REFUSED = [
    ({}, 401, "missing bearer token: send the header `Authorization: Bearer <token>` with the "
     "token this server was started with (--auth-token or OLLAMA_MCP_AUTH_TOKEN)\n"),
    ({"Authorization": "Bearer wrong"}, 401,
     "wrong bearer token: use the token this server was started with\n"),
    ({"Authorization": f"Bearer {TOKEN}", "Host": "evil.example:80"}, 421, "Invalid Host header"),
    ({"Authorization": f"Bearer {TOKEN}", "Origin": "http://evil.example"}, 403,
     "Invalid Origin header"),
]  # fmt: skip


def flags(double: OllamaDouble, cache: Path) -> list[str]:
    return ["--ollama-host", double.url, "--cache-dir", str(cache), "--auth-token", TOKEN]


def create_call() -> dict[str, object]:
    arguments = {"name": "sneaky", "modelfile": "FROM llama3.2"}
    return {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "create_model", "arguments": arguments}}  # fmt: skip


@pytest.mark.parametrize(("headers", "status", "body"), REFUSED)
async def test_a_refused_request_changes_nothing_and_the_server_goes_on(
    start_http: Start,
    ollama_double: OllamaDouble,
    tmp_path: Path,
    headers: dict[str, str],
    status: int,
    body: str,
) -> None:
    cache = tmp_path / "cache"
    url = start_http(*flags(ollama_double, cache))
    before = snapshot(ollama_double.models_dir, cache)
    async with httpx2.AsyncClient(timeout=30) as http:
        for message in (INIT, create_call()):
            answer = await http.post(f"{url}/mcp", json=message, headers={**MCP_HEADERS, **headers})
            assert (answer.status_code, answer.text) == (status, body)
    assert changed(before, ollama_double.models_dir, cache) == set()
    assert ollama_double.requests.entries() == []  # nothing reached Ollama
    authorized = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        httpx2.AsyncClient(headers=authorized, timeout=30) as http,
        Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
    ):
        result = await client.call_tool("generate", {"model": "llama3.2", "prompt": "hi"})
    assert text(result) == "Echo: hi"


async def test_a_dropped_http_client_whose_session_ends_closes_the_stream_to_ollama(
    start_http: Start, ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    """On streamable HTTP a dropped connection is not a cancellation (the protocol says so: the
    client may come back for the answer); the session ending is. The client's DELETE, or its
    session timing out, ends the work and closes the stream to Ollama."""
    ollama_double.faults.token_delay = 0.2
    url = start_http(*flags(ollama_double, tmp_path / "cache"))
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {TOKEN}"}
    generate = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
        "name": "generate", "arguments": {"model": "llama3.2", "prompt": LONG_PROMPT}}}  # fmt: skip
    async with httpx2.AsyncClient(timeout=30) as http:
        answer = await http.post(f"{url}/mcp", json=INIT, headers=headers)
        session = {**headers, "mcp-session-id": answer.headers["mcp-session-id"]}
        initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        await http.post(f"{url}/mcp", json=initialized, headers=session)
        async with http.stream("POST", f"{url}/mcp", json=generate, headers=session):
            await ollama_double.requests.wait_count_async("POST", "/api/generate", 1, 30)
        # leaving the block closes the connection mid-call; then the session ends
        ended = await http.delete(f"{url}/mcp", headers=session)
    assert ended.status_code == 200
    assert await ollama_double.requests.wait_disconnect_async(15)
    assert "/api/generate" in ollama_double.requests.disconnects
    with anyio.fail_after(30):  # and the server still serves
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as http,
            Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
        ):
            result = await client.call_tool("generate", {"model": "llama3.2", "prompt": "hi"})
    assert text(result) == "Echo: hi"
