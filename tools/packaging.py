"""Turn local files into Ollama models: `create_model` from a Modelfile, `package_adapter` from a
LoRA adapter (the seed's `upload_artifact`).

Both follow one order, so that a refusal costs nothing and leaves Ollama untouched:
1. check everything that can be checked locally and cheaply: the model name, every path against the
   allowed roots, the adapter's headers, the server's version, the base model and its architecture;
2. hash the files (a digest cache makes the second time free) and upload the ones Ollama lacks,
   several at once (`max_parallel_uploads`, HEAD first, streamed from disk);
3. stream `/api/create` to the end (a create whose base must be pulled first sends two `success`
   lines), then read the new model's digest from `/api/tags`.
Nothing is ever deleted: Ollama writes a model's manifest last, so a create that fails, or is
cancelled, leaves every existing model as it was; uploaded blobs no manifest uses are pruned by
Ollama itself.

Progress goes to one async callback as `PackagingProgress` events (checking, pulling the base,
hashing, uploading, creating, pushing); `completed`/`total` are bytes, summed over all files of
the phase, so they only grow.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import aclosing, contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import anyio
import anyio.to_thread
from pydantic import BaseModel, ConfigDict, Field

from tools.adapters import (
    AdapterBaseMismatch,
    AdapterInfo,
    AdapterLayout,
    BaseModelFacts,
    check_base,
    inspect_adapter,
)
from tools.blobs import BlobClient, DigestCache, FileIdentity, upload_file
from tools.client import JSON_CREATE_VERSION
from tools.create_plan import CreatePlan, expand_path, to_create_request
from tools.errors import ModelNotFound, OllamaError, UnsupportedServer
from tools.files import AllowedRoots, checked_stat, deny_all, open_regular
from tools.modelfile import Modelfile, generate_modelfile, parse
from tools.names import DEFAULT_HOST, DEFAULT_NAMESPACE, ModelName, parse_model_name
from tools.singleflight import SingleFlight
from tools.types import (
    CreateRequest,
    ListResponse,
    ProgressCallback,
    ProgressResponse,
    ShowResponse,
    UploadProgressCallback,
)

DEFAULT_PARALLEL_UPLOADS = 4
MAX_MODELFILE_BYTES = 1 << 20
JSON_CREATE_WHAT = "creating models from uploaded files (the JSON create request)"


# --- progress -------------------------------------------------------------------------------


class PackagingPhase(StrEnum):
    CHECKING = "checking"
    PULLING_BASE = "pulling_base"
    HASHING = "hashing"
    UPLOADING = "uploading"
    CREATING = "creating"
    PUSHING = "pushing"


class PackagingProgress(BaseModel):
    """One step of a create or a packaging, for a progress bar or a log line."""

    model_config = ConfigDict(frozen=True)

    phase: PackagingPhase
    message: str
    completed: int | None = None  # bytes so far in this phase (all files together)
    total: int | None = None
    file: str | None = None  # the file's name in the create request, for hashing and uploading
    digest: str | None = None


PackagingProgressCallback = Callable[[PackagingProgress], Awaitable[None]]


# --- reports --------------------------------------------------------------------------------


class UploadedFile(BaseModel):
    """One local file of the create request and what it took to get it to Ollama."""

    key: str  # its name in the request's `files` or `adapters`
    path: Path  # the real path that was read
    digest: str
    size: int
    hashed: bool  # False: the digest cache already knew it
    uploaded: bool  # False: Ollama already had the blob, nothing was sent


class TransferTotals(BaseModel):
    files: list[UploadedFile] = Field(default_factory=list)

    @property
    def bytes_uploaded(self) -> int:
        return sum(f.size for f in self.files if f.uploaded)

    @property
    def bytes_skipped(self) -> int:
        return sum(f.size for f in self.files if not f.uploaded)

    @property
    def files_hashed(self) -> int:
        return sum(1 for f in self.files if f.hashed)

    @property
    def digest_cache_hits(self) -> int:
        return sum(1 for f in self.files if not f.hashed)


class CreateResult(BaseModel):
    """What `create_model` did. `digest` is the manifest digest as `/api/tags` shows it."""

    model: str
    digest: str
    statuses: list[str]
    files: list[UploadedFile] = Field(default_factory=list)
    bytes_uploaded: int = 0
    bytes_skipped: int = 0
    files_hashed: int = 0
    digest_cache_hits: int = 0


class PushOutcome(BaseModel):
    model: str
    statuses: list[str]


class AdapterSummary(BaseModel):
    layout: AdapterLayout
    path: Path
    architecture: str | None = None
    rank: int | None = None
    alpha: float | None = None
    target_modules: list[str] | str | None = None
    base_model_name_or_path: str | None = None


class PackageReport(CreateResult):
    """What `package_adapter` did, honestly: what was created, sent, skipped and pushed."""

    base_model: str
    base_architecture: str | None
    base_pulled: bool
    adapter: AdapterSummary
    modelfile: str
    push: PushOutcome | None = None
    warnings: list[str] = Field(default_factory=list)


# --- errors ---------------------------------------------------------------------------------


class BaseModelNotInstalled(ModelNotFound, ValueError):
    """The base model is not installed and pulling it was not asked for. Also a `ValueError`,
    the seed's error for bad metadata."""

    def __init__(self, model: str) -> None:
        super().__init__(
            model,
            404,
            f"base model '{model}' is not installed",
            hint=f"pull it first (`ollama pull {model}`) or pass pull_base=True",
        )


