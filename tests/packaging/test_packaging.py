"""Adapters packaged and models created against the Ollama double, with real adapter files."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.adapter_factories import adapter_config, write_gguf, write_mlx_dir, write_peft_dir
from tests.ollama_double import OllamaDouble
from tools.api.client import OllamaClient
from tools.errors import (
    ALLOW_MORE_HINT,
    AdapterBaseMismatch,
    BaseModelNotInstalled,
    FileChangedDuringUpload,
    InvalidAdapter,
    InvalidArgument,
    InvalidModelName,
    NotARegularFile,
    OutsideAllowedRoots,
    PushFailed,
    StreamError,
    UnsupportedServer,
)
from tools.local.adapter_summary import AdapterLayout
from tools.local.path_gate import AllowedRoots
from tools.packaging.adapter import package_adapter
from tools.packaging.blobs import DigestCache
from tools.packaging.create import create_model
from tools.packaging.pipeline import upload_files
from tools.packaging.reports import PackagingPhase, PackagingProgress

LLAMA_HIDDEN = 3072  # the double's llama3.2:latest embedding length
GEMMA2_HIDDEN = 2304
ADAPTER_MEDIA_TYPE = "application/vnd.ollama.image.adapter"


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


@dataclass
class Recorder:
    events: list[PackagingProgress] = field(default_factory=list)

    async def __call__(self, event: PackagingProgress) -> None:
        self.events.append(event)

    def phases(self) -> list[PackagingPhase]:
        seen: list[PackagingPhase] = []
        for event in self.events:
            if not seen or seen[-1] != event.phase:
                seen.append(event.phase)
        return seen


@dataclass(frozen=True)
class StoreState:
    manifests: dict[str, bytes]
    blobs: frozenset[str]


def store_state(double: OllamaDouble) -> StoreState:
    manifests_dir = double.models_dir / "manifests"
    blobs_dir = double.models_dir / "blobs"
    manifests = {
        str(p.relative_to(manifests_dir)): p.read_bytes()
        for p in manifests_dir.rglob("*")
        if p.is_file()
    }
    # An aborted upload's temp file (sha256-<random digits>) lingers until the double, like
    # Ollama, notices the client left; a test that cancels waits for that and checks it is gone.
    blobs = frozenset(p.name for p in blobs_dir.iterdir() if _is_digest_name(p.name))
    return StoreState(manifests, blobs)


def assert_blobs_are_honest(double: OllamaDouble) -> None:
    """Every blob sits under its own digest: nothing was stored under a wrong name."""
    for blob in (double.models_dir / "blobs").iterdir():
        if not _is_digest_name(blob.name):
            continue  # a transient upload file, see store_state
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name[7:]


def _is_digest_name(name: str) -> bool:
    return name.startswith("sha256-") and len(name) == 7 + 64


def manifest(double: OllamaDouble, model: str, tag: str = "latest") -> dict[str, Any]:
    path = double.models_dir / "manifests" / "registry.ollama.ai" / "library" / model / tag
    data: dict[str, Any] = json.loads(path.read_bytes())
    return data


def adapter_layers(double: OllamaDouble, model: str) -> list[dict[str, Any]]:
    return [
        layer
        for layer in manifest(double, model)["layers"]
        if layer["mediaType"] == ADAPTER_MEDIA_TYPE
    ]


# --- every accepted layout packages ---------------------------------------------------------


def _peft(work: Path) -> Path:
    return write_peft_dir(work / "peft", hidden=LLAMA_HIDDEN)


def _single_file(work: Path) -> Path:
    return write_peft_dir(work / "single", hidden=LLAMA_HIDDEN) / "adapter_model.safetensors"


def _mlx(work: Path) -> Path:
    return write_mlx_dir(work / "mlx", hidden=LLAMA_HIDDEN)


def _gguf(work: Path) -> Path:
    return write_gguf(work / "lora.gguf", hidden=LLAMA_HIDDEN)


@pytest.mark.parametrize(
    ("make", "layout"),
    [
        (_peft, AdapterLayout.PEFT_DIRECTORY),
        (_single_file, AdapterLayout.SAFETENSORS_FILE),
        (_mlx, AdapterLayout.PEFT_DIRECTORY),
        (_gguf, AdapterLayout.GGUF_FILE),
    ],
)
async def test_every_layout_packages_into_a_model_with_an_adapter_layer(
    ollama_double: OllamaDouble,
    client: OllamaClient,
    work: Path,
    gate: AllowedRoots,
    cache: DigestCache,
    make: Callable[[Path], Path],
    layout: AdapterLayout,
) -> None:
    adapter = make(work)
    report = await package_adapter(
        client,
        adapter,
        "my-adapter",
        "llama3.2",
        system_prompt="You answer in French.",
        parameters={"temperature": 0.3, "stop": ["<|eot_id|>"]},
        readable=gate,
        digest_cache=cache,
    )
    assert report.adapter.layout is layout
    assert report.model == "my-adapter:latest"
    assert report.base_model == "llama3.2:latest" and report.base_architecture == "llama"
    assert report.statuses[-1] == "success" and "writing manifest" in report.statuses
    listed = {m.name: m.digest for m in (await client.list()).models}
    assert listed["my-adapter:latest"] == report.digest
    layers = adapter_layers(ollama_double, "my-adapter")
    assert len(layers) == 1
    assert report.bytes_uploaded == sum(f.size for f in report.files) > 0
    assert report.bytes_skipped == 0 and report.files_hashed == len(report.files)
    assert report.modelfile == (
        f'FROM llama3.2\n\nADAPTER {adapter}\n\nSYSTEM """You answer in French."""\n\n'
        "PARAMETER temperature 0.3\nPARAMETER stop <|eot_id|>"
    )
    shown = await client.show("my-adapter")
    assert shown.system == "You answer in French."
    assert_blobs_are_honest(ollama_double)


async def test_a_peft_adapter_packages_on_a_gemma2_base(
    ollama_double: OllamaDouble,
    client: OllamaClient,
    work: Path,
    gate: AllowedRoots,
    cache: DigestCache,
) -> None:
    adapter = write_peft_dir(
        work / "gemma",
        hidden=GEMMA2_HIDDEN,
        config=adapter_config(base_model_name_or_path="google/gemma-2-2b"),
    )
    report = await package_adapter(
        client, adapter, "gemma-tuned", "gemma2:2b", readable=gate, digest_cache=cache
    )
    assert report.base_architecture == "gemma2" and report.warnings == []
    assert len(adapter_layers(ollama_double, "gemma-tuned")) == 1


async def test_the_report_modelfile_recreates_the_same_model(
    ollama_double: OllamaDouble,
    client: OllamaClient,
    work: Path,
    gate: AllowedRoots,
    cache: DigestCache,
) -> None:
    report = await package_adapter(
        client,
        _peft(work),
        "first",
        "llama3.2",
        system_prompt="x",
        readable=gate,
        digest_cache=cache,
    )
    again = await create_model(
        client, "second", modelfile=report.modelfile, readable=gate, digest_cache=cache
    )
    assert again.bytes_uploaded == 0 and again.files_hashed == 0
    assert manifest(ollama_double, "first")["layers"] == manifest(ollama_double, "second")["layers"]


# --- hashing and uploading once -------------------------------------------------------------


async def test_a_second_packaging_uploads_nothing_and_hashes_nothing(
    ollama_double: OllamaDouble,
    client: OllamaClient,
    work: Path,
    gate: AllowedRoots,
    tmp_path: Path,
) -> None:
    adapter = _peft(work)
    first_cache = DigestCache(tmp_path / "cache")
    first = await package_adapter(
        client, adapter, "one", "llama3.2", readable=gate, digest_cache=first_cache
    )
    assert first.files_hashed == 2 and first.digest_cache_hits == 0
    posts = ollama_double.requests.count_prefix("POST", "/api/blobs/")
    assert posts == 2
    first_cache.close()

    # A new cache object on the same folder: as after a restart of the server.
    second_cache = DigestCache(tmp_path / "cache")
    second = await package_adapter(
        client, adapter, "two", "llama3.2", readable=gate, digest_cache=second_cache
    )
    assert ollama_double.requests.count_prefix("POST", "/api/blobs/") == posts
    assert (second.bytes_uploaded, second.files_hashed, second.digest_cache_hits) == (0, 0, 2)
    assert second.bytes_skipped == first.bytes_uploaded
    assert (second_cache.hashed, second_cache.hits) == (0, 2)
    assert all(not f.uploaded and not f.hashed for f in second.files)


async def test_progress_runs_through_the_phases_and_only_grows(
    client: OllamaClient, work: Path, gate: AllowedRoots, cache: DigestCache
) -> None:
    recorder = Recorder()
    await package_adapter(
        client, _peft(work), "progress", "llama3.2", readable=gate, digest_cache=cache,
        on_progress=recorder,
    )  # fmt: skip
    phases = recorder.phases()
    # Files are pipelined: one may upload while another is still hashed, so the middle interleaves.
    assert phases[0] is PackagingPhase.CHECKING and phases[-1] is PackagingPhase.CREATING
    assert set(phases[1:-1]) == {PackagingPhase.HASHING, PackagingPhase.UPLOADING}
    for key in ("adapter_config.json", "adapter_model.safetensors"):
        mine = [e.phase for e in recorder.events if e.file == key]
        assert mine == sorted(mine, key=[PackagingPhase.HASHING, PackagingPhase.UPLOADING].index)
    for phase in (PackagingPhase.HASHING, PackagingPhase.UPLOADING):
        done = [e.completed for e in recorder.events if e.phase is phase]
        totals = {e.total for e in recorder.events if e.phase is phase}
        assert done == sorted(done) and len(totals) == 1 and done[-1] == totals.pop()
    assert recorder.events[-1].message == "success"


# --- refusals, each before anything reaches Ollama ------------------------------------------


@dataclass
class Refusal:
    kwargs: dict[str, Any]
    error: type[BaseException]
    message: str


def _outside(work: Path, tmp: Path) -> Refusal:
    adapter = write_peft_dir(tmp / "elsewhere" / "peft", hidden=LLAMA_HIDDEN)
    return Refusal(
        {"path": adapter},
        OutsideAllowedRoots,
        f"refusing to read {str(adapter)!r}: it is outside the allowed folders: {work}; "
        + ALLOW_MORE_HINT,
    )


def _symlink_escape(work: Path, tmp: Path) -> Refusal:
    real = write_peft_dir(tmp / "elsewhere" / "peft", hidden=LLAMA_HIDDEN)
    link = work / "adapter"
    link.symlink_to(real, target_is_directory=True)
    return Refusal(
        {"path": link},
        OutsideAllowedRoots,
        f"refusing to read {str(link)!r}: it is outside the allowed folders "
        f"(it resolves to {str(real)!r}): {work}; {ALLOW_MORE_HINT}",
    )


def _dev_zero(work: Path, tmp: Path) -> Refusal:
    return Refusal(
        {"path": "/dev/zero", "readable": AllowedRoots([work, "/dev"])},
        NotARegularFile,
        "refusing to read '/dev/zero': it is a character device, not a regular file; "
        "only regular files are read",
    )


def _fifo(work: Path, tmp: Path) -> Refusal:
    fifo = work / "adapter.gguf"
    os.mkfifo(fifo)
    return Refusal(
        {"path": fifo},
        NotARegularFile,
        f"refusing to read {str(fifo)!r}: it is a FIFO (named pipe), not a regular file; "
        "only regular files are read",
    )


def _no_config(work: Path, tmp: Path) -> Refusal:
    adapter = _peft(work)
    (adapter / "adapter_config.json").unlink()
    return Refusal(
        {"path": adapter},
        InvalidAdapter,
        f"{adapter}: the directory has no adapter_config.json; a PEFT LoRA adapter directory "
        "holds adapter_config.json and adapter_model.safetensors (written by PEFT's "
        "save_pretrained)",
    )


def _gguf_model(work: Path, tmp: Path) -> Refusal:
    model = write_gguf(work / "model.gguf", kind="model", adapter_type=None, hidden=LLAMA_HIDDEN)
    return Refusal(
        {"path": model},
        InvalidAdapter,
        f"{model}: this GGUF is a model, not an adapter (general.type is 'model')",
    )


def _float_alpha(work: Path, tmp: Path) -> Refusal:
    adapter = write_peft_dir(
        work / "peft", hidden=LLAMA_HIDDEN, config=adapter_config(lora_alpha=32.0)
    )
    return Refusal(
        {"path": adapter},
        InvalidAdapter,
        f"{adapter / 'adapter_config.json'}: lora_alpha is 32.0, written with a decimal point; "
        "Ollama reads lora_alpha as an unsigned integer and rejects it (json: cannot unmarshal "
        "number 32.0 into uint32); write 32 instead",
    )


def _qwen_base(work: Path, tmp: Path) -> Refusal:
    return Refusal(
        {"path": _peft(work), "base_model": "qwen3"},
        AdapterBaseMismatch,
        "base model 'qwen3:latest' has architecture 'qwen3'; Ollama converts safetensors LoRA "
        "adapters only onto 'llama' or 'gemma2' bases; pick such a base, or convert the adapter "
        "to GGUF first (llama.cpp convert_lora_to_gguf.py)",
    )


def _embedding_base(work: Path, tmp: Path) -> Refusal:
    return Refusal(
        {"path": _peft(work), "base_model": "all-minilm"},
        AdapterBaseMismatch,
        "base model 'all-minilm:latest' cannot generate text (capabilities: embedding); "
        "a LoRA adapter needs a completion model",
    )


def _gguf_arch(work: Path, tmp: Path) -> Refusal:
    return Refusal(
        {"path": write_gguf(work / "qwen.gguf", arch="qwen3"), "base_model": "llama3.2"},
        AdapterBaseMismatch,
        "the GGUF adapter was made for architecture 'qwen3' but base model 'llama3.2:latest' "
        "is 'llama'",
    )


def _bad_name(work: Path, tmp: Path) -> Refusal:
    return Refusal(
        {"path": _peft(work), "name": "my adapter"},
        InvalidModelName,
        "invalid model name 'my adapter': the model 'my adapter' contains ' '; only letters, "
        "digits, '_' and '-.' are allowed; use [host/][namespace/]model[:tag], e.g. llama3.2 "
        "or me/my-model:v1",
    )


def _missing_base(work: Path, tmp: Path) -> Refusal:
    return Refusal(
        {"path": _peft(work), "base_model": "llama9"},
        BaseModelNotInstalled,
        "Ollama error (HTTP 404): base model 'llama9:latest' is not installed; pull it first "
        "(`ollama pull llama9:latest`) or pass pull_base=True",
    )


def _push_without_namespace(work: Path, tmp: Path) -> Refusal:
    return Refusal(
        {"path": _peft(work), "push": True},
        ValueError,
        "cannot push 'my-adapter:latest': a pushed model needs your ollama.com namespace, "
        "e.g. 'you/my-model:latest' (namespace/model[:tag])",
    )


def _missing_path(work: Path, tmp: Path) -> Refusal:
    missing = work / "nope"
    return Refusal(
        {"path": missing},
        FileNotFoundError,
        f"[Errno 2] No such file or directory: {str(missing)!r}",
    )


@pytest.mark.parametrize(
    "case",
    [
        _outside,
        _symlink_escape,
        _dev_zero,
        _fifo,
        _no_config,
        _gguf_model,
        _float_alpha,
        _qwen_base,
        _embedding_base,
        _gguf_arch,
        _bad_name,
        _missing_base,
        _push_without_namespace,
        _missing_path,
    ],
)
async def test_refusals_name_the_problem_and_leave_the_store_unchanged(
    ollama_double: OllamaDouble,
    client: OllamaClient,
    work: Path,
    gate: AllowedRoots,
    cache: DigestCache,
    tmp_path: Path,
    case: Callable[[Path, Path], Refusal],
) -> None:
    refusal = case(work, tmp_path)
    kwargs: dict[str, Any] = {"name": "my-adapter", "base_model": "llama3.2", "readable": gate}
    kwargs.update(refusal.kwargs)
    before = store_state(ollama_double)
    with pytest.raises(refusal.error) as caught:
        await package_adapter(client, digest_cache=cache, **kwargs)
    assert str(caught.value) == refusal.message
    assert store_state(ollama_double) == before
    assert ollama_double.requests.count_prefix("POST", "/api/blobs/") == 0
    assert ollama_double.requests.count("POST", "/api/create") == 0
    assert cache.hashed == 0


async def test_refusals_keep_the_seed_error_contract(
    client: OllamaClient, work: Path, gate: AllowedRoots, cache: DigestCache
) -> None:
    """The seed catches FileNotFoundError and ValueError around upload_artifact."""
    with pytest.raises(ValueError):
        await package_adapter(client, _peft(work), "x", "llama9", readable=gate, digest_cache=cache)
    with pytest.raises(ValueError):
        await package_adapter(client, _peft(work), "x", "qwen3", readable=gate, digest_cache=cache)


# --- the base model -------------------------------------------------------------------------


async def test_a_missing_base_is_pulled_when_asked(
    ollama_double: OllamaDouble,
    client: OllamaClient,
    work: Path,
    gate: AllowedRoots,
    cache: DigestCache,
) -> None:
    adapter = write_peft_dir(work / "tiny", hidden=2048)  # tinyllama's embedding length
    recorder = Recorder()
    report = await package_adapter(
        client, adapter, "tiny-tuned", "tinyllama", pull_base=True, readable=gate,
        digest_cache=cache, on_progress=recorder,
    )  # fmt: skip
    assert report.base_pulled and report.base_model == "tinyllama:latest"
    assert PackagingPhase.PULLING_BASE in recorder.phases()
    assert "tinyllama:latest" in ollama_double.installed_names()
    assert len(adapter_layers(ollama_double, "tiny-tuned")) == 1


# --- legacy servers -------------------------------------------------------------------------


async def test_a_server_older_than_0_5_5_is_named_and_nothing_is_uploaded(
    ollama_double: OllamaDouble,
    client: OllamaClient,
    work: Path,
    gate: AllowedRoots,
    cache: DigestCache,
) -> None:
    ollama_double.faults.legacy = True
    with pytest.raises(UnsupportedServer) as caught:
        await package_adapter(
            client, _peft(work), "old", "llama3.2", readable=gate, digest_cache=cache
        )
    assert str(caught.value) == (
        "Ollama error (HTTP 400): Ollama 0.5.4 is too old for creating models from uploaded "
        "files (the JSON create request); upgrade Ollama to 0.5.5 or newer"
    )
    assert ollama_double.requests.count_prefix("POST", "/api/blobs/") == 0


async def test_a_legacy_answer_to_the_create_itself_is_recognised(
    ollama_double: OllamaDouble, client: OllamaClient, cache: DigestCache
) -> None:
    """A server whose version looks new but that answers like 0.5.4 (a proxy, a custom build)."""
    ollama_double.faults.legacy = True
    ollama_double.faults.version = "0.6.0"
    with pytest.raises(
        UnsupportedServer, match=r"path or Modelfile are required.*0\.5\.5 or newer"
    ):
        await create_model(client, "m", modelfile="FROM llama3.2\nSYSTEM hi", digest_cache=cache)


# --- cancelling and changing files ----------------------------------------------------------


def _big_gguf(work: Path) -> Path:
    """About 6 MiB, so the client's 1 MiB upload chunks give several progress events."""
    return write_gguf(work / "big.gguf", hidden=LLAMA_HIDDEN, rank=128)


