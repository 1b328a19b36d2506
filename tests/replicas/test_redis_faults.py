"""Redis stopped and started again under running replicas: reads go on from Ollama, what needs
shared state fails with the fix, status says so, and once Redis is back it is used again
without a restart; what was written before is still there."""

from __future__ import annotations

import re
from typing import Any

from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.ollama_double.server import OllamaDouble
from tests.replicas.conftest import StartReplicas
from tests.replicas.processes import RedisServer
from tests.server.reliability.helpers import structured, text


async def call(url: str, tool: str, **arguments: Any) -> Any:
    async with Client(streamable_http_client(url)) as client:
        return await client.call_tool(tool, arguments)


async def test_redis_stopped_and_restarted_mid_run(
    start_replicas: StartReplicas, ollama_double: OllamaDouble, redis_server: RedisServer
) -> None:
    first, second = start_replicas(2)
    ollama_double.catalogue.add("small:latest", model_size=1024)
    pulled = await call(first.mcp, "pull_model", name="small")
    assert not pulled.is_error, text(pulled)
    status = await call(second.mcp, "ollama_status")
    assert f"shared state: Redis at {redis_server.url}: connected" in text(status)

    redis_server.stop()
    tags_before = ollama_double.requests.count("GET", "/api/tags")
    listed = await call(second.mcp, "list_models")  # a read: asked of Ollama instead
    assert not listed.is_error, text(listed)
    assert "small:latest" in {m["name"] for m in structured(listed)["models"]}
    assert ollama_double.requests.count("GET", "/api/tags") > tags_before
    refused = await call(first.mcp, "pull_model", name="llama3.2")
    assert refused.is_error
    assert re.fullmatch(
        rf"Error executing tool pull_model: the shared state store at "
        rf"{re.escape(redis_server.url)} cannot be reached \(Error 111 connecting to .+\): "
        r"this needs state shared by every replica, so it was not done; try again once Redis is "
        r"back \(ollama_status shows it\), or check --state-url / OLLAMA_MCP_STATE_URL",
        text(refused),
    ), text(refused)
    assert ollama_double.requests.count("POST", "/api/pull") == 1  # nothing was sent
    history = await call(second.mcp, "pull_status")
    assert history.is_error
    assert text(history).startswith("Error executing tool pull_status: the shared state store")
    lost = text(await call(second.mcp, "ollama_status"))
    assert re.search(
        rf"shared state: Redis at {re.escape(redis_server.url)}: LOST since \d\d:\d\d:\d\d UTC "
        r"\(.+\); pulls and tasks wait for it, reads ask Ollama",
        lost,
    ), lost

    redis_server.start()  # the same port; its append-only file kept what was written
    back = text(await call(second.mcp, "ollama_status"))
    assert f"shared state: Redis at {redis_server.url}: connected" in back
    records = structured(await call(second.mcp, "pull_status"))["pulls"]
    assert [(r["model"], r["status"]) for r in records] == [("small:latest", "success")]
    again = await call(first.mcp, "pull_model", name="llama3.2")
    assert not again.is_error, text(again)
