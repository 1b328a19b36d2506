"""`quantize` on create and packaging, against the Ollama double: every value Ollama takes makes a
model of that type; a source Ollama would refuse is refused before any upload, in Ollama's words;
Ollama's own refusals come back with its text and what to do."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.adapter_factories import write_gguf, write_peft_dir
from tests.ollama_double import OllamaDouble
from tests.ollama_double.ggufs import FILE_TYPE_NUMBERS, ModelSpec, write_model
from tests.packaging.test_packaging import ADAPTER_MEDIA_TYPE, Recorder, adapter_layers, store_state
from tools.api.client import OllamaClient
from tools.errors import (
    InvalidArgument,
    NotQuantizable,
    QuantizeRefused,
    UnsupportedArchitecture,
)
from tools.local.path_gate import AllowedRoots
from tools.packaging.adapter import package_adapter
from tools.packaging.blobs import DigestCache
from tools.packaging.create import create_model
from tools.packaging.reports import PackagingPhase

ONLY_UNQUANTIZED = "quantization is only supported for F16, BF16 and F32 models"
HIDDEN = 64


@pytest.fixture
async def client(ollama_double: OllamaDouble) -> AsyncIterator[OllamaClient]:
    async with OllamaClient(ollama_double.url, max_retries=0) as ollama:
        yield ollama


@pytest.fixture
def work(tmp_path: Path) -> Path:
    folder = (tmp_path / "work").resolve()
    folder.mkdir()
    return folder


@pytest.fixture
def gate(work: Path) -> AllowedRoots:
    return AllowedRoots([work])


@pytest.fixture
def cache(tmp_path: Path) -> DigestCache:
    return DigestCache(tmp_path / "cache")


def weights(work: Path, level: str, arch: str = "llama") -> Path:
    path = work / f"{arch}-{level.lower()}.gguf"
    number = FILE_TYPE_NUMBERS[level]
    write_model(path, ModelSpec(arch=arch, name="w", embedding_length=HIDDEN, file_type=number))
    return path


def nothing_sent(double: OllamaDouble) -> bool:
    return (
        double.requests.count_prefix("POST", "/api/blobs/") == 0
        and double.requests.count("POST", "/api/create") == 0
    )


@pytest.mark.parametrize(
    ("quantize", "level"),
    [
        ("q4_K_M", "Q4_K_M"),
        ("q4_K_S", "Q4_K_S"),
        ("q4_k", "Q4_K_M"),  # Ollama's alias
        ("q8_0", "Q8_0"),
        ("bf16", "BF16"),
        ("f16", "F16"),  # the source's own type: nothing to quantize
        ("f32", "unknown"),  # written as general.file_type 0, which Ollama reads as unknown
    ],
)
async def test_each_value_makes_a_model_that_show_reports_so(
    client: OllamaClient,
    work: Path,
    gate: AllowedRoots,
    cache: DigestCache,
    quantize: str,
    level: str,
) -> None:
    recorder = Recorder()
    source = weights(work, "F16")
    result = await create_model(
        client, "q", modelfile=f"FROM {source}", readable=gate, digest_cache=cache,
        quantize=quantize, on_progress=recorder,
    )  # fmt: skip
    shown = await client.show("q")
    assert shown.details.quantization_level == level
    assert shown.model_info["general.file_type"] == FILE_TYPE_NUMBERS.get(level, 0)
    quantizing = [e for e in recorder.events if e.message.startswith("quantizing")]
    if level == "F16":
        assert quantizing == [] and "validating GGUF model" in result.statuses
    else:
        assert {e.message for e in quantizing} == {f"quantizing F16 model to {quantize.upper()}"}
        done = [e.completed or 0 for e in quantizing]
        assert done == sorted(done) and done[-1] == quantizing[-1].total  # a phase that grows
        assert all(e.phase is PackagingPhase.CREATING for e in quantizing)


async def test_an_installed_f16_model_is_quantized(
    client: OllamaClient, gate: AllowedRoots
) -> None:
    await create_model(client, "mini-q8", modelfile="FROM all-minilm", readable=gate,
                       quantize="Q8_0")  # fmt: skip
    assert (await client.show("mini-q8")).details.quantization_level == "Q8_0"
    assert (await client.show("all-minilm")).details.quantization_level == "F16"


@pytest.mark.parametrize(
    ("level", "shown"),
    [
        ("Q4_K_M", "Q4_K_M"),
        ("Q8_0", "Q8_0"),
        ("F32", "unknown (general.file_type 0, F32, reads as unknown in Ollama)"),
    ],
)
async def test_a_local_gguf_of_another_type_is_refused_before_any_upload(
    ollama_double: OllamaDouble,
    client: OllamaClient,
    work: Path,
    gate: AllowedRoots,
    cache: DigestCache,
    level: str,
    shown: str,
) -> None:
    source = weights(work, level)
    before = store_state(ollama_double)
    with pytest.raises(NotQuantizable) as refused:
        await create_model(client, "q", modelfile=f"FROM {source}", readable=gate,
                           digest_cache=cache, quantize="q4_K_M")  # fmt: skip
    assert str(refused.value) == (
        f"{ONLY_UNQUANTIZED}: {source.name} is {shown}; create from the F16 or BF16 GGUF, "
        "or leave quantize out to keep its type"
    )
    assert store_state(ollama_double) == before and nothing_sent(ollama_double)
    assert cache.hashed == 0


async def test_an_installed_quantized_from_is_refused_before_any_upload(
    ollama_double: OllamaDouble, client: OllamaClient, work: Path, gate: AllowedRoots
) -> None:
    adapter = write_gguf(work / "lora.gguf", hidden=3072)
    with pytest.raises(NotQuantizable) as refused:
        await create_model(client, "q", modelfile=f"FROM llama3.2\nADAPTER {adapter}",
                           readable=gate, quantize="q8_0")  # fmt: skip
    assert str(refused.value) == (
        f"{ONLY_UNQUANTIZED}: FROM 'llama3.2' is Q4_K_M; create from its F16 or BF16 weights "
        "(a GGUF or safetensors folder), or leave quantize out to keep Q4_K_M"
    )
    assert nothing_sent(ollama_double)


async def test_a_base_pulled_during_the_create_is_refused_by_ollama_with_what_to_do(
    ollama_double: OllamaDouble, client: OllamaClient, gate: AllowedRoots
) -> None:
    # tinyllama is not installed: Ollama pulls it (Q4_0) in the create, then refuses.
    with pytest.raises(QuantizeRefused) as refused:
        await create_model(client, "q", modelfile="FROM tinyllama", readable=gate, quantize="q8_0")
    assert refused.value.message == ONLY_UNQUANTIZED
    assert str(refused.value) == (
        f"Ollama error (in the stream): {ONLY_UNQUANTIZED}; the source is already quantized "
        "(or an F32 file, whose type Ollama reads as unknown): create from its F16 or BF16 "
        "weights, or leave quantize out to keep its type"
    )
    assert "q:latest" not in ollama_double.installed_names()


async def test_an_unsupported_architecture_comes_back_with_what_to_do(
    client: OllamaClient, work: Path, gate: AllowedRoots
) -> None:
    folder = work / "hf"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"architectures": ["MambaForCausalLM"]}))
    (folder / "model.safetensors").write_bytes(
        b'\x1c\x00\x00\x00\x00\x00\x00\x00{"__metadata__":{"a":"b"}}  '
    )
    with pytest.raises(UnsupportedArchitecture) as refused:
        await create_model(client, "q", modelfile=f"FROM {folder}", readable=gate)
    assert str(refused.value) == (
        'Ollama error (in the stream): unsupported architecture "MambaForCausalLM"; Ollama '
        "cannot convert safetensors of this architecture: convert them to GGUF with llama.cpp "
        "(convert_hf_to_gguf.py, or convert_lora_to_gguf.py for an adapter) and create from "
        "the .gguf file"
    )


async def test_an_adapter_on_a_quantized_base_is_refused_before_any_upload(
    ollama_double: OllamaDouble, client: OllamaClient, work: Path, gate: AllowedRoots
) -> None:
    adapter = write_peft_dir(work / "peft", hidden=3072)
    before = store_state(ollama_double)
    with pytest.raises(NotQuantizable) as refused:
        await package_adapter(client, adapter, "tuned", "llama3.2", readable=gate,
                              quantize="q4_K_M")  # fmt: skip
    assert str(refused.value) == (
        f"{ONLY_UNQUANTIZED}: base model 'llama3.2' is Q4_K_M, and Ollama never quantizes the "
        "adapter itself; to get a Q4_K_M model, package the adapter onto an F16 or BF16 base "
        "(create one from its F16 GGUF), or leave quantize out to keep Q4_K_M"
    )
    assert store_state(ollama_double) == before and nothing_sent(ollama_double)


async def test_an_adapter_on_an_f16_base_quantizes_the_base_only(
    ollama_double: OllamaDouble, client: OllamaClient, work: Path, gate: AllowedRoots
) -> None:
    await create_model(client, "base16", modelfile=f"FROM {weights(work, 'F16')}", readable=gate)
    adapter = write_peft_dir(work / "peft", hidden=HIDDEN)
    report = await package_adapter(client, adapter, "tuned", "base16", readable=gate,
                                   quantize="q4_K_M")  # fmt: skip
    assert "quantizing F16 model to Q4_K_M" in report.statuses
    assert (await client.show("tuned")).details.quantization_level == "Q4_K_M"
    layers = adapter_layers(ollama_double, "tuned")
    assert len(layers) == 1 and layers[0]["mediaType"] == ADAPTER_MEDIA_TYPE
    assert (await client.show("base16")).details.quantization_level == "F16"


async def test_an_unknown_quantize_is_refused_for_an_adapter_before_anything_is_read(
    ollama_double: OllamaDouble, client: OllamaClient, work: Path, gate: AllowedRoots
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        await package_adapter(client, work / "missing", "tuned", "llama3.2", readable=gate,
                              quantize="q3_K_M")  # fmt: skip
    assert str(refused.value) == (
        "unsupported quantization type Q3_K_M - supported types are "
        "F32, F16, Q4_K_S, Q4_K_M, Q8_0 (did you mean 'Q4_K_M'?)"
    )
    assert ollama_double.requests.count_prefix("POST", "/api/") == 0
