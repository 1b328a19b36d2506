"""`python -m bench.bare_server [OLLAMA_URL]`: the SDK's floor, a bare `MCPServer` on stdio.

It has one trivial tool, `echo`, which is all the start-up figure spawns it with. Given an
Ollama URL it also has `generate`: the same streaming POST `/api/generate` that the bench makes
directly, each NDJSON line parsed, and the text returned as structured output, with nothing of
ours (no progress, checks, routing or result building). What the SDK alone costs per call is
then measured in the same run as our server, against the same double.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel


class Generated(BaseModel):
    model: str
    response: str


def build(ollama_url: str | None) -> MCPServer[Any]:
    # WARNING: at the SDK's default (INFO) httpx2 logs every request to stderr, which ours does not.
    server: MCPServer[Any] = MCPServer("bare", log_level="WARNING")

    @server.tool()
    def echo(text: str) -> str:
        return text

    if ollama_url is None:
        return server
    import httpx2  # here: the start-up figure's bare server imports no HTTP client

    http = httpx2.AsyncClient(base_url=ollama_url, timeout=30)

    @server.tool()
    async def generate(model: str, prompt: str) -> Generated:
        body = {"model": model, "prompt": prompt, "stream": True}
        parts: list[str] = []
        async with http.stream("POST", "/api/generate", json=body) as response:
            response.raise_for_status()
            async for line in response.aiter_lines():
                if line:
                    parts.append(json.loads(line)["response"])
        return Generated(model=model, response="".join(parts))

    return server


if __name__ == "__main__":
    build(sys.argv[1] if len(sys.argv) > 1 else None).run()
