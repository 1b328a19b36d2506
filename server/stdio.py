"""stdio without a thread per line: the SDK's transport, fed by the event loop's own pipe reader.

The SDK's `stdio_server()` wraps stdin and stdout with `anyio.wrap_file`, so every line read and
every write and flush is a round trip to a worker thread: three per tool call, more with progress.
When both ends are pipes or sockets (how every MCP client launches a server) the lines are read
and written here by asyncio's non-blocking pipe transports instead, and handed to the same
`stdio_server()`, which parses and frames them as always. Anything else (a terminal, a file, or
Windows) gets the SDK's transport unchanged.

As the SDK does, fd 0 is pointed at the null device and fd 1 at stderr while serving, so a stray
`print` or a child process cannot reach the wire; the wire is kept on private duplicates, and
both descriptors are restored (and made blocking again) on the way out.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server

# A line is one JSON-RPC message; the limit only bounds the reader's buffer. Ollama answers and
# tool arguments (a base64 image, a Modelfile) stay far below it.
MAX_LINE_BYTES = 256 * 1024 * 1024


async def serve_stdio(server: MCPServer[Any]) -> None:
    """`server.run("stdio")`, on the pipe reader and writer below when both ends are pipes."""
    lowlevel = server._lowlevel_server  # what `MCPServer.run_stdio_async` runs, on our streams
    async with _wire() as (stdin, stdout), stdio_server(stdin, stdout) as (read, write):  # type: ignore[arg-type]
        await lowlevel.run(read, write, lowlevel.create_initialization_options())


def _is_pipe(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


@asynccontextmanager
async def _wire() -> AsyncIterator[tuple[PipeLines | None, PipeWriter | None]]:
    if sys.platform == "win32" or not (_is_pipe(0) and _is_pipe(1)):
        yield None, None  # the SDK's own transport, threads and all
        return
    # The transports own (and close) `wire_in` and `wire_out`; `saved` puts the wire back after.
    saved = os.dup(0), os.dup(1)
    wire_in, wire_out = os.dup(0), os.dup(1)
    for fd in (*saved, wire_in, wire_out):
        os.set_inheritable(fd, False)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=MAX_LINE_BYTES)
    read_transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(wire_in, "rb", buffering=0)
    )
    write_transport, write_side = await loop.connect_write_pipe(
        _WriteSide, os.fdopen(wire_out, "wb", buffering=0)
    )
    try:
        yield PipeLines(reader), PipeWriter(write_transport, write_side)
    finally:
        read_transport.close()
        write_transport.close()  # once what was written has left: the last answer must arrive
        await write_side.lost.wait()
        for fd, wire in zip((0, 1), saved, strict=True):
            os.dup2(wire, fd)
            os.close(wire)
            os.set_blocking(fd, True)  # the transports made the pipes non-blocking


class _WriteSide(asyncio.Protocol):
    """The write side's protocol: knows when the pipe is writable again and when it closed."""

    def __init__(self) -> None:
        self.writable = asyncio.Event()
        self.writable.set()
        self.lost = asyncio.Event()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self.writable.set()
        self.lost.set()


class PipeLines:
    """stdin as the SDK's reader wants it: `async for line` of text."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    def __aiter__(self) -> PipeLines:
        return self

    async def __anext__(self) -> str:
        line = await self._reader.readline()
        if not line:
            raise StopAsyncIteration
        return line.decode("utf-8", errors="replace")


class PipeWriter:
    """stdout as the SDK's writer wants it: `await write(text)` then `await flush()`."""

    def __init__(self, transport: asyncio.WriteTransport, side: _WriteSide) -> None:
        self._transport = transport
        # No high-water mark: flush waits until the pipe has taken every byte, as a real flush does.
        transport.set_write_buffer_limits(high=0)
        self._side = side

    async def write(self, text: str) -> None:
        self._transport.write(text.encode("utf-8"))

    async def flush(self) -> None:
        await self._side.writable.wait()
