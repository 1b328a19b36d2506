"""The steps `create_model` and `package_adapter` share, in the order they run once everything is
checked: hash the files (through the digest cache) and upload what Ollama lacks, several at once
(`upload_files`); stream `/api/create` to its end (`stream_create`); read the new model's digest
back from `/api/tags` (`installed_digest`). `PackagingClient` is the client surface they need.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Iterator, Mapping, Sequence
from contextlib import aclosing, contextmanager
from pathlib import Path
from typing import Protocol

import anyio
import anyio.to_thread

from tools.api.answers import JSON_CREATE_VERSION
from tools.api.bodies import CreateRequest
from tools.api.names import ModelName, parse_model_name
from tools.api.types import (
    ListResponse,
    ProgressCallback,
    ProgressResponse,
    ShowResponse,
)
from tools.errors import (
    AdapterBaseMismatch,
    ModelNotFound,
    UnsupportedServer,
)
from tools.local.adapter_base import BaseModelFacts
from tools.local.path_gate import AllowedRoots, checked_stat
from tools.modelfile.create_plan import CreatePlan, to_create_request
from tools.modelfile.document import Modelfile
from tools.packaging.blobs import BlobClient, DigestCache, FileIdentity, upload_file
from tools.packaging.reports import (
    CreateResult,
    PackagingPhase,
    PackagingProgress,
    PackagingProgressCallback,
    TransferTotals,
    UploadedFile,
)
from tools.shared.singleflight import SingleFlight

DEFAULT_PARALLEL_UPLOADS = 4
MAX_MODELFILE_BYTES = 1 << 20  # the most a Modelfile may hold, read from disk or generated
JSON_CREATE_WHAT = "creating models from uploaded files (the JSON create request)"


# --- the client surface used here -----------------------------------------------------------


class PackagingClient(BlobClient, Protocol):
    """The part of `OllamaClient` that creating and packaging need (uploads as `BlobClient`)."""

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


@contextmanager
def call_cache(given: DigestCache | None) -> Iterator[DigestCache]:
    """The caller's digest cache, or the default one (in the cache folder) for this call only."""
    if given is not None:
        yield given
        return
    cache = DigestCache()
    try:
        yield cache
    finally:
        cache.close()


class Notifier:
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
    notify = Notifier(on_progress)
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
    notify = Notifier(on_progress)
    await notify(PackagingPhase.CREATING, f"creating {request.model}")
    # The client answers a server older than 0.5.5 with `UnsupportedServer` (contract 5.3).
    return await follow(client.create_stream(request), PackagingPhase.CREATING, notify)


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


def create_request(
    target: ModelName, plan: CreatePlan, transfers: TransferTotals, *, quantize: str | None
) -> CreateRequest:
    body = plan.request_body({f.path: f.digest for f in transfers.files})
    body["model"] = target.shortest
    if quantize is not None:
        body["quantize"] = quantize
    return CreateRequest.model_validate(body)


async def require_json_create(client: PackagingClient) -> None:
    if not await client.server_supports_json_create():
        version = await client.version()
        raise UnsupportedServer(version, JSON_CREATE_VERSION, JSON_CREATE_WHAT)


def base_facts(base: ModelName, shown: ShowResponse) -> BaseModelFacts:
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


async def follow(
    stream: AsyncGenerator[ProgressResponse], phase: PackagingPhase, notify: Notifier
) -> list[str]:
    """Relay every progress line to the end of the stream, closing it however the loop ends;
    return the statuses seen."""
    statuses: list[str] = []
    async with aclosing(stream) as lines:
        async for line in lines:
            statuses.append(line.status)
            await notify(phase, line.status, line.completed, line.total, digest=line.digest)
    return statuses


async def upload_and_create(
    client: PackagingClient,
    target: ModelName,
    plan: CreatePlan,
    digest_cache: DigestCache | None,
    on_progress: PackagingProgressCallback | None,
    quantize: str | None,
    max_parallel_uploads: int,
) -> CreateResult:
    """The part that changes Ollama, once everything is checked: upload, create, read back."""
    with call_cache(digest_cache) as cache:
        transfers = await upload_files(
            client,
            [(u.key, u.path) for u in plan.uploads],
            checked={u.path: u.checked for u in plan.uploads if u.checked is not None},
            cache=cache,
            on_progress=on_progress,
            max_parallel=max_parallel_uploads,
        )
    request = create_request(target, plan, transfers, quantize=quantize)
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


def plan_for(
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


def require_local_base(base: ModelName, given: str) -> None:
    """A `:cloud` base names a model run on ollama.com: Ollama makes a remote stub for it and
    ignores the adapter (contract 5.1, 13.4)."""
    if base.source == "cloud":
        raise AdapterBaseMismatch(
            f"base model {given!r} runs on ollama.com: for a cloud base Ollama makes a remote "
            "stub and ignores the adapter; use a local base (the name without :cloud or -cloud)"
        )