class PushFailed(OllamaError, RuntimeError):
    """The model was created, but pushing it failed. `report` says what was created."""

    def __init__(self, report: PackageReport, cause: Exception) -> None:
        self.report = report
        self.cause = cause
        super().__init__(
            f"model {report.model!r} was created (digest {report.digest}), but pushing it "
            f"failed: {cause}; push it again once the cause is fixed"
        )


# --- the client surface used here -----------------------------------------------------------


class PackagingClient(Protocol):
    """The part of `OllamaClient` that creating and packaging need."""

    async def server_supports_json_create(self) -> bool: ...
    async def version(self) -> str: ...
    async def list(self) -> ListResponse: ...
    async def show(self, model: str, *, verbose: bool = False) -> ShowResponse: ...
    async def pull(
        self, model: str, *, insecure: bool = False, on_progress: ProgressCallback | None = None
    ) -> ProgressResponse: ...
    def push_stream(
        self, model: str, *, insecure: bool = False
    ) -> AsyncGenerator[ProgressResponse]: ...
    def create_stream(self, request: CreateRequest) -> AsyncGenerator[ProgressResponse]: ...
    async def upload_blob(
        self,
        path: Path,
        digest: str,
        *,
        expected: os.stat_result | None = None,
        on_progress: UploadProgressCallback | None = None,
    ) -> bool: ...


# --- package_adapter ------------------------------------------------------------------------


async def package_adapter(
    client: PackagingClient,
    path: str | os.PathLike[str],
    name: str,
    base_model: str,
    *,
    system_prompt: str | None = None,
    template: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    messages: Sequence[Mapping[str, str]] | None = None,
    license: str | Sequence[str] | None = None,
    push: bool = False,
    pull_base: bool = False,
    readable: AllowedRoots | None = None,
    digest_cache: DigestCache | None = None,
    on_progress: PackagingProgressCallback | None = None,
    max_parallel_uploads: int = DEFAULT_PARALLEL_UPLOADS,
) -> PackageReport:
    """Package the LoRA adapter at `path` as model `name` on top of `base_model`.

    Raises before anything is uploaded: `InvalidModelName` (a bad `name` or `base_model`),
    `ValueError` (push without a namespace; an invalid adapter: `InvalidAdapter`; a base that
    cannot take it: `AdapterBaseMismatch`; a base not installed: `BaseModelNotInstalled`),
    `FileNotFoundError`, `PathNotAllowed`, `UnsupportedServer` (Ollama older than 0.5.5).
    Afterwards: Ollama's errors (`OllamaAPIError`), `FileChangedDuringUpload`, and `PushFailed`
    when only the push failed (it carries the report of what was created).
    """
    target = parse_model_name(name)
    if push:
        _require_pushable(target)
    base = parse_model_name(base_model)
    gate = readable if readable is not None else deny_all()
    notify = _Notifier(on_progress)

    _require_local_base(base, base_model.strip())
    _require_modelfile_size(system_prompt, template, parameters, messages, license)

    await notify(PackagingPhase.CHECKING, f"checking adapter {os.fspath(path)}")
    adapter = await anyio.to_thread.run_sync(lambda: inspect_adapter(path, allowed=gate))
    # The Modelfile is both the report's description and, through the Modelfile module, the one
    # source of the request, so `create_model(modelfile=report.modelfile)` makes the same model.
    # Rendered in a worker thread: long texts take a while to quote.
    given = gate.absolute(path)
    modelfile = await anyio.to_thread.run_sync(
        lambda: generate_modelfile(
            base_model.strip(),
            adapter_path=given,
            system_prompt=system_prompt,
            template=template,
            parameters=parameters,
            messages=messages,
            license=license,
        )
    )
    # The base was given as a model name: it stays one, even where a file of that name exists
    # (an adapter folder named like its base would otherwise be read as the base).
    plan = await anyio.to_thread.run_sync(
        lambda: _plan(modelfile, given.parent, gate, from_is_model_name=True)
    )
    await _require_json_create(client)
    shown, pulled = await _installed_base(client, base, pull_base, notify)
    facts = _base_facts(base, shown)
    warnings = [*adapter.warnings, *check_base(adapter, facts), *plan.warnings]

    created = await _upload_and_create(
        client, target, plan, digest_cache, on_progress, None, max_parallel_uploads
    )
    report = PackageReport(
        **dict(created),
        base_model=base.shortest,
        base_architecture=facts.architecture,
        base_pulled=pulled,
        adapter=_summary(adapter),
        modelfile=modelfile,
        warnings=warnings,
    )
    if not push:
        return report
    try:
        pushed = await _push(client, report.model, notify)
    except OllamaError as exc:
        raise PushFailed(report, exc) from exc
    return report.model_copy(update={"push": pushed})