async def test_cancelling_mid_upload_leaves_no_blob_and_no_model(
    ollama_double: OllamaDouble,
    client: OllamaClient,
    work: Path,
    gate: AllowedRoots,
    cache: DigestCache,
) -> None:
    adapter = _big_gguf(work)
    before = store_state(ollama_double)
    with anyio.CancelScope() as scope:

        async def cancel_on_first_upload_event(event: PackagingProgress) -> None:
            if event.phase is PackagingPhase.UPLOADING:
                assert event.completed is not None and event.total is not None
                assert event.completed < event.total
                scope.cancel()

        await package_adapter(
            client, adapter, "cancelled", "llama3.2", readable=gate, digest_cache=cache,
            on_progress=cancel_on_first_upload_event,
        )  # fmt: skip
    assert scope.cancelled_caught
    # The double, like Ollama, deletes the half-written upload once it sees the client leave.
    assert await ollama_double.requests.wait_disconnect_async(5)
    blobs = (ollama_double.models_dir / "blobs").iterdir()
    assert [p.name for p in blobs if not _is_digest_name(p.name)] == []
    digest = "sha256-" + hashlib.sha256(adapter.read_bytes()).hexdigest()
    assert not (ollama_double.models_dir / "blobs" / digest).exists()
    assert store_state(ollama_double) == before
    assert_blobs_are_honest(ollama_double)
    assert ollama_double.requests.count("POST", "/api/create") == 0

    # Nothing is left half-done: the next attempt hashes nothing (cached) and uploads it all.
    report = await package_adapter(
        client, adapter, "cancelled", "llama3.2", readable=gate, digest_cache=cache
    )
    assert report.files_hashed == 0 and report.bytes_uploaded == adapter.stat().st_size


