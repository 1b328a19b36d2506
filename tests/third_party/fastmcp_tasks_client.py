"""Run by tests/third_party/test_fastmcp_tasks.py with a separate venv holding fastmcp 3 (it needs
mcp<2, so it cannot share ours). Drives our server's MCP tasks over stdio and prints one JSON line
per step; the test reads them and answers on stdin when the double's gate should move."""

import asyncio
import json
import sys
from typing import Any

from fastmcp import Client
from fastmcp.client.transports import StdioTransport


def say(step: str, **seen: Any) -> None:
    print(json.dumps({"step": step, **seen}, default=str), flush=True)


async def main(python: str, args: list[str]) -> None:
    async with Client(StdioTransport(command=python, args=args)) as client:
        doomed = await client.call_tool("pull_model", {"name": "big2"}, task=True)
        say("pulling", status=(await doomed.status()).status)
        sys.stdin.readline()  # the double holds the pull at its gate
        await doomed.cancel()
        after = await doomed.wait(timeout=30)
        say("cancelled", status=after.status)

        task = await client.call_tool("pull_model", {"name": "big"}, task=True)
        first = await task.status()
        say(
            "created",
            task_id=task.task_id,
            status=first.status,
            immediate=task.returned_immediately,
        )
        sys.stdin.readline()  # the test opened the gate
        final = await task.wait(timeout=30)
        result = await task.result()
        say("ended", status=final.status, structured=result.structured_content)

        plain = await client.call_tool("generate", {"model": "big", "prompt": "hi"})
        as_task = await (
            await client.call_tool("generate", {"model": "big", "prompt": "hi"}, task=True)
        )
        say("generate", plain=plain.structured_content, task=as_task.structured_content)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2:]))