def _require_pushable(name: ModelName) -> None:
    if name.host.lower() == DEFAULT_HOST and name.namespace.lower() == DEFAULT_NAMESPACE:
        raise ValueError(
            f"cannot push {name.shortest!r}: a pushed model needs your ollama.com namespace, "
            "e.g. 'you/my-model:latest' (namespace/model[:tag])"
        )


def _require_local_base(base: ModelName, given: str) -> None:
    """A `:cloud` base names a model run on ollama.com: Ollama makes a remote stub for it and
    ignores the adapter (contract 5.1, 13.4)."""
    if base.source == "cloud":
        raise AdapterBaseMismatch(
            f"base model {given!r} runs on ollama.com: for a cloud base Ollama makes a remote "
            "stub and ignores the adapter; use a local base (the name without :cloud or -cloud)"
        )


def _require_modelfile_size(
    system_prompt: str | None,
    template: str | None,
    parameters: Mapping[str, Any] | None,
    messages: Sequence[Mapping[str, str]] | None,
    license: str | Sequence[str] | None,
) -> None:
    """Bound the Modelfile before rendering it, as a Modelfile read from disk is bounded.
    Values of the wrong type are left to the renderer, which names them."""
    texts: list[object] = [system_prompt, template]
    if isinstance(parameters, Mapping):
        texts += [*parameters.keys(), *parameters.values()]
    if isinstance(messages, list | tuple):
        texts += [v for m in messages if isinstance(m, Mapping) for v in m.values()]
    if isinstance(license, str):
        texts.append(license)
    elif isinstance(license, list | tuple):
        texts += license
    size = sum(len(str(text).encode("utf-8", "surrogatepass")) for text in texts if text)
    if size > MAX_MODELFILE_BYTES:
        raise ValueError(
            f"system_prompt, template, parameters, messages and license add up to {size} "
            f"bytes; a Modelfile holds at most {MAX_MODELFILE_BYTES} bytes (1 MiB): shorten them"
        )


def _request(
    target: ModelName, plan: CreatePlan, transfers: TransferTotals, *, quantize: str | None
) -> CreateRequest:
    body = plan.request_body({f.path: f.digest for f in transfers.files})
    body["model"] = target.shortest
    if quantize is not None:
        body["quantize"] = quantize
    return CreateRequest.model_validate(body)


async def _require_json_create(client: PackagingClient) -> None:
    if not await client.server_supports_json_create():
        version = await client.version()
        raise UnsupportedServer(version, JSON_CREATE_VERSION, JSON_CREATE_WHAT)


async def _installed_base(
    client: PackagingClient, base: ModelName, pull_base: bool, notify: _Notifier
) -> tuple[ShowResponse, bool]:
    try:
        return await client.show(base.shortest), False
    except ModelNotFound:
        if not pull_base:
            raise BaseModelNotInstalled(base.shortest) from None

    async def relay(line: ProgressResponse) -> None:
        await notify(
            PackagingPhase.PULLING_BASE, line.status, line.completed, line.total, digest=line.digest
        )

    await notify(PackagingPhase.PULLING_BASE, f"pulling base model {base.shortest}")
    await client.pull(base.shortest, on_progress=relay)
    return await client.show(base.shortest), True


def _base_facts(base: ModelName, shown: ShowResponse) -> BaseModelFacts:
    arch = shown.model_info.get("general.architecture")
    architecture = arch if isinstance(arch, str) and arch else shown.details.family or None
    length = shown.model_info.get(f"{architecture}.embedding_length") if architecture else None
    return BaseModelFacts(
        name=base.shortest,
        architecture=architecture,
        embedding_length=length
        if isinstance(length, int) and not isinstance(length, bool)
        else None,
        capabilities=tuple(shown.capabilities or ()),
    )


def _summary(adapter: AdapterInfo) -> AdapterSummary:
    return AdapterSummary(
        layout=adapter.layout,
        path=adapter.path,
        architecture=adapter.architecture,
        rank=adapter.rank,
        alpha=adapter.alpha,
        target_modules=adapter.target_modules,
        base_model_name_or_path=adapter.base_model_name_or_path,
    )


async def _push(client: PackagingClient, model: str, notify: _Notifier) -> PushOutcome:
    await notify(PackagingPhase.PUSHING, f"pushing {model}")
    statuses = await _follow(client.push_stream(model), PackagingPhase.PUSHING, notify)
    return PushOutcome(model=model, statuses=statuses)


async def _follow(
    stream: AsyncGenerator[ProgressResponse], phase: PackagingPhase, notify: _Notifier
) -> list[str]:
    """Relay every progress line to the end of the stream, closing it however the loop ends;
    return the statuses seen."""
    statuses: list[str] = []
    async with aclosing(stream) as lines:
        async for line in lines:
            statuses.append(line.status)
            await notify(phase, line.status, line.completed, line.total, digest=line.digest)
    return statuses


# --- create_model ---------------------------------------------------------------------------


async def create_model(
    client: PackagingClient,
    name: str,
    *,
    modelfile: str | None = None,
    modelfile_path: str | os.PathLike[str] | None = None,
    base_dir: str | os.PathLike[str] | None = None,
    readable: AllowedRoots | None = None,
    digest_cache: DigestCache | None = None,
    on_progress: PackagingProgressCallback | None = None,
    quantize: str | None = None,
    max_parallel_uploads: int = DEFAULT_PARALLEL_UPLOADS,
) -> CreateResult:
    """Create model `name` from a Modelfile given as text or as a file.

    Local paths in FROM/ADAPTER are relative to the Modelfile's folder (or `base_dir`, else the
    current folder, for text) and are read only inside `readable`'s roots. Raises
    `InvalidModelName`, `ValueError` (a bad Modelfile), `FileNotFoundError`, `PathNotAllowed` and
    `UnsupportedServer` before anything is sent; Ollama's errors (`OllamaAPIError`, a
    `RuntimeError`) and `FileChangedDuringUpload` after.
    """
    target = parse_model_name(name)
    if (modelfile is None) == (modelfile_path is None):
        raise ValueError("give exactly one of modelfile (the text) or modelfile_path")
    gate = readable if readable is not None else deny_all()
    notify = _Notifier(on_progress)

    source: str | bytes
    if modelfile_path is not None:
        real, checked = gate.regular_file_stat(Path(modelfile_path))
        # Bytes, so that the parser sees a UTF-16 BOM as `ollama create` does.
        source = await anyio.to_thread.run_sync(_read_modelfile, real, checked)
        folder = real.parent
    else:
        assert modelfile is not None
        source = modelfile
        folder = gate.absolute(base_dir) if base_dir is not None else Path.cwd()
    await notify(PackagingPhase.CHECKING, "reading the Modelfile")
    parsed = parse(source)
    plan = await anyio.to_thread.run_sync(lambda: _plan(parsed, folder, gate))
    adapters = await anyio.to_thread.run_sync(lambda: _named_adapters(parsed, folder, gate))
    await _require_json_create(client)
    if adapters and plan.from_model is not None:
        base = parse_model_name(plan.from_model)
        _require_local_base(base, plan.from_model)
        await _check_installed_base(client, base, adapters)

    return await _upload_and_create(
        client, target, plan, digest_cache, on_progress, quantize, max_parallel_uploads
    )


