"""`python -m bench.direct_pull URL MODEL`: the connector alone reading one whole pull.

Run as its own process by `bench.mcp_progress`, so that its CPU time (`time.process_time`, around
the read only: no interpreter start, no imports) holds nothing but the connector's work: the
Ollama double runs in the bench's process, not here. Prints one JSON line: `cpu_s` and `lines`.
The pulled model is deleted afterwards, so the next pull streams every line again.
"""

from __future__ import annotations

import json
import sys
import time

import anyio

from tools.api.client import OllamaClient


async def pull(url: str, model: str) -> dict[str, float]:
    async with OllamaClient(url, max_retries=0) as client:
        await client.version()  # a warm connection, as the server has
        lines = 0
        before = time.process_time()
        async for _ in client.pull_stream(model):
            lines += 1
        cpu = time.process_time() - before
        await client.delete(model)
    return {"cpu_s": cpu, "lines": lines}


if __name__ == "__main__":
    sys.stdout.write(json.dumps(anyio.run(pull, sys.argv[1], sys.argv[2])) + "\n")