async def test_a_file_changed_during_upload_is_reported(
    ollama_double: OllamaDouble,
    client: OllamaClient,
    work: Path,
    gate: AllowedRoots,
    cache: DigestCache,
) -> None:
    adapter = _big_gguf(work)
    size = adapter.stat().st_size

    async def overwrite_the_tail(event: PackagingProgress) -> None:
        if event.phase is PackagingPhase.UPLOADING and event.completed == 1 << 20:
            with adapter.open("r+b") as f:
                f.seek(size - 16)
                f.write(b"\xff" * 16)

    with pytest.raises(FileChangedDuringUpload) as caught:
        await package_adapter(
            client, adapter, "changed", "llama3.2", readable=gate, digest_cache=cache,
            on_progress=overwrite_the_tail,
        )  # fmt: skip
    message = str(caught.value)
    assert message.startswith(
        f"{str(adapter)!r} changed while it was being uploaded (digest mismatch"
    )
    assert message.endswith("; wait until whatever is writing it has finished, then retry")
    assert "changed:latest" not in ollama_double.installed_names()
    assert ollama_double.requests.count("POST", "/api/create") == 0
    assert_blobs_are_honest(ollama_double)


# --- pushing --------------------------------------------------------------------------------


async def test_push_after_packaging(
    client: OllamaClient, work: Path, gate: AllowedRoots, cache: DigestCache
) -> None:
    report = await package_adapter(
        client, _peft(work), "me/my-adapter:v1", "llama3.2", push=True, readable=gate,
        digest_cache=cache,
    )  # fmt: skip
    assert report.model == "me/my-adapter:v1"
    assert report.push is not None and report.push.statuses[-1] == "success"


