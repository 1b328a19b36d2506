"""What package_adapter refuses or accepts before anything reaches Ollama: every file sent is
checked, a :cloud base is refused, a base name stays a name, and the Modelfile has a size bound."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from tests.adapter_factories import write_peft_dir
from tests.ollama_double import OllamaDouble
from tools.api.client import OllamaClient
from tools.errors import AdapterBaseMismatch, InvalidAdapter
from tools.local.path_gate import AllowedRoots
from tools.packaging.adapter import package_adapter
from tools.packaging.blobs import DigestCache
from tools.packaging.create import MAX_MODELFILE_BYTES, create_model

LLAMA_HIDDEN = 3072


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
def cache(tmp_path: Path) -> DigestCache:
    return DigestCache(tmp_path / "cache")


def nothing_sent(double: OllamaDouble) -> bool:
    return (
        double.requests.count_prefix("POST", "/api/blobs/") == 0
        and double.requests.count("POST", "/api/create") == 0
    )


# --- item 5: every file that is sent is checked -----------------------------------------------


async def test_an_unconvertible_safetensors_file_beside_the_adapter_is_refused(
    ollama_double: OllamaDouble, client: OllamaClient, work: Path, cache: DigestCache
) -> None:
    adapter = write_peft_dir(work / "adapter", hidden=LLAMA_HIDDEN)
    save_file({"w": np.zeros((2, 2), dtype=np.float64)}, str(adapter / "model.safetensors"))
    with pytest.raises(InvalidAdapter) as caught:
        await package_adapter(
            client, adapter, "tuned", "llama3.2", readable=AllowedRoots([work]),
            digest_cache=cache,
        )  # fmt: skip
    assert str(caught.value) == (
        f"{adapter}: model.safetensors: tensor 'w' has dtype F64; Ollama converts only F32, F16 "
        "and BF16 adapter tensors, and it sends every .safetensors file of an adapter folder to "
        "its converter; move model.safetensors out of the folder"
    )
    assert nothing_sent(ollama_double)


async def test_another_convertible_safetensors_file_is_sent_and_reported(
    ollama_double: OllamaDouble, client: OllamaClient, work: Path, cache: DigestCache
) -> None:
    adapter = write_peft_dir(work / "adapter", hidden=LLAMA_HIDDEN)
    save_file({"w": np.zeros((2, 2), dtype=np.float16)}, str(adapter / "extra.safetensors"))
    report = await package_adapter(
        client, adapter, "tuned", "llama3.2", readable=AllowedRoots([work]), digest_cache=cache
    )
    assert sorted(f.key for f in report.files) == [
        "adapter_config.json",
        "adapter_model.safetensors",
        "extra.safetensors",
    ]
    assert (
        "the adapter folder also holds extra.safetensors; Ollama converts every .safetensors "
        "file of the folder as part of the adapter" in report.warnings
    )


# --- item 6: a :cloud base ----------------------------------------------------------------------


@pytest.mark.parametrize("base", ["llama3.2:cloud", "llama3.2:8b-cloud"])
async def test_a_cloud_base_is_refused(
    ollama_double: OllamaDouble,
    client: OllamaClient,
    work: Path,
    cache: DigestCache,
    base: str,
) -> None:
    adapter = write_peft_dir(work / "adapter", hidden=LLAMA_HIDDEN)
    with pytest.raises(AdapterBaseMismatch) as caught:
        await package_adapter(
            client, adapter, "tuned", base, readable=AllowedRoots([work]), digest_cache=cache
        )
    assert str(caught.value) == (
        f"base model {base!r} runs on ollama.com: for a cloud base Ollama makes a remote stub "
        "and ignores the adapter; use a local base (the name without :cloud or -cloud)"
    )
    assert nothing_sent(ollama_double)


async def test_a_modelfile_with_an_adapter_on_a_cloud_base_is_refused(
    ollama_double: OllamaDouble, client: OllamaClient, work: Path, cache: DigestCache
) -> None:
    write_peft_dir(work / "adapter", hidden=LLAMA_HIDDEN)
    with pytest.raises(AdapterBaseMismatch, match=r"runs on ollama\.com"):
        await create_model(
            client, "tuned", modelfile="FROM llama3.2:cloud\nADAPTER adapter\n", base_dir=work,
            readable=AllowedRoots([work]), digest_cache=cache,
        )  # fmt: skip
    assert nothing_sent(ollama_double)


# --- item 9: an adapter folder named like its base ----------------------------------------------


async def test_an_adapter_folder_named_like_its_base_packages(
    ollama_double: OllamaDouble, client: OllamaClient, work: Path, cache: DigestCache
) -> None:
    adapter = write_peft_dir(work / "llama3.2", hidden=LLAMA_HIDDEN)
    report = await package_adapter(
        client, adapter, "tuned", "llama3.2", readable=AllowedRoots([work]), digest_cache=cache
    )
    assert report.base_model == "llama3.2:latest"
    assert ollama_double.requests.last_body("/api/create")["from"] == "llama3.2"


# --- also: the Modelfile is bounded -------------------------------------------------------------


async def test_a_huge_system_prompt_is_refused_before_rendering(
    ollama_double: OllamaDouble, client: OllamaClient, work: Path, cache: DigestCache
) -> None:
    adapter = write_peft_dir(work / "adapter", hidden=LLAMA_HIDDEN)
    prompt = "x" * (2 << 20)
    with pytest.raises(ValueError) as caught:
        await package_adapter(
            client, adapter, "tuned", "llama3.2", system_prompt=prompt,
            readable=AllowedRoots([work]), digest_cache=cache,
        )  # fmt: skip
    assert str(caught.value) == (
        f"system_prompt, template, parameters, messages and license add up to {2 << 20} bytes; "
        f"a Modelfile holds at most {MAX_MODELFILE_BYTES} bytes (1 MiB): shorten them"
    )
    assert nothing_sent(ollama_double)
