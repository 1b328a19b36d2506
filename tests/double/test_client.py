"""The official ollama-python AsyncClient (0.6.3) against the double: everything parses.

If the double sent a shape the real server never sends (or left out a required field),
these tests fail on the client's own pydantic models, not on our assertions.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import ollama
import pytest
from safetensors.numpy import save_file

from tests.ollama_double import OllamaDouble, reply_for, thinking_for
from tests.ollama_double.ggufs import ModelSpec, read_info, write_adapter, write_model
from tests.ollama_double.names import Name

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "required": ["city"],
            "properties": {"city": {"type": "string"}},
        },
    },
}


@pytest.fixture
def client(ollama_double: OllamaDouble) -> ollama.AsyncClient:
    return ollama.AsyncClient(host=ollama_double.url)


async def test_list_matches_the_store_newest_first(
    client: ollama.AsyncClient, ollama_double: OllamaDouble
) -> None:
    listed = await client.list()
    names = [m.model for m in listed.models]
    assert names == ["llama3.2:latest", "all-minilm:latest", "qwen3:latest", "gemma2:2b"]
    assert names == ollama_double.installed_names()
    llama = listed.models[0]
    assert llama.details is not None
    assert llama.details.family == "llama"
    assert llama.details.quantization_level == "Q4_K_M"
    assert llama.size is not None and llama.size > 0
    assert llama.digest is not None and len(llama.digest) == 64
    times = [m.modified_at for m in listed.models]
    assert times == sorted(times, reverse=True)


async def test_show_sends_every_field_the_client_models(client: ollama.AsyncClient) -> None:
    shown = await client.show("llama3.2")
    assert shown.capabilities == ["completion", "tools"]
    assert shown.modelinfo is not None
    assert shown.modelinfo["general.architecture"] == "llama"
    assert shown.modelinfo["llama.context_length"] == 131072
    assert shown.modelinfo["tokenizer.ggml.tokens"] is None  # arrays null unless verbose
    assert shown.template is not None and ".Tools" in shown.template
    assert (
        shown.parameters is not None
        and 'stop                           "<|eot_id|>"' in shown.parameters
    )
    assert shown.license is not None and shown.license.startswith("LLAMA 3.2")
    assert shown.modelfile is not None and "# FROM llama3.2:latest" in shown.modelfile
    assert shown.details is not None and shown.details.parameter_size == "3.2B"
    assert shown.modified_at is not None
    embedder = await client.show("all-minilm")
    assert embedder.capabilities == ["embedding"]
    thinker = await client.show("qwen3")
    assert thinker.capabilities == ["completion", "tools", "thinking"]


async def test_generate_whole_and_streamed(client: ollama.AsyncClient) -> None:
    whole = await client.generate("llama3.2", "why is the sky blue")
    assert whole.response == reply_for("why is the sky blue") == "Echo: why is the sky blue"
    assert whole.done and whole.done_reason == "stop"
    assert whole.context and whole.eval_count == 6
    assert whole.total_duration and whole.load_duration and whole.eval_duration
    parts = [p async for p in await client.generate("llama3.2", "one two", stream=True)]
    assert [p.response for p in parts] == ["Echo:", " one", " two", ""]
    assert [p.done for p in parts] == [False, False, False, True]
    assert parts[-1].done_reason == "stop" and parts[-1].context


async def test_generate_length_limit_and_raw(client: ollama.AsyncClient) -> None:
    cut = await client.generate("llama3.2", "a b c d e", options={"num_predict": 2})
    assert cut.response == "Echo: a" and cut.done_reason == "length"
    raw = await client.generate("llama3.2", "x", raw=True)
    assert raw.context is None


async def test_thinking_model_thinks_unless_told_not_to(client: ollama.AsyncClient) -> None:
    parts = [p async for p in await client.generate("qwen3", "hi there", stream=True)]
    thinking = "".join(p.thinking or "" for p in parts)
    assert thinking == thinking_for("hi there")
    assert "".join(p.response for p in parts) == "Echo: hi there"
    quiet = await client.generate("qwen3", "hi there", think=False)
    assert quiet.thinking is None and quiet.response == "Echo: hi there"


async def test_chat_whole_streamed_and_tools(client: ollama.AsyncClient) -> None:
    msgs = [{"role": "user", "content": "hello you"}]
    whole = await client.chat("llama3.2", messages=msgs)
    assert whole.message.role == "assistant" and whole.message.content == "Echo: hello you"
    assert whole.done_reason == "stop"
    parts = [p async for p in await client.chat("gemma2:2b", messages=msgs, stream=True)]
    assert "".join(p.message.content or "" for p in parts) == "Echo: hello you"
    assert parts[-1].done
    called = await client.chat(
        "llama3.2",
        messages=[{"role": "user", "content": "use get_weather city=Tokyo"}],
        tools=[WEATHER_TOOL],
    )
    calls = called.message.tool_calls
    assert calls is not None and len(calls) == 1
    assert calls[0].function.name == "get_weather"
    assert dict(calls[0].function.arguments) == {"city": "Tokyo"}


async def test_load_and_unload_show_in_ps(client: ollama.AsyncClient) -> None:
    loaded = await client.generate("llama3.2", "")
    assert loaded.done_reason == "load"
    ps = await client.ps()
    assert [m.model for m in ps.models] == ["llama3.2:latest"]
    assert ps.models[0].expires_at is not None and ps.models[0].context_length == 4096
    chat_load = await client.chat("gemma2:2b", messages=[], keep_alive=-1)
    assert chat_load.done_reason == "load"
    assert [m.model for m in (await client.ps()).models] == ["gemma2:2b", "llama3.2:latest"]
    unloaded = await client.generate("llama3.2", "", keep_alive=0)
    assert unloaded.done_reason == "unload"
    assert [m.model for m in (await client.ps()).models] == ["gemma2:2b"]


async def test_embed_is_normalised_and_deterministic(client: ollama.AsyncClient) -> None:
    first = await client.embed("all-minilm", ["alpha", "beta"])
    again = await client.embed("all-minilm", "alpha")
    assert len(first.embeddings) == 2 and len(first.embeddings[0]) == 384
    assert np.isclose(np.linalg.norm(first.embeddings[0]), 1.0, atol=1e-5)
    assert first.embeddings[0] == again.embeddings[0]
    assert first.embeddings[0] != first.embeddings[1]
    cut = await client.embed("all-minilm", "alpha", dimensions=32)
    assert len(cut.embeddings[0]) == 32
    assert np.isclose(np.linalg.norm(cut.embeddings[0]), 1.0, atol=1e-5)
    legacy = await client.embeddings("all-minilm", "alpha")
    assert not np.isclose(np.linalg.norm(legacy.embedding), 1.0)


async def test_pull_streamed_and_whole(
    client: ollama.AsyncClient, ollama_double: OllamaDouble
) -> None:
    parts = [p async for p in await client.pull("tinyllama", stream=True)]
    statuses = [p.status for p in parts]
    assert statuses[0] == "pulling manifest"
    assert statuses[-3:] == ["verifying sha256 digest", "writing manifest", "success"]
    layer_lines = [p for p in parts if (p.status or "").startswith("pulling ") and p.digest]
    assert all(p.status == f"pulling {p.digest[7:19]}" for p in layer_lines if p.digest)
    assert "tinyllama:latest" in ollama_double.installed_names()
    whole = await client.pull("tinyllama")
    assert whole.status == "success"
    with pytest.raises(ollama.ResponseError) as err:
        await client.pull("no-such-model")
    assert err.value.status_code == 500
    assert err.value.error == "pull model manifest: file does not exist"


async def test_push_copy_delete(client: ollama.AsyncClient, ollama_double: OllamaDouble) -> None:
    copied = await client.copy("llama3.2", "me/llama")
    assert copied.status == "success"
    parts = [p async for p in await client.push("me/llama", stream=True)]
    statuses = [p.status for p in parts]
    assert statuses[0] == "retrieving manifest"
    assert statuses[-2:] == ["pushing manifest", "success"]
    assert any((s or "").startswith("pushing ") and s != "pushing manifest" for s in statuses)
    assert (await client.push("me/llama")).status == "success"
    deleted = await client.delete("me/llama")
    assert deleted.status == "success"
    assert "me/llama:latest" not in ollama_double.installed_names()
    with pytest.raises(ollama.ResponseError) as err:
        await client.delete("me/llama")
    assert err.value.status_code == 404


async def test_create_from_a_model(client: ollama.AsyncClient, ollama_double: OllamaDouble) -> None:
    parts = [
        p
        async for p in await client.create(
            "mario",
            from_="llama3.2",
            system="You are Mario",
            parameters={"temperature": 0.5},
            license="MIT",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
        )
    ]
    statuses = [p.status or "" for p in parts]
    assert statuses[-2:] == ["writing manifest", "success"]
    assert all(s.startswith(("using existing layer", "creating new layer")) for s in statuses[:-2])
    shown = await client.show("mario")
    assert shown.details is not None and shown.details.parent_model == "llama3.2:latest"
    assert shown.parameters is not None and "temperature                    0.5" in shown.parameters
    assert shown.modelfile is not None and "SYSTEM You are Mario" in shown.modelfile
    assert (await client.create("luigi", from_="mario")).status == "success"
    assert {"mario:latest", "luigi:latest"} <= set(ollama_double.installed_names())


async def test_create_from_uploaded_gguf_with_an_adapter(
    client: ollama.AsyncClient, tmp_path: Path
) -> None:
    write_model(tmp_path / "base.gguf", ModelSpec(arch="llama", name="base", file_type=1))
    base = await client.create_blob(tmp_path / "base.gguf")
    assert base.startswith("sha256:")
    whole = await client.create("mybase", files={"base.gguf": base})
    assert whole.status == "success"
    adapter = {"blk.0.attn_q.weight.lora_a": np.zeros((2, 8), np.float16)}
    write_adapter(tmp_path / "lora.gguf", "llama", adapter, 16.0)
    digest = await client.create_blob(tmp_path / "lora.gguf")
    parts = [
        p
        async for p in await client.create(
            "tuned", from_="mybase", adapters={"lora.gguf": digest}, stream=True
        )
    ]
    assert [p.status for p in parts][-2:] == ["writing manifest", "success"]
    shown = await client.show("tuned")
    assert shown.modelfile is not None and "ADAPTER " in shown.modelfile
    assert shown.details is not None and shown.details.quantization_level == "F16"


async def test_create_with_a_safetensors_adapter(
    client: ollama.AsyncClient, ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    prefix = "base_model.model.model.layers.0.self_attn.q_proj"
    save_file(
        {
            f"{prefix}.lora_A.weight": np.ones((4, 64), np.float16),
            f"{prefix}.lora_B.weight": np.ones((64, 4), np.float16),
        },
        str(tmp_path / "adapter_model.safetensors"),
    )
    (tmp_path / "adapter_config.json").write_text(json.dumps({"lora_alpha": 16, "r": 4}))
    weights = await client.create_blob(tmp_path / "adapter_model.safetensors")
    config = await client.create_blob(tmp_path / "adapter_config.json")
    adapters = {"adapter_model.safetensors": weights, "adapter_config.json": config}
    parts = [
        p async for p in await client.create("st", from_="llama3.2", adapters=adapters, stream=True)
    ]
    assert parts[0].status == "converting adapter"
    assert parts[-1].status == "success"
    inst = ollama_double.store.find(Name.parse("st"))
    assert inst is not None
    adapter_layer = inst.first("application/vnd.ollama.image.adapter")
    assert adapter_layer is not None and "from" not in adapter_layer
    info = read_info(ollama_double.store.blob_path(adapter_layer["digest"]))
    assert info.kv["general.type"] == "adapter" and info.kv["adapter.lora.alpha"] == 16.0
    assert {t["name"] for t in info.tensors} == {
        "blk.0.attn_q.weight.lora_a",
        "blk.0.attn_q.weight.lora_b",
    }
    with pytest.raises(ollama.ResponseError) as err:
        await client.create("bad", from_="qwen3", adapters=adapters)
    assert (err.value.status_code, err.value.error) == (400, "unsupported architecture")