async def _upload_and_create(
    client: PackagingClient,
    target: ModelName,
    plan: CreatePlan,
    digest_cache: DigestCache | None,
    on_progress: PackagingProgressCallback | None,
    quantize: str | None,
    max_parallel_uploads: int,
) -> CreateResult:
    """The part that changes Ollama, once everything is checked: upload, create, read back."""
    with _call_cache(digest_cache) as cache:
        transfers = await upload_files(
            client,
            [(u.key, u.path) for u in plan.uploads],
            checked={u.path: u.checked for u in plan.uploads if u.checked is not None},
            cache=cache,
            on_progress=on_progress,
            max_parallel=max_parallel_uploads,
        )
    request = _request(target, plan, transfers, quantize=quantize)
    statuses = await stream_create(client, request, on_progress=on_progress)
    model, digest = await installed_digest(client, target)
    return CreateResult(
        model=model,
        digest=digest,
        statuses=statuses,
        files=transfers.files,
        bytes_uploaded=transfers.bytes_uploaded,
        bytes_skipped=transfers.bytes_skipped,
        files_hashed=transfers.files_hashed,
        digest_cache_hits=transfers.digest_cache_hits,
    )


def _read_modelfile(real: Path, checked: os.stat_result) -> bytes:
    """At most `MAX_MODELFILE_BYTES`, from the very file the gate checked (not one swapped in)."""
    with open_regular(real, checked) as stream:
        raw = stream.read(MAX_MODELFILE_BYTES + 1)
    if len(raw) > MAX_MODELFILE_BYTES:
        raise ValueError(f"{real}: too large for a Modelfile (over {MAX_MODELFILE_BYTES} bytes)")
    return raw


def _plan(
    modelfile: Modelfile | str,
    folder: Path,
    gate: AllowedRoots,
    *,
    from_is_model_name: bool = False,
) -> CreatePlan:
    return to_create_request(
        modelfile,
        folder,
        readable=gate,
        listable=gate.directory,
        from_is_model_name=from_is_model_name,
    )


def _named_adapters(modelfile: Modelfile, folder: Path, gate: AllowedRoots) -> list[AdapterInfo]:
    """The Modelfile's ADAPTERs, checked from their headers (the plan only lists their files)."""
    return [
        inspect_adapter(expand_path(value, folder), allowed=gate)
        for value in modelfile.values("adapter")
    ]


async def _check_installed_base(
    client: PackagingClient, base: ModelName, adapters: Sequence[AdapterInfo]
) -> None:
    """Check an installed FROM model against the adapters; one that is not installed yet is
    pulled by Ollama during the create, and cannot be checked before."""
    try:
        shown = await client.show(base.shortest)
    except ModelNotFound:
        return
    facts = _base_facts(base, shown)
    for adapter in adapters:
        check_base(adapter, facts)


# --- shared steps ---------------------------------------------------------------------------


@contextmanager
def _call_cache(given: DigestCache | None) -> Iterator[DigestCache]:
    """The caller's digest cache, or the default one (in the cache folder) for this call only."""
    if given is not None:
        yield given
        return
    cache = DigestCache()
    try:
        yield cache
    finally:
        cache.close()


class _Notifier:
    def __init__(self, callback: PackagingProgressCallback | None) -> None:
        self.callback = callback

    async def __call__(
        self,
        phase: PackagingPhase,
        message: str,
        completed: int | None = None,
        total: int | None = None,
        *,
        file: str | None = None,
        digest: str | None = None,
    ) -> None:
        if self.callback is not None:
            event = PackagingProgress(
                phase=phase,
                message=message,
                completed=completed,
                total=total,
                file=file,
                digest=digest,
            )
            await self.callback(event)