async def test_a_failed_push_still_reports_the_created_model(
    ollama_double: OllamaDouble,
    client: OllamaClient,
    work: Path,
    gate: AllowedRoots,
    cache: DigestCache,
) -> None:
    ollama_double.faults.push_unauthorized = True
    with pytest.raises(PushFailed) as caught:
        await package_adapter(
            client, _peft(work), "me/my-adapter", "llama3.2", push=True, readable=gate,
            digest_cache=cache,
        )  # fmt: skip
    assert caught.value.report.model == "me/my-adapter:latest"
    assert "unauthorized: access denied" in str(caught.value)
    assert "me/my-adapter:latest" in ollama_double.installed_names()


# --- create_model ---------------------------------------------------------------------------


async def test_create_from_modelfile_text(
    ollama_double: OllamaDouble, client: OllamaClient, cache: DigestCache
) -> None:
    result = await create_model(
        client, "mario", modelfile='FROM llama3.2\nSYSTEM """You are Mario."""', digest_cache=cache
    )
    assert result.model == "mario:latest" and result.files == []
    assert result.statuses[-1] == "success"
    assert {m.name: m.digest for m in (await client.list()).models}["mario:latest"] == result.digest
    assert (await client.show("mario")).system == "You are Mario."


async def test_create_from_a_modelfile_file_with_a_relative_adapter(
    ollama_double: OllamaDouble,
    client: OllamaClient,
    work: Path,
    gate: AllowedRoots,
    cache: DigestCache,
) -> None:
    _peft(work)
    modelfile = work / "Modelfile"
    modelfile.write_text("FROM llama3.2\nADAPTER ./peft\nPARAMETER temperature 0.2\n")
    result = await create_model(
        client, "tuned", modelfile_path=modelfile, readable=gate, digest_cache=cache
    )
    assert sorted(f.key for f in result.files) == [
        "adapter_config.json",
        "adapter_model.safetensors",
    ]
    assert len(adapter_layers(ollama_double, "tuned")) == 1
    assert ollama_double.requests.last_body("/api/create")["parameters"] == {"temperature": 0.2}


