"""`python -m tests.server.pipe_echo_server`: a tiny MCPServer served by `server.stdio.serve_stdio`,
so the pipe transport is tested apart from the rest of the server.

`echo` returns its text (big lines cross the wire whole); `stray` writes to stdout from the tool
and from a child process, which must land on stderr, never on the wire; `big` answers with a
text of the given size (the last answer must leave before the process exits).
"""

from __future__ import annotations

import os
import sys

import anyio
from mcp.server.mcpserver import MCPServer

from server.stdio import serve_stdio

server: MCPServer[None] = MCPServer("pipe-echo")


@server.tool()
async def echo(text: str) -> str:
    return text


@server.tool()
async def stray() -> str:
    print("stray print from a tool", flush=True)
    os.write(1, b"stray write to fd 1\n")
    # stdout=None: the child inherits fd 1, as a tool's child process would
    await anyio.run_process(
        [sys.executable, "-c", "print('stray print from a child')"], stdout=None
    )
    return "done"


@server.tool()
async def big(size: int) -> str:
    return "x" * size


if __name__ == "__main__":
    anyio.run(serve_stdio, server)
