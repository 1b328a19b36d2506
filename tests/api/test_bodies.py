"""Request bodies as models: unset fields never reach the wire, values Ollama judges go as given,
and an argument no body can hold is refused before anything is sent."""

from __future__ import annotations

import pytest

from tests.ollama_double import OllamaDouble
from tools.api.bodies import ChatRequest, EmbedRequest, GenerateRequest, ToolFunction, ToolSpec
from tools.api.client import OllamaClient
from tools.api.types import Message
from tools.errors import InvalidArgument


def test_a_body_leaves_out_what_was_not_set() -> None:
    assert GenerateRequest(model="m", stream=False).body() == {
        "model": "m",
        "prompt": "",
        "stream": False,
    }


def test_generate_converts_images_context_and_plain_seconds() -> None:
    body = GenerateRequest(
        model="m", images=[b"\x00\x01", "AAE="], context=(1, 2), keep_alive="300", stream=True
    ).body()
    assert body["images"] == ["AAE=", "AAE="]
    assert body["context"] == [1, 2]
    assert body["keep_alive"] == 300


def test_chat_sends_mappings_as_given_and_models_without_unset_fields() -> None:
    extra = {"role": "tool", "content": "18C", "tool_name": "weather", "unknown": None}
    tool = ToolSpec(function=ToolFunction(name="weather"))
    body = ChatRequest(
        model="m", messages=[Message(role="user", content="hi"), extra], tools=[tool], stream=True
    ).body()
    assert body["messages"] == [{"role": "user", "content": "hi"}, extra]
    assert body["tools"] == [{"type": "function", "function": {"name": "weather"}}]


def test_chat_with_no_tools_sends_none() -> None:
    assert "tools" not in ChatRequest(model="m", messages=[], tools=[], stream=False).body()


def test_think_and_format_go_as_given() -> None:
    body = ChatRequest(model="m", messages=[], think="lots", format="yaml", stream=False).body()  # type: ignore[arg-type]
    assert (body["think"], body["format"]) == ("lots", "yaml")


def test_embed_keeps_one_text_as_text() -> None:
    assert EmbedRequest(model="m", input="word").body() == {"model": "m", "input": "word"}


async def test_an_argument_no_body_can_hold_is_refused_before_sending(
    ollama_double: OllamaDouble,
) -> None:
    async with OllamaClient(ollama_double.url, max_retries=0) as client:
        with pytest.raises(InvalidArgument) as caught:
            await client.generate("llama3.2", "hi", system=3)  # type: ignore[arg-type]
    assert str(caught.value) == (
        "invalid arguments for generate: system: Input should be a valid string"
    )
    assert ollama_double.requests.entries() == []
