"""What replicas put in Redis: every key under the prefix, and neither the bearer token nor the
contents of files the server read."""

from __future__ import annotations

from pathlib import Path

import httpx2
import redis.asyncio
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.replicas.conftest import StartReplicas
from tests.replicas.processes import RedisServer
from tests.server.reliability.helpers import text

TOKEN = "team-token-0123456789-abcdefghij"
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
