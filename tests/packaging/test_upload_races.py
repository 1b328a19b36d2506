"""A file or folder swapped between the path gate's check and the upload never sends an outside
byte: uploads read, through a descriptor, the very file the gate checked (same device and inode).
The swap is driven by the progress callbacks, at the exact moment between check and upload."""

from __future__ import annotations

import gc
import hashlib
import os
import warnings
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from tests.adapter_factories import adapter_config, write_gguf, write_peft_dir
from tests.ollama_double import OllamaDouble
from tools.api.client import OllamaClient
from tools.errors import NotARegularFile
from tools.local.path_gate import AllowedRoots
from tools.packaging.adapter import package_adapter
from tools.packaging.blobs import DigestCache
from tools.packaging.reports import PackagingPhase, PackagingProgress

TINYLLAMA_HIDDEN = 2048  # tinyllama's embedding length in the double's catalogue
LLAMA_HIDDEN = 3072


@pytest.fixture
async def client(ollama_double: OllamaDouble) -> AsyncIterator[OllamaClient]:
    async with OllamaClient(ollama_double.url, max_retries=0) as ollama:
        yield ollama


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    """(allowed folder, outside folder), both real paths."""
    work, outside = (tmp_path / "work").resolve(), (tmp_path / "outside").resolve()
    work.mkdir()
    outside.mkdir()
    return work, outside


def digests_of(folder: Path) -> set[str]:
    return {
        "sha256:" + hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.iterdir()
        if p.is_file()
    }


def assert_no_outside_byte_reached(double: OllamaDouble, outside: set[str]) -> None:
    """Neither a blob in the double's store nor any blob request names an outside file."""
    blobs = double.models_dir / "blobs"
    stored = {"sha256:" + p.name[7:] for p in blobs.iterdir() if p.name.startswith("sha256-")}
    assert stored.isdisjoint(outside)
    for entry in double.requests.entries():
        assert not any(digest in str(entry) for digest in outside)


async def test_an_adapter_folder_swapped_for_a_symlink_during_the_base_pull_sends_nothing(
    ollama_double: OllamaDouble, client: OllamaClient, roots: tuple[Path, Path], tmp_path: Path
) -> None:
    work, outside = roots
    adapter = write_peft_dir(work / "adapter", hidden=TINYLLAMA_HIDDEN, seed=1)
    secret = write_peft_dir(
        outside / "weights", hidden=TINYLLAMA_HIDDEN, seed=2, config=adapter_config(lora_alpha=7)
    )
    outside_digests = digests_of(secret)
    swapped = False

    async def swap_during_the_pull(event: PackagingProgress) -> None:
        nonlocal swapped
        if event.phase is PackagingPhase.PULLING_BASE and not swapped:
            swapped = True
            adapter.rename(work / "adapter-moved")
            adapter.symlink_to(secret, target_is_directory=True)

    with pytest.raises(NotARegularFile) as caught:
        await package_adapter(
            client, adapter, "swapped", "tinyllama", pull_base=True,
            readable=AllowedRoots([work]), digest_cache=DigestCache(tmp_path / "cache"),
            on_progress=swap_during_the_pull,
        )  # fmt: skip
    assert swapped
    assert str(caught.value).startswith(f"refusing to read '{adapter}/")
    assert "it changed after it was checked" in str(caught.value)
    assert ollama_double.requests.count_prefix("POST", "/api/blobs/") == 0
    assert ollama_double.requests.count("POST", "/api/create") == 0
    assert_no_outside_byte_reached(ollama_double, outside_digests)


async def test_an_adapter_folder_replaced_by_a_copy_of_outside_files_sends_nothing(
    ollama_double: OllamaDouble, client: OllamaClient, roots: tuple[Path, Path], tmp_path: Path
) -> None:
    """A real folder (no symlink) with other files at the checked path: other inodes."""
    work, outside = roots
    adapter = write_peft_dir(work / "adapter", hidden=TINYLLAMA_HIDDEN, seed=1)
    secret = write_peft_dir(
        outside / "weights", hidden=TINYLLAMA_HIDDEN, seed=2, config=adapter_config(lora_alpha=7)
    )

    async def swap_during_the_pull(event: PackagingProgress) -> None:
        if event.phase is PackagingPhase.PULLING_BASE and not (work / "adapter-moved").exists():
            adapter.rename(work / "adapter-moved")
            adapter.mkdir()
            for name in ("adapter_config.json", "adapter_model.safetensors"):
                (adapter / name).write_bytes((secret / name).read_bytes())

    with pytest.raises(NotARegularFile, match="it was replaced"):
        await package_adapter(
            client, adapter, "swapped", "tinyllama", pull_base=True,
            readable=AllowedRoots([work]), digest_cache=DigestCache(tmp_path / "cache"),
            on_progress=swap_during_the_pull,
        )  # fmt: skip
    assert ollama_double.requests.count_prefix("POST", "/api/blobs/") == 0


async def test_a_weights_file_swapped_after_a_digest_cache_hit_sends_nothing(
    ollama_double: OllamaDouble, client: OllamaClient, roots: tuple[Path, Path], tmp_path: Path
) -> None:
    """The cache knows the file, Ollama lacks the blob: the upload must not re-resolve the path."""
    work, outside = roots
    adapter = write_peft_dir(work / "adapter", hidden=LLAMA_HIDDEN, seed=1)
    weights = adapter / "adapter_model.safetensors"
    secret = outside / "secret.bin"
    secret.write_bytes(b"outside bytes, never to be sent " * 1000)
    weights_digest = "sha256:" + hashlib.sha256(weights.read_bytes()).hexdigest()
    cache = DigestCache(tmp_path / "cache")
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        await cache.digest(adapter / name, os.stat(adapter / name))  # the cache knows both
    swapped = False

    async def swap_after_the_cache_hit(event: PackagingProgress) -> None:
        nonlocal swapped
        if event.phase is PackagingPhase.HASHING and event.file == weights.name and not swapped:
            assert event.message.endswith("digest known from the cache")
            swapped = True
            weights.rename(adapter / "moved.bin")
            weights.symlink_to(secret)

    with pytest.raises(NotARegularFile) as caught:
        await package_adapter(
            client, adapter, "swapped", "llama3.2", readable=AllowedRoots([work]),
            digest_cache=cache, on_progress=swap_after_the_cache_hit, max_parallel_uploads=1,
        )  # fmt: skip
    assert swapped
    assert str(caught.value).startswith(f"refusing to read {str(weights)!r}: it is a symbolic link")
    assert_no_outside_byte_reached(ollama_double, digests_of(outside))
    # Only the config, sent before the swap, reached the double; the weights never did.
    assert ollama_double.requests.count("POST", f"/api/blobs/{weights_digest}") == 0


async def test_cancelling_an_upload_closes_the_file(
    ollama_double: OllamaDouble, client: OllamaClient, tmp_path: Path
) -> None:
    path = write_gguf(tmp_path / "big.gguf", hidden=LLAMA_HIDDEN, rank=128)
    digest = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with anyio.CancelScope() as scope:

            async def cancel_on_first_chunk(done: int, total: int) -> None:
                scope.cancel()

            await client.upload_blob(path, digest, on_progress=cancel_on_first_chunk)
        assert scope.cancelled_caught
        gc.collect()
    leaks = [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaks == []
