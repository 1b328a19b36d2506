"""The double starts, serves the basic routes and the official client parses them."""

from __future__ import annotations

import ollama

from tests.ollama_double import OllamaDouble


async def test_official_client_lists_and_generates(ollama_double: OllamaDouble) -> None:
    client = ollama.AsyncClient(host=ollama_double.url)
    listed = await client.list()
    assert [m.model for m in listed.models] == ollama_double.installed_names()
    reply = await client.generate("llama3.2", "hello world")
    assert reply.response == "Echo: hello world"
    assert reply.done_reason == "stop"