async def test_create_refuses_a_modelfile_outside_the_roots(
    client: OllamaClient, tmp_path: Path, gate: AllowedRoots, cache: DigestCache
) -> None:
    modelfile = tmp_path / "Modelfile"
    modelfile.write_text("FROM llama3.2\n")
    with pytest.raises(OutsideAllowedRoots):
        await create_model(client, "x", modelfile_path=modelfile, readable=gate, digest_cache=cache)


async def test_create_refuses_a_huge_modelfile_without_sending_anything(
    ollama_double: OllamaDouble, client: OllamaClient, work: Path, gate: AllowedRoots
) -> None:
    modelfile = work / "Modelfile"
    modelfile.write_bytes(b"FROM llama3.2\n" + b"# padding\n" * (1 << 17))
    with pytest.raises(ValueError, match=r"too large for a Modelfile \(over 1048576 bytes\)$"):
        await create_model(client, "x", modelfile_path=modelfile, readable=gate)
    assert ollama_double.requests.count_prefix("POST", "/api/") == 0


async def test_create_refuses_a_fifo_modelfile_without_opening_it(
    client: OllamaClient, work: Path, gate: AllowedRoots
) -> None:
    modelfile = work / "Modelfile"
    os.mkfifo(modelfile)
    with pytest.raises(NotARegularFile, match="FIFO"):
        await create_model(client, "x", modelfile_path=modelfile, readable=gate)


