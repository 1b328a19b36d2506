"""The console entry point starts an MCP server that a real client can reach over stdio."""

from __future__ import annotations

import sys

from mcp import Client, StdioServerParameters


async def test_stdio_server_answers_a_real_client() -> None:
    params = StdioServerParameters(command=sys.executable, args=["-m", "server"])
    async with Client(params, read_timeout_seconds=30) as client:
        tools = await client.list_tools()
        assert isinstance(tools.tools, list)
        assert client.protocol_version
