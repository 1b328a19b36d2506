"""What replicas put in Redis: every key under the prefix, and neither the bearer token nor the
contents of files the server read; records bound to a hash of the token that made them."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx2
import redis.asyncio
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult

from tests.ollama_double.server import OllamaDouble
from tests.replicas.conftest import StartReplicas
from tests.replicas.processes import RedisServer
from tests.replicas.test_shared_pulls import MODEL, make_big
from tests.server.reliability.helpers import structured, text

TOKEN = "team-token-0123456789-abcdefghij"
OTHER_TOKEN = "other-team-9876543210-zyxwvutsrq"
MARKER = "only-in-the-file-7f3a9c"


async def test_keys_are_namespaced_and_hold_no_token_nor_file_contents(
    start_replicas: StartReplicas, redis_server: RedisServer, tmp_path: Path
) -> None:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "Modelfile").write_text(f"# {MARKER}\nFROM llama3.2\nSYSTEM be brief\n")
    first, second = start_replicas(
        2, "--auth-token", TOKEN, "--state-prefix", "team-a:", "--allow-dir", str(allowed)
    )
    headers = {"Authorization": f"Bearer {TOKEN}"}
    for replica in (first, second):
        async with (
            httpx2.AsyncClient(headers=headers, timeout=30) as http,
            Client(streamable_http_client(replica.mcp, http_client=http)) as client,
        ):
            for tool, arguments in [
                ("list_models", {}),
                ("show_model", {"name": "llama3.2"}),
                ("create_model", {"name": "filed", "modelfile_path": str(allowed / "Modelfile")}),
                ("pull_model", {"name": "llama3.2"}),
                ("pull_status", {}),
            ]:
                result = await client.call_tool(tool, arguments)
                assert not result.is_error, text(result)
    async with redis.asyncio.Redis.from_url(redis_server.url) as r:
        keys = [key async for key in r.scan_iter()]
        assert keys
        assert all(key.startswith(b"team-a:") for key in keys), keys
        for key in keys:
            kind = await r.type(key)
            if kind == b"string":
                values = [await r.get(key)]
            elif kind == b"hash":
                values = list((await r.hgetall(key)).values())
            elif kind == b"zset":
                values = await r.zrange(key, 0, -1)
            else:
                values = [repr(await r.xrange(key)).encode()]
            for value in values:
                assert TOKEN.encode() not in value, key
                assert MARKER.encode() not in value, key


async def call_as(url: str, token: str, tool: str, **arguments: Any) -> CallToolResult:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        return await client.call_tool(tool, arguments)


async def test_a_pull_record_made_with_one_token_is_unknown_to_another(
    start_replicas: StartReplicas, ollama_double: OllamaDouble, redis_server: RedisServer
) -> None:
    gate = make_big(ollama_double)
    first, second = start_replicas(2, "--auth-token", TOKEN)
    (other,) = start_replicas(1, "--auth-token", OTHER_TOKEN)
    started = await call_as(first.mcp, TOKEN, "pull_model", name="big", background=True)
    assert structured(started)["action"] == "started", text(started)
    gate.allow(2)
    assert await gate.wait_held_async(lines=2)

    seen = structured(await call_as(second.mcp, TOKEN, "pull_status", name="big"))["pulls"]
    assert [(r["model"], r["status"]) for r in seen] == [(MODEL, "pulling")]
    unseen = await call_as(other.mcp, OTHER_TOKEN, "pull_status", name="big")
    assert text(unseen) == (
        "Error executing tool pull_status: no pull of big is running or ended in the last "
        "3600 s: start one with pull_model"
    )
    assert structured(await call_as(other.mcp, OTHER_TOKEN, "pull_status"))["pulls"] == []
    refused = await call_as(other.mcp, OTHER_TOKEN, "cancel_pull", name="big")
    assert refused.is_error
    assert text(refused) == (
        "Error executing tool cancel_pull: no pull of big is running or ended in the last "
        "3600 s: pull_status lists the pulls"
    )

    owner = hashlib.sha256(b"ollama-mcp records\x00" + TOKEN.encode()).hexdigest()[:32]
    async with redis.asyncio.Redis.from_url(redis_server.url) as r:
        records = [key async for key in r.scan_iter(match="ollama-mcp:pull:*")]
        assert records
        assert all(key.startswith(f"ollama-mcp:pull:{owner}:".encode()) for key in records)
        for key in records:
            assert TOKEN.encode() not in await r.get(key)
    gate.open()