class _Tally:
    """Bytes done per file, summed, so a phase's progress only grows across parallel files."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done: dict[str, int] = {}

    def update(self, key: str, done: int) -> int:
        self.done[key] = max(done, self.done.get(key, 0))
        return sum(self.done.values())


async def upload_files(
    client: BlobClient,
    files: Sequence[tuple[str, Path]],
    *,
    cache: DigestCache,
    checked: Mapping[Path, os.stat_result] | None = None,
    on_progress: PackagingProgressCallback | None = None,
    max_parallel: int = DEFAULT_PARALLEL_UPLOADS,
) -> TransferTotals:
    """Hash (via the cache) and upload each (key, real path), `max_parallel` files at a time.

    The paths must already have passed the gate; `checked` holds the `os.stat` it checked for
    each, and what is hashed and sent is that very file (same device and inode) or nothing:
    a path never names another file later. The first failure cancels the other uploads and is
    raised as itself."""
    notify = _Notifier(on_progress)
    known = checked or {}
    stats = await anyio.to_thread.run_sync(
        lambda: [known.get(path) or checked_stat(path) for _, path in files]
    )
    total = sum(st.st_size for st in stats)
    hashing, uploading = _Tally(total), _Tally(total)
    limiter = anyio.CapacityLimiter(max(1, max_parallel))
    same_blob: SingleFlight[str, bool] = SingleFlight()
    sent_digests: set[str] = set()  # identical files under two names are sent, and counted, once
    results: dict[int, UploadedFile] = {}

    async def one(index: int, key: str, path: Path, st: os.stat_result) -> None:
        async with limiter:

            async def hashed(done: int, size: int) -> None:
                await notify(
                    PackagingPhase.HASHING,
                    f"hashing {key}",
                    hashing.update(key, done),
                    total,
                    file=key,
                )

            digest, from_cache = await cache.digest(path, st, on_progress=hashed)
            if from_cache:
                done = hashing.update(key, st.st_size)
                await notify(
                    PackagingPhase.HASHING,
                    f"{key}: digest known from the cache",
                    done,
                    total,
                    file=key,
                )

            async def sent(done: int, size: int) -> None:
                completed = uploading.update(key, done)
                await notify(
                    PackagingPhase.UPLOADING,
                    f"uploading {key}",
                    completed,
                    total,
                    file=key,
                    digest=digest,
                )

            identity = FileIdentity.of(path, st)
            uploaded = await same_blob.run(
                digest,
                lambda: upload_file(client, path, digest, identity, expected=st, on_progress=sent),
            )
            uploaded = uploaded and digest not in sent_digests
            sent_digests.add(digest)
            results[index] = UploadedFile(
                key=key,
                path=path,
                digest=digest,
                size=st.st_size,
                hashed=not from_cache,
                uploaded=uploaded,
            )

    try:
        async with anyio.create_task_group() as tg:
            for index, ((key, path), st) in enumerate(zip(files, stats, strict=True)):
                tg.start_soon(one, index, key, path, st)
    except BaseExceptionGroup as group:
        # The first failure cancelled the other uploads; raise it as itself, not as a group.
        raise _first_error(group) from None
    return TransferTotals(files=[results[i] for i in range(len(files))])


def _first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    error: BaseException = group
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error


async def stream_create(
    client: PackagingClient,
    request: CreateRequest,
    *,
    on_progress: PackagingProgressCallback | None = None,
) -> list[str]:
    """Send the create request and follow it to the end of the stream; return every status.

    A create whose base is pulled first sends the pull's `success` before its own: only the end
    of the stream ends the create. A server older than 0.5.5 is `UnsupportedServer`."""
    notify = _Notifier(on_progress)
    await notify(PackagingPhase.CREATING, f"creating {request.model}")
    # The client answers a server older than 0.5.5 with `UnsupportedServer` (contract 5.3).
    return await _follow(client.create_stream(request), PackagingPhase.CREATING, notify)


async def installed_digest(client: PackagingClient, name: ModelName) -> tuple[str, str]:
    """The model's name and manifest digest as `/api/tags` lists them."""
    for summary in (await client.list()).models:
        try:
            listed = parse_model_name(summary.model or summary.name)
        except ValueError:
            continue
        if listed.same_model(name):
            return summary.name, summary.digest
    raise ModelNotFound(
        name.shortest,
        404,
        f"model '{name.shortest}' was created but is not in /api/tags",
        hint="Ollama may have failed to read it back; check its log",
    )
