"""The offline reader of Ollama's model folder opens manifests, configs and text layers as
regular files only: non-blocking (a FIFO never hangs it), never a device, and with a size cap."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.catalog.test_store import LIBRARY, Folder
from tools.catalog.store import MAX_MANIFEST_BYTES, ModelStore


@pytest.fixture
def folder(tmp_path: Path) -> Folder:
    return Folder(tmp_path / "models")


def a_model(folder: Folder, name: str) -> Path:
    config = folder.config(model_family=name)  # a config blob of its own
    return folder.manifest((*LIBRARY, name, "latest"), config, [folder.layer("model", b"x")])


def within_bounds(work: Callable[[], list[str]], fifos: list[Path]) -> list[str]:
    """Run `work` in a thread; if it hangs on a FIFO, release it (open, close a writer) and fail.
    The wait is a bound on a failure, not a delay: a passing run never waits."""
    result: list[list[str]] = []
    done = threading.Event()

    def run() -> None:
        result.append(work())
        done.set()

    threading.Thread(target=run, daemon=True).start()
    if not done.wait(10):
        for fifo in fifos:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        done.wait(10)
        pytest.fail("the reader blocked opening a FIFO")
    return result[0]


def listed(folder: Folder) -> list[str]:
    return [m.name for m in ModelStore(folder.root).list_models_sync()]


def test_a_fifo_as_a_manifest_is_left_out_without_blocking(folder: Folder) -> None:
    a_model(folder, "kept")
    fifo = folder.root / "manifests" / Path(*LIBRARY) / "piped" / "latest"
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo)
    assert within_bounds(lambda: listed(folder), [fifo]) == ["kept:latest"]


def test_a_fifo_as_a_config_blob_is_left_out_without_blocking(folder: Folder) -> None:
    a_model(folder, "kept")
    manifest = a_model(folder, "piped")
    config = json.loads(manifest.read_bytes())["config"]["digest"]
    blob = folder.root / "blobs" / config.replace(":", "-")
    blob.unlink()
    os.mkfifo(blob)
    assert within_bounds(lambda: listed(folder), [blob]) == ["kept:latest"]


async def test_a_fifo_as_a_system_layer_does_not_block_show(folder: Folder) -> None:
    config = folder.config(model_family="llama")
    system = folder.layer("system", b"be brief")
    folder.manifest((*LIBRARY, "piped", "latest"), config, [folder.layer("model", b"x"), system])
    blob = folder.root / "blobs" / system["digest"].replace(":", "-")
    blob.unlink()
    os.mkfifo(blob)
    store = ModelStore(folder.root)
    shown = within_bounds(lambda: [store.show_sync("piped").system], [blob])  # type: ignore[union-attr]
    assert shown == [""]


def test_a_manifest_symlinked_to_dev_zero_is_left_out(folder: Folder) -> None:
    a_model(folder, "kept")
    link = folder.root / "manifests" / Path(*LIBRARY) / "zero" / "latest"
    link.parent.mkdir(parents=True)
    link.symlink_to("/dev/zero")
    assert listed(folder) == ["kept:latest"]
    assert ModelStore(folder.root).show_sync("zero") is None


def test_a_config_blob_symlinked_to_dev_zero_is_left_out(folder: Folder) -> None:
    a_model(folder, "kept")
    manifest = a_model(folder, "zero")
    config = json.loads(manifest.read_bytes())["config"]["digest"]
    blob = folder.root / "blobs" / config.replace(":", "-")
    blob.unlink()
    blob.symlink_to("/dev/zero")
    assert listed(folder) == ["kept:latest"]


def test_a_manifest_over_the_size_cap_is_left_out(folder: Folder) -> None:
    a_model(folder, "kept")
    huge = a_model(folder, "huge")
    body = huge.read_bytes()
    huge.write_bytes(b" " * MAX_MANIFEST_BYTES + body)  # valid JSON, but no manifest is this big
    assert listed(folder) == ["kept:latest"]


def test_a_symlinked_models_folder_still_reads_its_gguf_fallbacks(
    folder: Folder, tmp_path: Path
) -> None:
    """The GGUF header is read through the folder's real path: a models folder that is itself
    a symlink (OLLAMA_MODELS on another disk) keeps its list fields."""
    config = folder.config(model_family="llama")
    model = folder.layer("model", folder.gguf_model(**{"llama.context_length": 4096}))
    folder.manifest((*LIBRARY, "linked", "latest"), config, [model])
    link = tmp_path / "link"
    link.symlink_to(folder.root, target_is_directory=True)
    (summary,) = ModelStore(link).list_models_sync()
    assert summary.details.context_length == 4096
