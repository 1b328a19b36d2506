"""The one place that speaks Ollama's HTTP API (contract sections 1 and 2): `OllamaClient`, one
short method per endpoint.

Every method validates its model names first, builds its body from a model of `tools.api.bodies`,
sends one request through `tools.api.transport` (retries, timeouts, NDJSON framing), and returns
pydantic models from `tools.api.types`; every failure is an exception from `tools.errors`, mapped
from Ollama's answers in `tools.api.answers`. Streaming endpoints come in two forms: `*_stream` (an
async generator of typed lines; closing it, e.g. with `contextlib.aclosing`, ends the request at
once) and a plain coroutine that waits for the end and returns the final object.

Decisions worth knowing:
* A 200 is not success: every NDJSON line is checked for an `error` key (contract 1.3).
* A stream that stops before its last line (`done: true` for generate/chat, `success` for pull,
  push and create) raises `StreamInterrupted` (a `ConnectionError`).
* No read timeout by default for inference, pull, push, create and uploads: a first model load sends
  nothing for minutes, and disconnecting would cancel the load (contract section 4).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import aclosing
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import httpx2

from tools.api.answers import JSON_CREATE, Call, parse_version
from tools.api.bodies import (
    ChatRequest,
    CopyRequest,
    CreateRequest,
    DeleteRequest,
    EmbedRequest,
    Format,
    GenerateRequest,
    ImageInput,
    ShowRequest,
    ToolSpec,
    TransferRequest,
    checked_arguments,
)
from tools.api.cloud import CloudRoutes
from tools.api.host import resolve_base_url
from tools.api.names import parse_model_name
from tools.api.options import check_options
from tools.api.transport import UPLOAD_CHUNK_SIZE, Sleep, Transport
from tools.api.types import (
    ByteProgressCallback,
    ChatResponse,
    EmbedResponse,
    GenerateResponse,
    KeepAlive,
    ListResponse,
    Message,
    ProcessResponse,
    ProgressCallback,
    ProgressResponse,
    ShowResponse,
    ThinkLevel,
    VersionResponse,
)
from tools.errors import InvalidArgument, InvalidDigest, ProtocolError
from tools.local.path_gate import open_regular

__all__ = ["UPLOAD_CHUNK_SIZE", "OllamaClient", "normalize_digest"]

logger = logging.getLogger(__name__)

_DIGEST = re.compile(r"sha256[:-]([0-9a-fA-F]{64})")


class OllamaClient(CloudRoutes):
    """An async client for one Ollama server. Use as `async with OllamaClient() as ollama: ...`.
    The routes where Ollama speaks for ollama.com come from `tools.api.cloud.CloudRoutes`."""

    def __init__(
        self,
        host: str | None = None,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float | None = None,
        metadata_timeout: float | None = 30.0,
        max_retries: int = 3,
        backoff_base: float = 0.25,
        backoff_max: float = 4.0,
        headers: Mapping[str, str] | None = None,
        sleep: Sleep | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        if max_retries < 0 or backoff_base < 0 or backoff_max < 0:
            raise InvalidArgument("max_retries, backoff_base and backoff_max must not be negative")
        self.base_url = resolve_base_url(host)
        self._transport = Transport(
            self.base_url,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            metadata_timeout=metadata_timeout,
            max_retries=max_retries,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
            headers=headers,
            sleep=sleep,
            transport=transport,
        )

    # --- lifecycle --------------------------------------------------------------------------

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def __aenter__(self) -> OllamaClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def answers_received(self) -> int:
        """How many responses Ollama has sent this client (any status, any call)."""
        return self._transport.answers_received

    # --- server -----------------------------------------------------------------------------

    async def version(self) -> str:
        """The server's version string (`GET /api/version`), e.g. `0.33.0-rc2`."""
        call = Call("GET", "/api/version")
        answer = await self._transport.json(call, None, VersionResponse, idempotent=True)
        self._transport.server_version = answer.version
        return answer.version

    def forget_version(self) -> None:
        """Ask the version afresh before the next version-dependent request: the server may
        have been upgraded (or replaced) while it did not answer."""
        self._transport.server_version = None

    async def heartbeat(self) -> None:
        """`HEAD /`: returns if Ollama answers, raises `OllamaUnavailable` if nothing does."""
        await self._transport.empty(Call("HEAD", "/"), None, idempotent=True)

    async def reachable(self) -> bool:
        """One `HEAD /` attempt, without retries: whether anything answers at the base URL now.
        The cheap probe of a caller that remembers Ollama was down; never raises for that."""
        return await self._transport.answers_once(Call("HEAD", "/"))

    async def server_supports_json_create(self) -> bool:
        """Whether the server takes the JSON create request (Ollama >= 0.5.5). The version is
        asked once per client; a development build (`0.0.0`) counts as current."""
        version = self._transport.server_version or await self.version()
        parsed = parse_version(version)
        if parsed is None:
            logger.warning("cannot read Ollama version %r; assuming a current server", version)
            return True
        return parsed == (0, 0, 0) or parsed >= JSON_CREATE

    # --- models -----------------------------------------------------------------------------

    async def list(self) -> ListResponse:
        """Installed models (`GET /api/tags`), newest first."""
        call = Call("GET", "/api/tags")
        return await self._transport.json(call, None, ListResponse, idempotent=True)

    async def show(self, model: str, *, verbose: bool = False) -> ShowResponse:
        """Details of one installed model (`POST /api/show`)."""
        name = _checked_name(model)
        with checked_arguments("show"):
            request = ShowRequest(model=name, verbose=verbose or None)
        call = Call("POST", "/api/show", name)
        return await self._transport.json(call, request.body(), ShowResponse, idempotent=True)

    async def ps(self) -> ProcessResponse:
        """Models loaded in memory (`GET /api/ps`)."""
        call = Call("GET", "/api/ps")
        return await self._transport.json(call, None, ProcessResponse, idempotent=True)

    async def copy(self, source: str, destination: str) -> None:
        """Copy a model under a new name (`POST /api/copy`)."""
        request = CopyRequest(source=_checked_name(source), destination=_checked_name(destination))
        call = Call("POST", "/api/copy", request.source)
        await self._transport.empty(call, request.body(), idempotent=False)

    async def delete(self, model: str) -> None:
        """Delete a model and the layers no other model uses (`DELETE /api/delete`)."""
        request = DeleteRequest(model=_checked_name(model))
        call = Call("DELETE", "/api/delete", request.model)
        await self._transport.empty(call, request.body(), idempotent=False)

    def pull_stream(
        self, model: str, *, insecure: bool = False
    ) -> AsyncGenerator[ProgressResponse]:
        """Pull from a registry; yields every progress line (`POST /api/pull`)."""
        return self._transfer("/api/pull", model, insecure)

    async def pull(
        self, model: str, *, insecure: bool = False, on_progress: ProgressCallback | None = None
    ) -> ProgressResponse:
        """Pull from a registry and return the last progress line (normally `success`)."""
        return await _last(self.pull_stream(model, insecure=insecure), on_progress)

    def push_stream(
        self, model: str, *, insecure: bool = False
    ) -> AsyncGenerator[ProgressResponse]:
        """Push to a registry; yields every progress line (`POST /api/push`)."""
        return self._transfer("/api/push", model, insecure)

    async def push(
        self, model: str, *, insecure: bool = False, on_progress: ProgressCallback | None = None
    ) -> ProgressResponse:
        """Push to a registry and return the last progress line (normally `success`)."""
        return await _last(self.push_stream(model, insecure=insecure), on_progress)

    def create_stream(self, request: CreateRequest) -> AsyncGenerator[ProgressResponse]:
        """Create a model from the JSON request of Ollama >= 0.5.5 (`POST /api/create`).

        A create from a model that is not local streams a whole pull, with its own `success`,
        before its own lines; only the end of the stream means the create is done.
        """
        _checked_name(request.model)
        base = _checked_name(request.from_) if request.from_ is not None else None
        body = {**request.body(), "stream": True}
        # The model a create can miss is its base, which Ollama pulls when it is not local.
        call = Call("POST", "/api/create", base)
        return self._transport.stream(call, body, ProgressResponse, _is_success)

    async def create(
        self, request: CreateRequest, *, on_progress: ProgressCallback | None = None
    ) -> ProgressResponse:
        """Create a model and return the last progress line (normally `success`)."""
        return await _last(self.create_stream(request), on_progress)

    def _transfer(self, path: str, model: str, insecure: bool) -> AsyncGenerator[ProgressResponse]:
        name = _checked_name(model)
        request = TransferRequest(model=name, insecure=insecure or None)
        call = Call("POST", path, name)
        return self._transport.stream(call, request.body(), ProgressResponse, _is_success)

    # --- inference --------------------------------------------------------------------------

    def generate_stream(
        self,
        model: str,
        prompt: str = "",
        *,
        suffix: str | None = None,
        system: str | None = None,
        template: str | None = None,
        raw: bool | None = None,
        format: Format | None = None,
        images: Sequence[ImageInput] | None = None,
        options: Mapping[str, Any] | None = None,
        keep_alive: KeepAlive | None = None,
        think: ThinkLevel | None = None,
        context: Sequence[int] | None = None,
        truncate: bool | None = None,
    ) -> AsyncGenerator[GenerateResponse]:
        """Complete `prompt`, yielding chunks; an empty prompt only loads the model."""
        name = _checked_name(model)
        check_options(options)
        with checked_arguments("generate"):
            request = GenerateRequest(
                model=name, prompt=prompt, suffix=suffix, system=system, template=template,
                raw=raw, format=format, images=images, options=options, keep_alive=keep_alive,
                think=think, context=context, truncate=truncate, stream=True,
            )  # fmt: skip
        call = Call("POST", "/api/generate", name)
        return self._transport.stream(call, request.body(), GenerateResponse, _is_done)

    async def generate(
        self,
        model: str,
        prompt: str = "",
        *,
        suffix: str | None = None,
        system: str | None = None,
        template: str | None = None,
        raw: bool | None = None,
        format: Format | None = None,
        images: Sequence[ImageInput] | None = None,
        options: Mapping[str, Any] | None = None,
        keep_alive: KeepAlive | None = None,
        think: ThinkLevel | None = None,
        context: Sequence[int] | None = None,
        truncate: bool | None = None,
    ) -> GenerateResponse:
        """Complete `prompt` and return the whole answer (`stream: false`)."""
        name = _checked_name(model)
        check_options(options)
        with checked_arguments("generate"):
            request = GenerateRequest(
                model=name, prompt=prompt, suffix=suffix, system=system, template=template,
                raw=raw, format=format, images=images, options=options, keep_alive=keep_alive,
                think=think, context=context, truncate=truncate, stream=False,
            )  # fmt: skip
        call = Call("POST", "/api/generate", name)
        return await self._transport.json(
            call, request.body(), GenerateResponse, idempotent=False, long=True
        )

    def chat_stream(
        self,
        model: str,
        messages: Sequence[Message | Mapping[str, Any]],
        *,
        tools: Sequence[ToolSpec | Mapping[str, Any]] | None = None,
        format: Format | None = None,
        options: Mapping[str, Any] | None = None,
        keep_alive: KeepAlive | None = None,
        think: ThinkLevel | None = None,
        truncate: bool | None = None,
    ) -> AsyncGenerator[ChatResponse]:
        """Answer the conversation, yielding chunks; no messages only loads the model."""
        name = _checked_name(model)
        check_options(options)
        with checked_arguments("chat"):
            request = ChatRequest(
                model=name, messages=messages, tools=tools, format=format, options=options,
                keep_alive=keep_alive, think=think, truncate=truncate, stream=True,
            )  # fmt: skip
        call = Call("POST", "/api/chat", name)
        return self._transport.stream(call, request.body(), ChatResponse, _is_done)

    async def chat(
        self,
        model: str,
        messages: Sequence[Message | Mapping[str, Any]],
        *,
        tools: Sequence[ToolSpec | Mapping[str, Any]] | None = None,
        format: Format | None = None,
        options: Mapping[str, Any] | None = None,
        keep_alive: KeepAlive | None = None,
        think: ThinkLevel | None = None,
        truncate: bool | None = None,
    ) -> ChatResponse:
        """Answer the conversation and return the whole message (`stream: false`)."""
        name = _checked_name(model)
        check_options(options)
        with checked_arguments("chat"):
            request = ChatRequest(
                model=name, messages=messages, tools=tools, format=format, options=options,
                keep_alive=keep_alive, think=think, truncate=truncate, stream=False,
            )  # fmt: skip
        call = Call("POST", "/api/chat", name)
        return await self._transport.json(
            call, request.body(), ChatResponse, idempotent=False, long=True
        )

    async def embed(
        self,
        model: str,
        input: str | Sequence[str],
        *,
        truncate: bool | None = None,
        dimensions: int | None = None,
        options: Mapping[str, Any] | None = None,
        keep_alive: KeepAlive | None = None,
    ) -> EmbedResponse:
        """L2-normalised embeddings of one text or several (`POST /api/embed`)."""
        name = _checked_name(model)
        check_options(options)
        texts: str | list[str] = input if isinstance(input, str) else list(input)
        if not isinstance(texts, str) and not all(isinstance(text, str) for text in texts):
            raise TypeError("embed input must be a string or a sequence of strings")
        with checked_arguments("embed"):
            request = EmbedRequest(
                model=name, input=texts, truncate=truncate, dimensions=dimensions,
                options=options, keep_alive=keep_alive,
            )  # fmt: skip
        call = Call("POST", "/api/embed", name)
        return await self._transport.json(
            call, request.body(), EmbedResponse, idempotent=False, long=True
        )

    # --- blobs ------------------------------------------------------------------------------

    async def blob_exists(self, digest: str) -> bool:
        """Whether the server has the blob (`HEAD /api/blobs/:digest`)."""
        call = Call("HEAD", f"/api/blobs/{normalize_digest(digest)}")
        response = await self._transport.send(call, None, idempotent=True, accept=frozenset({404}))
        await response.aclose()
        return response.status_code == 200

    async def upload_blob(
        self,
        path: Path,
        digest: str,
        *,
        expected: os.stat_result | None = None,
        on_progress: ByteProgressCallback | None = None,
    ) -> bool:
        """Upload a file as the blob `digest` unless the server already has it.

        Returns False when the blob was there (nothing is sent; `on_progress` then hears
        (size, size) once), True when it was uploaded. The file is opened once, before any
        request, and streamed from that descriptor in chunks read in a worker thread, so memory
        stays flat and the event loop is never blocked. With `expected` (the `os.stat` the path
        gate checked), `path` is opened as it is, without following any symlink, and must still
        be that file (same device and inode): otherwise `NotARegularFile`, before a byte is
        sent. If the file changed since `digest` was computed, Ollama answers 400
        `digest mismatch, …`, raised as `OllamaAPIError` with that text.
        """
        digest = normalize_digest(digest)
        # A path given without a gate's check is resolved first, as the caller wrote it.
        real = path if expected is not None else await anyio.to_thread.run_sync(path.resolve)
        handle = await anyio.to_thread.run_sync(open_regular, real, expected)
        try:
            size = os.fstat(handle.fileno()).st_size
            if await self.blob_exists(digest):
                if on_progress is not None:
                    await on_progress(size, size)
                return False
            call = Call("POST", f"/api/blobs/{digest}")
            status = await self._transport.upload(call, handle, size, on_progress)
        finally:
            # Closed synchronously: an awaited close would itself be cancelled with the upload.
            handle.close()
        # 200 means the blob appeared between HEAD and POST; Ollama then ignores the body.
        return status == 201


# --- helpers ----------------------------------------------------------------------------------


def _checked_name(model: str) -> str:
    """The name as it goes on the wire; raises `InvalidModelName` before anything is sent."""
    parse_model_name(model)
    return model.strip()


def normalize_digest(digest: str) -> str:
    """`sha256:<64 lower-case hex>`, the only form Ollama's blob POST accepts (contract 2.15)."""
    found = _DIGEST.fullmatch(digest.strip())
    if found is None:
        raise InvalidDigest(f"invalid blob digest {digest!r}; expected sha256:<64 hex characters>")
    return f"sha256:{found.group(1).lower()}"


async def _last(
    stream: AsyncGenerator[ProgressResponse], on_progress: ProgressCallback | None
) -> ProgressResponse:
    last: ProgressResponse | None = None
    async with aclosing(stream) as lines:
        async for line in lines:
            last = line
            if on_progress is not None:
                await on_progress(line)
    if last is None:  # pragma: no cover - the transport raises StreamInterrupted for no lines
        raise ProtocolError("Ollama sent no progress lines")
    return last


def _is_success(line: ProgressResponse) -> bool:
    return line.status == "success"


def _is_done(chunk: GenerateResponse | ChatResponse) -> bool:
    return chunk.done
