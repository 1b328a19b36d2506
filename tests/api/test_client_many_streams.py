"""Long streams each hold a connection for their whole life (a pull, a generation): however many
are open, a quick request still gets a connection of its own, rather than waiting for one of them
to end (the pool has no timeout, so it would wait for ever)."""

from __future__ import annotations

from contextlib import aclosing

import anyio

from tests.ollama_double import OllamaDouble
from tools.api.client import OllamaClient

HELD = 110  # more than httpx's default pool of 100 connections


async def test_a_quick_request_is_answered_while_many_streams_are_held(
    ollama_double: OllamaDouble,
) -> None:
    for n in range(HELD):
        ollama_double.catalogue.add(f"held{n}:latest", model_size=2**20)
    gate = ollama_double.faults.gate("/api/pull")
    async with OllamaClient(ollama_double.url) as client:

        async def pull(name: str) -> None:
            async with aclosing(client.pull_stream(name)) as stream:
                async for _ in stream:
                    pass

        async with anyio.create_task_group() as group:
            for n in range(HELD):
                group.start_soon(pull, f"held{n}")
            assert await gate.wait_holding_async(HELD)  # every stream is open, none has ended
            with anyio.fail_after(10):
                listed = await client.list()
            gate.open()
    assert len(listed.models) >= 1