class _SwappingGate(AllowedRoots):
    """A gate whose checked file is replaced right after the check: the race it must survive."""

    def regular_file_stat(self, path: str | os.PathLike[str]) -> tuple[Path, os.stat_result]:
        real, checked = super().regular_file_stat(path)
        swapped = real.with_name("swapped")
        swapped.write_text("FROM other\n")
        os.replace(swapped, real)
        return real, checked


async def test_create_refuses_a_modelfile_replaced_after_the_check(
    ollama_double: OllamaDouble, client: OllamaClient, work: Path
) -> None:
    modelfile = work / "Modelfile"
    modelfile.write_text("FROM llama3.2\n")
    with pytest.raises(NotARegularFile, match="replaced"):
        await create_model(client, "x", modelfile_path=modelfile, readable=_SwappingGate([work]))
    assert ollama_double.requests.count_prefix("POST", "/api/") == 0


async def test_create_checks_the_adapter_and_its_base_before_uploading(
    ollama_double: OllamaDouble,
    client: OllamaClient,
    work: Path,
    gate: AllowedRoots,
    cache: DigestCache,
) -> None:
    _peft(work)
    with pytest.raises(AdapterBaseMismatch):
        await create_model(
            client, "x", modelfile="FROM qwen3\nADAPTER peft", base_dir=work, readable=gate,
            digest_cache=cache,
        )  # fmt: skip
    write_peft_dir(work / "float", config=adapter_config(lora_alpha=8.0))
    with pytest.raises(InvalidAdapter, match=r"lora_alpha is 8\.0"):
        await create_model(
            client, "x", modelfile="FROM llama3.2\nADAPTER float", base_dir=work, readable=gate,
            digest_cache=cache,
        )  # fmt: skip
    assert ollama_double.requests.count_prefix("POST", "/api/blobs/") == 0


