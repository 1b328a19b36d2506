"""`OllamaConnector`: the seed's plain Python API (shared/seed/OLLAMA_CONNECTOR.md), on top of the
same `tools/` functions that the MCP server calls.

Where the seed and modern Ollama disagree, modern Ollama wins: models are created with the JSON
create request (the Modelfile is parsed here, local files are uploaded as blobs), and names are
Ollama's, compared as Ollama compares them (`ModelRef`), so `m.name == "my-custom-model"` holds
for the model Ollama lists as `my-custom-model:latest`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import closing
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tools.api.client import OllamaClient
from tools.api.names import parse_model_name, same_model
from tools.api.types import (
    ChatResponse,
    EmbedResponse,
    ModelSummary,
    ProgressCallback,
    ProgressResponse,
)
from tools.artifact_metadata import artifact_metadata
from tools.catalog.cache import AnswerSource, Cached, MetadataCache
from tools.catalog.model_catalog import DEFAULT_OFFLINE_WINDOW, ModelCatalog
from tools.errors import (
    InvalidArgument,
    InvalidMetadata,
    InvalidModelName,
    ModelNotFound,
    NotConnected,
    OllamaError,
)
from tools.local.path_gate import AllowedRoots
from tools.modelfile.document import generate_modelfile
from tools.packaging.adapter import package_adapter
from tools.packaging.blobs import DigestCache
from tools.packaging.create import create_model
from tools.packaging.reports import (
    CreateResult,
    PackageReport,
    PackagingProgress,
    PackagingProgressCallback,
)

logger = logging.getLogger(__name__)

TokenCallback = Callable[[str], Awaitable[None]]


class ModelRef(str):
    """A model name as Ollama lists it, equal to any name Ollama would take for the same model.

    `ModelRef("llama3:latest") == "LLAMA3"` is true, as it is for Ollama's own lookups, and equal
    refs hash alike (the hash is the normalised name's), so they share one set or dict slot. A
    plain `str` key still hashes as its text: look names up through `ModelRef`s.
    """

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, str):
            return NotImplemented
        if str.__eq__(self, other):
            return True
        try:
            return same_model(self, other)
        except InvalidModelName:  # not a model name at all, so not this one
            return False

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        try:
            return hash(parse_model_name(self).match_key)
        except InvalidModelName:  # not a model name: equal only to the same text
            return str.__hash__(self)


class ModelInfo(BaseModel):
    """One installed model, as the seed's `list_models` and `get_model_metadata` give it."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: ModelRef
    size: int
    digest: str
    modified_at: datetime | None
    details: dict[str, Any] = Field(default_factory=dict)  # the seed reads `details.get(...)`
    capabilities: list[str] | None = None
    source: AnswerSource = "live"  # live, cache, stale (Ollama unreachable) or disk (read offline)
    cached_at: datetime | None = None


class ModelMetadata(ModelInfo):
    """`ModelInfo` plus what `/api/show` adds."""

    template: str = ""
    system: str = ""
    license: str = ""
    parameters: str = ""
    model_info: dict[str, Any] = Field(default_factory=dict)


class OllamaConnector:
    """The seed's connector. `allowed_roots` limits which local files it reads (default: any)."""

    def __init__(
        self,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        cache_ttl: float = 24 * 3600,
        allowed_roots: Sequence[str | os.PathLike[str]] = (os.sep,),
        offline_window: float = DEFAULT_OFFLINE_WINDOW,
    ) -> None:
        """`offline_window`: seconds during which an Ollama found unreachable is not asked
        again; list and metadata calls answer from the cache or Ollama's folder at once (0: ask
        every time)."""
        if offline_window < 0:
            raise InvalidArgument(
                f"offline_window must be 0 or more seconds, not {offline_window!r}"
            )
        self._offline_window = offline_window
        self._cache = MetadataCache(cache_dir, ttl=cache_ttl)
        self._readable = AllowedRoots(allowed_roots)
        self._client: OllamaClient | None = None
        self._catalog: ModelCatalog | None = None
        self._refused: tuple[str, str] | None = None  # (base_url, why) of a refused connect

    # --- connection -----------------------------------------------------------------------

    async def connect(self, credentials: Mapping[str, Any]) -> bool:
        """Use `credentials["base_url"]` (else `OLLAMA_HOST`, else 127.0.0.1:11434) and check that
        Ollama answers. Raises `ConnectionError` (`OllamaUnavailable`) when it does not, and
        `ValueError` for an address that is not one; after that, calls raise `NotConnected`
        until a `connect` succeeds, rather than go to another server."""
        await self.disconnect()
        base_url = credentials.get("base_url") or credentials.get("host")
        try:
            client = OllamaClient(base_url)
        except ValueError as exc:
            self._refused = (str(base_url), str(exc))
            raise
        self._refused = None
        self._client = client
        self._catalog = ModelCatalog(self._client, self._cache, offline_window=self._offline_window)
        await self._client.heartbeat()
        return True

    async def disconnect(self) -> None:
        if self._client is not None:
            await self._client.aclose()
        self._client = None
        self._catalog = None

    async def verify_connection(self) -> bool:
        """Whether Ollama answers now; never raises."""
        try:
            await self.client.heartbeat()
        except (OllamaError, ValueError):  # ValueError: OLLAMA_HOST is not an address
            return False
        return True

    @property
    def client(self) -> OllamaClient:
        """The client; made on first use when `connect` was never called. After a refused
        `connect`, `NotConnected`."""
        if self._client is None:
            if self._refused is not None:
                raise NotConnected(*self._refused)
            self._client = OllamaClient()
            self._catalog = ModelCatalog(
                self._client, self._cache, offline_window=self._offline_window
            )
        return self._client

    @property
    def catalog(self) -> ModelCatalog:
        self.client  # noqa: B018 - makes the catalog along with the client
        assert self._catalog is not None
        return self._catalog

    # --- models ---------------------------------------------------------------------------

    async def list_models(self, *, use_cache: bool = True) -> list[ModelInfo]:
        """Installed models, newest first; cached, and read from disk when Ollama is down."""
        found = await self.catalog.list_models(use_cache=use_cache)
        return [ModelInfo(**_summary_fields(m, found)) for m in found.value]

    async def get_model_metadata(
        self, name: str, *, use_cache: bool = True
    ) -> ModelMetadata | None:
        """Metadata of one installed model, or None when it is not installed."""
        try:
            summary = await self.catalog.find_model(name, use_cache=use_cache)
            shown = await self.catalog.get_model_metadata(name, use_cache=use_cache)
        except ModelNotFound:
            return None
        show = shown.value
        return ModelMetadata(
            **{
                **_summary_fields(summary.value, shown),
                "capabilities": show.capabilities or summary.value.capabilities,
            },
            template=show.template,
            system=show.system,
            license=show.license,
            parameters=show.parameters,
            model_info=show.model_info,
        )

    async def pull_model(
        self,
        name: str,
        *,
        stream: bool = True,
        on_progress: ProgressCallback | None = None,
    ) -> ProgressResponse:
        """Pull from the registry; progress goes to `on_progress` (or the log when `stream`)."""
        return await self._transfer(self.client.pull, name, on_progress or _log_line(stream))

    async def push_model(
        self,
        name: str,
        *,
        stream: bool = True,
        on_progress: ProgressCallback | None = None,
    ) -> ProgressResponse:
        """Push `namespace/model[:tag]` to its registry (needs a key Ollama is signed in with)."""
        return await self._transfer(self.client.push, name, on_progress or _log_line(stream))

    async def _transfer(
        self,
        transfer: Callable[..., Awaitable[ProgressResponse]],
        name: str,
        on_progress: ProgressCallback | None,
    ) -> ProgressResponse:
        try:
            return await transfer(name, on_progress=on_progress)
        finally:
            await self.catalog.invalidate(name)

    async def delete_model(self, name: str) -> None:
        try:
            await self.client.delete(name)
        finally:
            await self.catalog.invalidate(name)

    async def copy_model(self, source: str, destination: str) -> None:
        try:
            await self.client.copy(source, destination)
        finally:
            await self.catalog.invalidate(destination)

    # --- Modelfiles and packaging ---------------------------------------------------------

    def generate_modelfile(
        self,
        base_model: str,
        adapter_path: str | os.PathLike[str] | None = None,
        system_prompt: str | None = None,
        template: str | None = None,
        parameters: Mapping[str, object] | None = None,
        messages: Sequence[Mapping[str, str]] | None = None,
        license: str | Sequence[str] | None = None,
    ) -> str:
        return generate_modelfile(
            base_model, adapter_path, system_prompt, template, parameters, messages, license
        )

    async def create_model(
        self,
        name: str,
        modelfile: str,
        *,
        stream: bool = True,
        base_dir: str | os.PathLike[str] | None = None,
        on_progress: PackagingProgressCallback | None = None,
        quantize: str | None = None,
    ) -> CreateResult:
        """Create `name` from Modelfile text; local paths are relative to `base_dir` (default:
        the current folder). Raises `RuntimeError` (`OllamaAPIError`) when Ollama refuses."""
        try:
            with closing(self._digest_cache()) as digests:
                return await create_model(
                    self.client,
                    name,
                    modelfile=modelfile,
                    base_dir=base_dir,
                    readable=self._readable,
                    digest_cache=digests,
                    on_progress=on_progress or _log_step(stream),
                    quantize=quantize,
                )
        finally:
            await self.catalog.invalidate(name)

    def _digest_cache(self) -> DigestCache:
        """File digests, kept beside the metadata cache: all the connector keeps is there."""
        return DigestCache(self._cache.folder)

    async def upload_artifact(
        self,
        path: str | os.PathLike[str],
        metadata: Mapping[str, Any],
        *,
        on_progress: PackagingProgressCallback | None = None,
    ) -> str:
        """Package the adapter at `path` as the model `metadata["name"]` on `metadata["base_model"]`
        and return the model's name. Raises `FileNotFoundError` for a missing path and
        `ValueError` for bad metadata or an unusable adapter."""
        report = await self.package_adapter(path, metadata, on_progress=on_progress)
        return ModelRef(report.model)

    async def package_adapter(
        self,
        path: str | os.PathLike[str],
        metadata: Mapping[str, Any],
        *,
        on_progress: PackagingProgressCallback | None = None,
    ) -> PackageReport:
        """`upload_artifact` with the full report (digest, bytes sent and skipped, push)."""
        name, base_model, options = artifact_metadata(metadata)
        try:
            with closing(self._digest_cache()) as digests:
                return await package_adapter(
                    self.client,
                    path,
                    name,
                    base_model,
                    readable=self._readable,
                    digest_cache=digests,
                    on_progress=on_progress or _log_step(True),
                    **options,
                )
        finally:
            await self.catalog.invalidate(name, base_model)

    # --- inference ------------------------------------------------------------------------

    async def generate(
        self,
        model: str,
        prompt: str,
        *,
        stream: bool = False,
        options: Mapping[str, Any] | None = None,
        system: str | None = None,
        keep_alive: float | str | None = None,
        on_token: TokenCallback | None = None,
    ) -> str:
        """The model's answer to `prompt`. With `stream`, each piece also goes to `on_token`."""
        if not stream:
            answer = await self.client.generate(
                model, prompt, options=options, system=system, keep_alive=keep_alive
            )
            return answer.response
        pieces: list[str] = []
        async for chunk in self.client.generate_stream(
            model, prompt, options=options, system=system, keep_alive=keep_alive
        ):
            if chunk.response:
                pieces.append(chunk.response)
                if on_token is not None:
                    await on_token(chunk.response)
        return "".join(pieces)

    def generate_stream(
        self, model: str, prompt: str, *, options: Mapping[str, Any] | None = None
    ) -> AsyncIterator[str]:
        """The answer piece by piece."""
        return _texts(self.client.generate_stream(model, prompt, options=options))

    async def chat(
        self,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        *,
        options: Mapping[str, Any] | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
    ) -> ChatResponse:
        return await self.client.chat(model, messages, options=options, tools=tools)

    async def embed(self, model: str, input: str | Sequence[str]) -> EmbedResponse:
        return await self.client.embed(model, input)


def _summary_fields(model: ModelSummary, found: Cached[Any]) -> dict[str, Any]:
    """`ModelInfo`'s fields from a list entry, with where the answer came from."""
    return {
        "name": ModelRef(model.name),
        "size": model.size,
        "digest": model.digest,
        "modified_at": model.modified_at,
        "details": model.details.model_dump(exclude_none=True),
        "capabilities": model.capabilities,
        "source": found.source,
        "cached_at": found.cached_at,
    }


async def _texts(chunks: AsyncIterator[Any]) -> AsyncIterator[str]:
    async for chunk in chunks:
        if chunk.response:
            yield chunk.response


def _log_line(enabled: bool) -> ProgressCallback | None:
    if not enabled:
        return None

    async def log(line: ProgressResponse) -> None:
        logger.info("%s", line.status)

    return log


def _log_step(enabled: bool) -> PackagingProgressCallback | None:
    if not enabled:
        return None

    async def log(step: PackagingProgress) -> None:
        logger.info("%s: %s", step.phase, step.message)

    return log


__all__ = [
    "InvalidMetadata",
    "ModelInfo",
    "ModelMetadata",
    "ModelRef",
    "NotConnected",
    "OllamaConnector",
]
