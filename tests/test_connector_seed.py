"""Every example of shared/seed/OLLAMA_CONNECTOR.md, run as written against the Ollama double.

Only the paths and the double's URL differ from the document: `/path/to/adapter.safetensors`
becomes a real adapter written by the test, and `connect({})` finds the double via OLLAMA_HOST.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from plugins.connectors.ollama_connector import OllamaConnector
from tests.adapter_factories import HIDDEN, lora_tensors, write_config
from tests.ollama_double import OllamaDouble
from tests.ollama_double.catalogue import Recipe
from tools.errors import InvalidMetadata, ModelNotFound, NotQuantizable

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "OLLAMA_CONNECTOR.md"

SEED_MODELFILE = '''FROM llama2:7b

ADAPTER /path/to/adapter.safetensors

SYSTEM """You are a helpful coding assistant."""

TEMPLATE """{{ .System }}

User: {{ .Prompt }}
Assistant:"""

PARAMETER temperature 0.7
PARAMETER top_p 0.9
PARAMETER top_k 40
PARAMETER num_ctx 4096'''


@pytest.fixture
async def connector(
    ollama_double: OllamaDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[OllamaConnector]:
    # The seed's examples use llama2:7b; the double's registry gets it, and it is pulled once.
    ollama_double.catalogue.put(
        Recipe("llama2:7b", "llama", "6.7B", template="{{ .Prompt }}", embedding_length=HIDDEN)
    )
    monkeypatch.setenv("OLLAMA_HOST", ollama_double.url)
    connector = OllamaConnector(cache_dir=tmp_path / "cache")
    await connector.connect({})
    await connector.pull_model(name="llama2:7b", stream=True)
    yield connector
    await connector.disconnect()


@pytest.fixture
def adapter_path(tmp_path: Path) -> Path:
    """A single `.safetensors` LoRA file with its `adapter_config.json` beside it."""
    from safetensors.numpy import save_file

    folder = tmp_path / "trained"
    folder.mkdir()
    write_config(folder)
    path = folder / "adapter.safetensors"
    save_file(lora_tensors(), str(path), metadata={"format": "pt"})
    return path


async def test_connection_default_and_custom_base_url(ollama_double: OllamaDouble) -> None:
    connector = OllamaConnector()
    assert await connector.connect({"base_url": ollama_double.url}) is True
    assert await connector.verify_connection()
    await connector.disconnect()


async def test_connect_to_a_stopped_ollama_raises_connection_error(
    ollama_double: OllamaDouble,
) -> None:
    ollama_double.faults.refuse_connections()
    connector = OllamaConnector()
    with pytest.raises(ConnectionError) as caught:
        await connector.connect({"base_url": ollama_double.url})
    assert ollama_double.url in str(caught.value)
    assert "ollama serve" in str(caught.value)


async def test_list_models(connector: OllamaConnector) -> None:
    models = await connector.list_models()
    lines = [
        f"Name: {model.name}\nSize: {model.size / (1024**3):.2f} GB\n"
        f"Modified: {model.modified_at}\nFormat: {model.details.get('format', 'unknown')}"
        for model in models
    ]
    assert any(line.startswith("Name: llama2:7b\n") for line in lines)
    assert all(line.endswith("Format: gguf") for line in lines)


async def test_get_model_metadata(connector: OllamaConnector) -> None:
    metadata = await connector.get_model_metadata("llama2:7b")
    assert metadata
    assert metadata.name == "llama2:7b"
    assert len(metadata.digest) == 64
    assert metadata.size > 0
    assert metadata.details["family"] == "llama"
    assert await connector.get_model_metadata("not-installed") is None


def test_generate_modelfile_matches_the_seed_byte_for_byte() -> None:
    connector = OllamaConnector()
    assert connector.generate_modelfile(base_model="llama2:7b") == "FROM llama2:7b"
    assert connector.generate_modelfile(
        base_model="llama2:7b", adapter_path="/path/to/adapter.safetensors"
    ) == ("FROM llama2:7b\n\nADAPTER /path/to/adapter.safetensors")
    modelfile = connector.generate_modelfile(
        base_model="llama2:7b",
        adapter_path="/path/to/adapter.safetensors",
        system_prompt="You are a helpful coding assistant.",
        template="{{ .System }}\n\nUser: {{ .Prompt }}\nAssistant:",
        parameters={"temperature": 0.7, "top_p": 0.9, "top_k": 40, "num_ctx": 4096},
    )
    assert modelfile == SEED_MODELFILE
    if SEED.exists():  # the document itself, when shared/ is beside the project
        assert f"```\n{SEED_MODELFILE}\n```" in SEED.read_text()


async def test_create_custom_model(connector: OllamaConnector) -> None:
    modelfile = connector.generate_modelfile(
        base_model="llama2:7b", system_prompt="You are a helpful assistant."
    )
    await connector.create_model(name="my-custom-model", modelfile=modelfile, stream=True)
    models = await connector.list_models()
    assert any(m.name == "my-custom-model" for m in models)
    metadata = await connector.get_model_metadata("my-custom-model")
    assert metadata is not None
    assert metadata.system == "You are a helpful assistant."


async def test_package_and_upload_adapter(
    connector: OllamaConnector, ollama_double: OllamaDouble, adapter_path: Path
) -> None:
    metadata = {
        "name": "my-finetuned-llama",
        "base_model": "llama2:7b",
        "system_prompt": "You are a helpful assistant specialized in Python.",
        "parameters": {"temperature": 0.7, "top_p": 0.9},
        "push": False,
    }
    model_name = await connector.upload_artifact(path=str(adapter_path), metadata=metadata)
    assert model_name == "my-finetuned-llama"
    manifest = ollama_double.models_dir / "manifests/registry.ollama.ai/library"
    layers = json.loads((manifest / "my-finetuned-llama/latest").read_text())["layers"]
    assert "application/vnd.ollama.image.adapter" in [layer["mediaType"] for layer in layers]
    answer = await connector.generate(model=model_name, prompt="Your prompt here")
    assert answer


async def test_push_model(connector: OllamaConnector) -> None:
    modelfile = connector.generate_modelfile(base_model="llama2:7b")
    await connector.create_model("username/my-custom-model", modelfile)
    last = await connector.push_model(name="username/my-custom-model", stream=True)
    assert last.status == "success"


async def test_generate_text(connector: OllamaConnector) -> None:
    response = await connector.generate(
        model="llama2:7b",
        prompt="Explain quantum computing in simple terms.",
        stream=False,
        options={"temperature": 0.7, "top_p": 0.9},
    )
    pieces: list[str] = []

    async def on_token(piece: str) -> None:
        pieces.append(piece)

    streamed = await connector.generate(
        model="llama2:7b",
        prompt="Explain quantum computing in simple terms.",
        stream=True,
        on_token=on_token,
    )
    assert response and streamed == response == "".join(pieces)
    assert len(pieces) > 1


async def test_delete_model(connector: OllamaConnector) -> None:
    await connector.create_model("my-custom-model", "FROM llama2:7b")
    await connector.delete_model("my-custom-model")
    assert not any(m.name == "my-custom-model" for m in await connector.list_models())
    with pytest.raises(ModelNotFound):
        await connector.delete_model("my-custom-model")


async def test_caching(connector: OllamaConnector, ollama_double: OllamaDouble) -> None:
    await connector.get_model_metadata("llama2:7b", use_cache=True)
    shows = ollama_double.requests.count("POST", "/api/show")
    cached = await connector.get_model_metadata("llama2:7b", use_cache=True)
    assert ollama_double.requests.count("POST", "/api/show") == shows
    assert cached is not None and cached.source == "cache"
    fresh = await connector.get_model_metadata("llama2:7b", use_cache=False)
    assert ollama_double.requests.count("POST", "/api/show") == shows + 1
    assert fresh is not None and fresh.source == "live"
    connector._cache.clear()
    await connector.get_model_metadata("llama2:7b")
    assert ollama_double.requests.count("POST", "/api/show") == shows + 2


async def test_error_handling(connector: OllamaConnector, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        await connector.create_model("my-model", "FROM model-nobody-has-in-the-registry")
    with pytest.raises(FileNotFoundError):
        await connector.upload_artifact(
            str(tmp_path / "missing.safetensors"), {"name": "x", "base_model": "llama2:7b"}
        )
    with pytest.raises(ValueError, match="'base_model'"):
        await connector.upload_artifact(str(tmp_path), {"name": "x"})


async def test_upload_artifact_takes_quantize_for_the_base(
    connector: OllamaConnector, ollama_double: OllamaDouble, adapter_path: Path
) -> None:
    """Modern Ollama quantizes the base's weights on create; the seed's metadata takes it too."""
    ollama_double.catalogue.put(
        Recipe("llama2:7b-fp16", "llama", "6.7B", embedding_length=HIDDEN, file_type=1)
    )
    await connector.pull_model(name="llama2:7b-fp16", stream=True)
    metadata = {"name": "small-ft", "base_model": "llama2:7b-fp16", "quantize": "q4_K_M"}
    assert await connector.upload_artifact(adapter_path, metadata) == "small-ft"
    shown = await connector.get_model_metadata("small-ft", use_cache=False)
    assert shown is not None and shown.details["quantization_level"] == "Q4_K_M"


async def test_upload_artifact_refuses_quantize_on_a_quantized_base(
    connector: OllamaConnector, ollama_double: OllamaDouble, adapter_path: Path
) -> None:
    metadata = {"name": "small-ft", "base_model": "llama2:7b", "quantize": "q8_0"}
    with pytest.raises(NotQuantizable) as caught:
        await connector.upload_artifact(adapter_path, metadata)
    assert str(caught.value).startswith(
        "quantization is only supported for F16, BF16 and F32 models: base model 'llama2:7b' is "
        "Q4_K_M, and Ollama never quantizes the adapter itself"
    )
    assert ollama_double.requests.count("POST", "/api/create") == 0
    with pytest.raises(InvalidMetadata) as wrong:
        await connector.upload_artifact(adapter_path, {**metadata, "quantize": 4})
    assert (
        str(wrong.value) == "invalid metadata: 'quantize' must be a string such as 'q4_K_M', not 4"
    )