async def test_a_create_that_pulls_its_base_reads_both_success_lines(
    ollama_double: OllamaDouble, client: OllamaClient, cache: DigestCache
) -> None:
    result = await create_model(
        client, "tiny-system", modelfile="FROM tinyllama\nSYSTEM hi", digest_cache=cache
    )
    assert result.statuses.count("success") == 2
    assert result.statuses[0] == "pulling manifest" and result.statuses[-1] == "success"
    assert "tiny-system:latest" in ollama_double.installed_names()


async def test_a_failure_mid_create_leaves_the_existing_model_untouched(
    ollama_double: OllamaDouble, client: OllamaClient, cache: DigestCache
) -> None:
    await create_model(client, "keep", modelfile="FROM llama3.2\nSYSTEM first", digest_cache=cache)
    before = store_state(ollama_double)
    ollama_double.faults.error_after_lines(2, "boom", path="/api/create")
    with pytest.raises(StreamError, match="boom"):
        await create_model(
            client, "keep", modelfile="FROM llama3.2\nSYSTEM second", digest_cache=cache
        )
    after = store_state(ollama_double)
    assert after.manifests == before.manifests
    assert (await client.show("keep")).system == "first"


async def test_create_needs_exactly_one_modelfile_source(client: OllamaClient) -> None:
    with pytest.raises(ValueError, match="exactly one of modelfile"):
        await create_model(client, "x")


async def test_bad_parameters_are_refused_before_anything_is_sent(
    ollama_double: OllamaDouble,
    client: OllamaClient,
    work: Path,
    gate: AllowedRoots,
    cache: DigestCache,
) -> None:
    with pytest.raises(ValueError, match=r"invalid float value \[hot\]"):
        await package_adapter(
            client, _peft(work), "x", "llama3.2", parameters={"temperature": "hot"}, readable=gate,
            digest_cache=cache,
        )  # fmt: skip
    assert ollama_double.requests.count_prefix("POST", "/api/blobs/") == 0
    assert cache.hashed == 0


async def test_without_a_cache_argument_digests_go_to_the_cache_folder(
    client: OllamaClient,
    work: Path,
    gate: AllowedRoots,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OLLAMA_MCP_CACHE_DIR", str(tmp_path / "app-cache"))
    adapter = _peft(work)
    first = await package_adapter(client, adapter, "a", "llama3.2", readable=gate)
    second = await package_adapter(client, adapter, "b", "llama3.2", readable=gate)
    assert (tmp_path / "app-cache" / "digests.sqlite3").is_file()
    assert (first.files_hashed, second.files_hashed, second.digest_cache_hits) == (2, 0, 2)


async def test_create_from_a_local_gguf_uploads_it_once(
    ollama_double: OllamaDouble,
    client: OllamaClient,
    work: Path,
    gate: AllowedRoots,
    cache: DigestCache,
) -> None:
    write_gguf(work / "weights.gguf", kind="model", adapter_type=None, hidden=LLAMA_HIDDEN)
    text = "FROM ./weights.gguf\nTEMPLATE {{ .Prompt }}"
    first = await create_model(
        client, "local", modelfile=text, base_dir=work, readable=gate, digest_cache=cache
    )
    assert [f.key for f in first.files] == ["weights.gguf"] and first.files[0].uploaded
    assert "parsing GGUF" in first.statuses
    again = await create_model(
        client, "local2", modelfile=text, base_dir=work, readable=gate, digest_cache=cache
    )
    assert (again.bytes_uploaded, again.files_hashed) == (0, 0)
    assert ollama_double.requests.count_prefix("POST", "/api/blobs/") == 1


async def test_a_utf16_modelfile_file_is_read_as_ollama_reads_it(
    ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    path = tmp_path / "Modelfile"
    path.write_bytes("FROM llama3.2\nSYSTEM Ünïcode in UTF-16\n".encode("utf-16"))
    async with OllamaClient(ollama_double.url) as client:
        await create_model(client, "utf16", modelfile_path=path, readable=AllowedRoots([tmp_path]))
        shown = await client.show("utf16")
    assert shown.system == "Ünïcode in UTF-16"


async def test_identical_files_under_two_names_are_sent_and_counted_once(
    ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    first, second = tmp_path / "a.bin", tmp_path / "b.bin"
    first.write_bytes(b"same bytes" * 1000)
    second.write_bytes(b"same bytes" * 1000)
    async with OllamaClient(ollama_double.url) as client:
        totals = await upload_files(
            client, [("a.bin", first), ("b.bin", second)], cache=DigestCache(tmp_path / "digests")
        )
    assert [f.uploaded for f in totals.files].count(True) == 1
    assert totals.bytes_uploaded == 10_000 and totals.bytes_skipped == 10_000
    assert ollama_double.requests.count_prefix("POST", "/api/blobs/") == 1


async def test_an_unknown_quantize_is_refused_before_anything_is_sent(
    ollama_double: OllamaDouble,
    client: OllamaClient,
    work: Path,
    gate: AllowedRoots,
    cache: DigestCache,
) -> None:
    weights = write_gguf(work / "model.gguf", kind="model", adapter_type=None)
    before = store_state(ollama_double)
    with pytest.raises(InvalidArgument) as refused:
        await create_model(
            client,
            "m",
            modelfile=f"FROM {weights}",
            readable=gate,
            digest_cache=cache,
            quantize="q5_k_m",
        )
    assert str(refused.value) == (
        "unsupported quantization type Q5_K_M - supported types are "
        "F32, F16, Q4_K_S, Q4_K_M, Q8_0 (did you mean 'Q4_K_M'?)"
    )
    assert store_state(ollama_double) == before
    assert ollama_double.requests.count_prefix("POST", "/api/blobs/") == 0
    assert ollama_double.requests.count("POST", "/api/create") == 0
    assert cache.hashed == 0
