"""The one place that speaks Ollama's HTTP API (contract sections 1 and 2).

`OllamaClient` wraps one shared `httpx2.AsyncClient`. Every method validates its model names
first, sends one request, and returns pydantic models from `tools.types`; every failure is an
exception from `tools.errors`. Streaming endpoints come in two forms: `*_stream` (an async
generator of typed lines; closing it, e.g. with `contextlib.aclosing`, ends the request at once) and
a plain coroutine that waits for the end and returns the final object.

Decisions worth knowing:
* A 200 is not success: every NDJSON line is checked for an `error` key (contract 1.3).
* Lines are split on `\\n` bytes only. httpx's `aiter_lines` also splits on U+0085 (NEL), which
  Go's JSON encoder leaves unescaped (it escapes control characters, U+2028 and U+2029), so a model
  that emits it would otherwise break the stream.
* A stream that stops before its last line (`done: true` for generate/chat, `success` for pull,
  push and create), whether the connection dropped or the body just ended, raises
  `StreamInterrupted` (a `ConnectionError`): Ollama stopped, or the network did.
* Retries (exponential backoff with jitter, bounded): connection refused or reset on idempotent
  requests (GET, HEAD, POST /api/show), and 503 "server busy" on any request. Nothing else.
* No read timeout by default for inference, pull, push, create and uploads: a first model load sends
  nothing for minutes, and disconnecting would cancel the load (contract section 4).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import random
import re
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import IO, Any, Literal, TypeVar

import anyio
import anyio.to_thread
import httpx2
from pydantic import BaseModel, ValidationError

from tools.errors import (
    ModelNotFound,
    OllamaAPIError,
    OllamaTimeout,
    OllamaUnavailable,
    ProtocolError,
    ServerBusy,
    StreamError,
    StreamInterrupted,
    UnsupportedServer,
)
from tools.files import open_regular
from tools.host import is_loopback, resolve_base_url
from tools.names import parse_model_name
from tools.types import (
    ChatResponse,
    CreateRequest,
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
    ToolSpec,
    UploadProgressCallback,
    VersionResponse,
)

logger = logging.getLogger(__name__)

_JSON_CREATE = (0, 5, 5)  # the first Ollama that takes the JSON create request (contract 5.1)
JSON_CREATE_VERSION = ".".join(map(str, _JSON_CREATE))
UPLOAD_CHUNK_SIZE = 1 << 20  # 1 MiB: few enough reads to be fast, small enough to keep memory flat

Format = Literal["json"] | Mapping[str, Any]
ImageInput = str | bytes  # base64 text, or raw bytes that are encoded here
Sleep = Callable[[float], Awaitable[None]]

_ResponseT = TypeVar("_ResponseT", bound=BaseModel)

_DIGEST = re.compile(r"sha256[:-]([0-9a-fA-F]{64})")
_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")
_NOT_FOUND = (
    re.compile(r"model '(.*)' not found"),  # generate, chat, show (normalised name), delete
    re.compile(r'model "(.*)" not found(, try pulling it first)?'),  # embed, copy
)
_PULL_NOT_FOUND = "pull model manifest: file does not exist"
_PUSH_NOT_FOUND = re.compile(r"open .*manifests.*: no such file or directory")
_OLD_CREATE = "path or Modelfile are required"
_FORBIDDEN_HINT = "Ollama refused the request's Host or Origin; check OLLAMA_HOST/OLLAMA_ORIGINS"


@dataclass(frozen=True)
class _Call:
    """What a request was, for error messages and for mapping Ollama's answers."""

    method: str
    path: str
    model: str | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


class OllamaClient:
    """An async client for one Ollama server. Use as `async with OllamaClient() as ollama: ...`."""

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
            raise ValueError("max_retries, backoff_base and backoff_max must not be negative")
        self.base_url = resolve_base_url(host)
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._sleep: Sleep = sleep or anyio.sleep
        # Quick calls get a read timeout; long ones none, so first loads and big pulls can finish.
        self._quick = httpx2.Timeout(
            connect=connect_timeout, read=metadata_timeout, write=metadata_timeout, pool=None
        )
        self._long = httpx2.Timeout(
            connect=connect_timeout, read=read_timeout, write=read_timeout, pool=None
        )
        self._version: str | None = None
        self._http = httpx2.AsyncClient(
            base_url=self.base_url,
            headers=_headers(headers),
            timeout=self._long,
            follow_redirects=True,
            # Like Go's http.ProxyFromEnvironment, never send loopback traffic through a proxy.
            trust_env=not is_loopback(self.base_url),
            transport=transport,
        )

    # --- lifecycle --------------------------------------------------------------------------

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> OllamaClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- server -----------------------------------------------------------------------------

    async def version(self) -> str:
        """The server's version string (`GET /api/version`), e.g. `0.33.0-rc2`."""
        call = _Call("GET", "/api/version")
        answer = await self._json(call, None, VersionResponse, idempotent=True)
        self._version = answer.version
        return answer.version

    async def heartbeat(self) -> None:
        """`HEAD /`: returns if Ollama answers, raises `OllamaUnavailable` if nothing does."""
        await self._empty(_Call("HEAD", "/"), None, idempotent=True)

    async def reachable(self) -> bool:
        """One `HEAD /` attempt, without retries: whether anything answers at the base URL now.
        The cheap probe of a caller that remembers Ollama was down; never raises for that."""
        try:
            response = await self._send(_Call("HEAD", "/"), None, idempotent=False)
        except (OllamaUnavailable, OllamaTimeout):
            return False
        except OllamaAPIError:
            return True  # it answered, with an error status
        await response.aclose()
        return True

    async def server_supports_json_create(self) -> bool:
        """Whether the server takes the JSON create request (Ollama >= 0.5.5). The version is
        asked once per client; a development build (`0.0.0`) counts as current."""
        version = self._version or await self.version()
        parsed = _parse_version(version)
        if parsed is None:
            logger.warning("cannot read Ollama version %r; assuming a current server", version)
            return True
        return parsed == (0, 0, 0) or parsed >= _JSON_CREATE

    # --- models -----------------------------------------------------------------------------

    async def list(self) -> ListResponse:
        """Installed models (`GET /api/tags`), newest first."""
        return await self._json(_Call("GET", "/api/tags"), None, ListResponse, idempotent=True)

    async def show(self, model: str, *, verbose: bool = False) -> ShowResponse:
        """Details of one installed model (`POST /api/show`)."""
        name = _checked_name(model)
        body = _body(model=name, verbose=verbose or None)
        call = _Call("POST", "/api/show", name)
        return await self._json(call, body, ShowResponse, idempotent=True)

    async def ps(self) -> ProcessResponse:
        """Models loaded in memory (`GET /api/ps`)."""
        return await self._json(_Call("GET", "/api/ps"), None, ProcessResponse, idempotent=True)

    async def copy(self, source: str, destination: str) -> None:
        """Copy a model under a new name (`POST /api/copy`)."""
        body = {"source": _checked_name(source), "destination": _checked_name(destination)}
        await self._empty(_Call("POST", "/api/copy", body["source"]), body, idempotent=False)

    async def delete(self, model: str) -> None:
        """Delete a model and the layers no other model uses (`DELETE /api/delete`)."""
        name = _checked_name(model)
        await self._empty(_Call("DELETE", "/api/delete", name), {"model": name}, idempotent=False)

    def pull_stream(
        self, model: str, *, insecure: bool = False
    ) -> AsyncGenerator[ProgressResponse]:
        """Pull from a registry; yields every progress line (`POST /api/pull`)."""
        return self._progress("/api/pull", model, insecure)

    async def pull(
        self, model: str, *, insecure: bool = False, on_progress: ProgressCallback | None = None
    ) -> ProgressResponse:
        """Pull from a registry and return the last progress line (normally `success`)."""
        return await _last(self.pull_stream(model, insecure=insecure), on_progress)

    def push_stream(
        self, model: str, *, insecure: bool = False
    ) -> AsyncGenerator[ProgressResponse]:
        """Push to a registry; yields every progress line (`POST /api/push`)."""
        return self._progress("/api/push", model, insecure)

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
        call = _Call("POST", "/api/create", base)
        return self._stream(call, body, ProgressResponse, _is_success)

    async def create(
        self, request: CreateRequest, *, on_progress: ProgressCallback | None = None
    ) -> ProgressResponse:
        """Create a model and return the last progress line (normally `success`)."""
        return await _last(self.create_stream(request), on_progress)

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
        body = _generate_body(
            name, prompt, suffix, system, template, raw, format, images, options, keep_alive,
            think, context, truncate, stream=True,
        )  # fmt: skip
        return self._stream(_Call("POST", "/api/generate", name), body, GenerateResponse, _is_done)

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
        body = _generate_body(
            name, prompt, suffix, system, template, raw, format, images, options, keep_alive,
            think, context, truncate, stream=False,
        )  # fmt: skip
        call = _Call("POST", "/api/generate", name)
        return await self._json(call, body, GenerateResponse, idempotent=False, long=True)

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
        body = _chat_body(name, messages, tools, format, options, keep_alive, think, truncate, True)
        return self._stream(_Call("POST", "/api/chat", name), body, ChatResponse, _is_done)

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
        body = _chat_body(
            name, messages, tools, format, options, keep_alive, think, truncate, False
        )
        call = _Call("POST", "/api/chat", name)
        return await self._json(call, body, ChatResponse, idempotent=False, long=True)

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
        texts: str | list[str] = input if isinstance(input, str) else list(input)
        if not isinstance(texts, str) and not all(isinstance(text, str) for text in texts):
            raise TypeError("embed input must be a string or a sequence of strings")
        body = _body(
            model=name,
            input=texts,
            truncate=truncate,
            dimensions=dimensions,
            options=_mapping(options),
            keep_alive=_keep_alive(keep_alive),
        )
        call = _Call("POST", "/api/embed", name)
        return await self._json(call, body, EmbedResponse, idempotent=False, long=True)

    # --- blobs ------------------------------------------------------------------------------

    async def blob_exists(self, digest: str) -> bool:
        """Whether the server has the blob (`HEAD /api/blobs/:digest`)."""
        call = _Call("HEAD", f"/api/blobs/{normalize_digest(digest)}")
        response = await self._send(call, None, idempotent=True, accept=frozenset({404}))
        await response.aclose()
        return response.status_code == 200

    async def upload_blob(
        self,
        path: Path,
        digest: str,
        *,
        expected: os.stat_result | None = None,
        on_progress: UploadProgressCallback | None = None,
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
            call = _Call("POST", f"/api/blobs/{digest}")

            def chunks() -> AsyncIterator[bytes]:
                return _file_chunks(handle, size, on_progress)

            response = await self._send(call, None, idempotent=False, long=True, content=chunks)
            try:
                await self._read(response, call)
            finally:
                await response.aclose()
        finally:
            # Closed synchronously: an awaited close would itself be cancelled with the upload.
            handle.close()
        # 200 means the blob appeared between HEAD and POST; Ollama then ignores the body.
        return response.status_code == 201

    # --- requests ---------------------------------------------------------------------------

    def _progress(self, path: str, model: str, insecure: bool) -> AsyncGenerator[ProgressResponse]:
        name = _checked_name(model)
        body = _body(model=name, insecure=insecure or None, stream=True)
        return self._stream(_Call("POST", path, name), body, ProgressResponse, _is_success)

    async def _json(
        self,
        call: _Call,
        body: Mapping[str, Any] | None,
        model: type[_ResponseT],
        *,
        idempotent: bool,
        long: bool = False,
    ) -> _ResponseT:
        response = await self._send(call, body, idempotent=idempotent, long=long)
        try:
            raw = await self._read(response, call)
        finally:
            await response.aclose()
        data = _decode_object(raw, call)
        self._raise_for_error_object(data, call, lines_before=0)
        return _validate(model, data, call)

    async def _empty(
        self, call: _Call, body: Mapping[str, Any] | None, *, idempotent: bool
    ) -> None:
        response = await self._send(call, body, idempotent=idempotent)
        try:
            await self._read(response, call)
        finally:
            await response.aclose()

    async def _stream(
        self,
        call: _Call,
        body: Mapping[str, Any],
        model: type[_ResponseT],
        finished: Callable[[_ResponseT], bool],
    ) -> AsyncGenerator[_ResponseT]:
        response = await self._send(call, body, idempotent=False, long=True)
        # The response is closed however this generator ends: exhausted, raised, cancelled or
        # closed by the caller. Closing it mid-body drops the connection, which Ollama sees as a
        # cancel and stops work (contract 1.1).
        try:
            received = 0
            # Only the last line counts: a create that pulls its base sends the pull's `success`
            # long before its own, and a stream that stops after it is not finished.
            complete = False
            async with aclosing(self._ndjson(response, call)) as objects:
                async for data in objects:
                    self._raise_for_error_object(data, call, lines_before=received)
                    item = _validate(model, data, call)
                    received += 1
                    complete = finished(item)
                    yield item
            if not complete:
                raise StreamInterrupted(self.base_url, str(call), received, "the body ended early")
        finally:
            await response.aclose()

    async def _send(
        self,
        call: _Call,
        body: Mapping[str, Any] | None,
        *,
        idempotent: bool,
        long: bool = False,
        accept: frozenset[int] = frozenset(),
        content: Callable[[], AsyncIterator[bytes]] | None = None,
    ) -> httpx2.Response:
        """Send one request, retrying what may be retried; return the open response (status
        < 400 or in `accept`) or raise. The caller must close it."""
        attempt = 0
        while True:
            request = self._http.build_request(
                call.method,
                call.path,
                json=body,
                content=content() if content is not None else None,
                timeout=self._long if long else self._quick,
            )
            try:
                response = await self._http.send(request, stream=True)
            except httpx2.TimeoutException as exc:
                raise self._timeout(call, exc) from exc
            except httpx2.TransportError as exc:
                if idempotent and attempt < self.max_retries:
                    await self._backoff(attempt, call, _describe(exc))
                    attempt += 1
                    continue
                raise OllamaUnavailable(self.base_url, _describe(exc)) from exc
            status = response.status_code
            if status == 503 and attempt < self.max_retries:
                await response.aclose()
                await self._backoff(attempt, call, "503 server busy")
                attempt += 1
                continue
            if status < 400 or status in accept:
                return response
            try:
                raw = await self._read(response, call)
            finally:
                await response.aclose()
            # Ollama's Host check answers 403 with an empty body: say what to look at.
            hint = _FORBIDDEN_HINT if status == 403 and not raw.strip() else ""
            raise self._error(status, _error_text(raw, response), call, in_stream=False, hint=hint)

    async def _backoff(self, attempt: int, call: _Call, reason: str) -> None:
        ceiling = min(self.backoff_max, self.backoff_base * 2**attempt)
        # "Equal jitter": never less than half the ceiling, so retries still spread out.
        delay = ceiling / 2 + random.uniform(0, ceiling / 2)
        logger.info("%s: %s; retry %d in %.3f s", call, reason, attempt + 1, delay)
        await self._sleep(delay)

    async def _read(self, response: httpx2.Response, call: _Call) -> bytes:
        try:
            return await response.aread()
        except httpx2.TimeoutException as exc:
            raise self._timeout(call, exc) from exc
        except httpx2.TransportError as exc:
            detail = f"the connection closed during the reply to {call}: {_describe(exc)}"
            raise OllamaUnavailable(self.base_url, detail) from exc

    async def _ndjson(
        self, response: httpx2.Response, call: _Call
    ) -> AsyncGenerator[dict[str, Any]]:
        """Decode the body as NDJSON, one object per `\\n`-terminated line."""
        buffer = bytearray()
        number = 0
        chunks = aclosing(response.aiter_bytes())
        try:
            async with chunks as body:
                async for chunk in body:
                    buffer += chunk
                    while (end := buffer.find(b"\n")) >= 0:
                        line = bytes(buffer[:end])
                        del buffer[: end + 1]
                        number += 1
                        yield _decode_line(line, number, call)
        except httpx2.TimeoutException as exc:
            raise self._timeout(call, exc) from exc
        except httpx2.TransportError as exc:
            raise StreamInterrupted(self.base_url, str(call), number, _describe(exc)) from exc
        if buffer.strip():
            yield _decode_line(bytes(buffer), number + 1, call)

    # --- errors -----------------------------------------------------------------------------

    def _raise_for_error_object(
        self, data: Mapping[str, Any], call: _Call, *, lines_before: int
    ) -> None:
        error = data.get("error")
        if error is None:
            return
        message = error if isinstance(error, str) else json.dumps(error)
        status = data.get("status")
        # Ollama 0.5.5-0.12.5 put an error that came before any output into a 200 stream,
        # with its real status alongside (contract 1.3).
        if lines_before == 0 and isinstance(status, int) and status >= 400:
            raise self._error(status, message, call, in_stream=False)
        raise self._error(200, message, call, in_stream=True)

    def _error(
        self, status: int, message: str, call: _Call, *, in_stream: bool, hint: str = ""
    ) -> OllamaAPIError:
        """Ollama's answer as the most precise error class; its message is kept unchanged."""
        missing = self._missing_model(status, message, call)
        if missing is not None:
            return missing
        if call.path == "/api/create" and message.startswith(_OLD_CREATE):
            what = "the JSON create request"
            return UnsupportedServer(
                self._version, JSON_CREATE_VERSION, what, status=status, message=message
            )
        if status == 503:
            hint = "Ollama's request queue is full (OLLAMA_MAX_QUEUE); try again later"
            return ServerBusy(status, message, hint=hint)
        if in_stream:
            return StreamError(message)
        return OllamaAPIError(status, message, hint=hint)

    @staticmethod
    def _missing_model(status: int, message: str, call: _Call) -> ModelNotFound | None:
        model = call.model or ""
        if call.path in ("/api/pull", "/api/create") and message == _PULL_NOT_FOUND:
            hint = "the registry has no model with that name and tag; check the spelling"
            return ModelNotFound(model, status, message, hint=hint)
        if call.path == "/api/push" and _PUSH_NOT_FOUND.fullmatch(message):
            hint = "it is not installed locally; create or pull it before pushing"
            return ModelNotFound(model, status, message, hint=hint)
        for pattern in _NOT_FOUND:
            found = pattern.fullmatch(message)
            if found is not None:
                return ModelNotFound(model or found.group(1), status, message)
        return None

    def _timeout(self, call: _Call, exc: httpx2.TimeoutException) -> OllamaTimeout:
        kind = {
            httpx2.ConnectTimeout: "connecting",
            httpx2.ReadTimeout: "waiting for the reply",
            httpx2.WriteTimeout: "sending the request",
            httpx2.PoolTimeout: "waiting for a free connection",
        }.get(type(exc), "waiting")
        return OllamaTimeout(
            f"{call} to Ollama at {self.base_url} timed out while {kind}; "
            "raise the client's timeout if the server is just slow"
        )


# --- request bodies ---------------------------------------------------------------------------


def _checked_name(model: str) -> str:
    """The name as it goes on the wire; raises `InvalidModelName` before anything is sent."""
    parse_model_name(model)
    return model.strip()


def _body(**fields: Any) -> dict[str, Any]:
    """A JSON body without the fields left unset (Ollama's zero values are its defaults)."""
    return {key: value for key, value in fields.items() if value is not None}


def _keep_alive(value: KeepAlive | None) -> KeepAlive | None:
    # Ollama reads a string as a Go duration, so "300" or "-1" without a unit is a 400 error;
    # a plain number written as text is meant as seconds.
    if isinstance(value, str) and _PLAIN_NUMBER.fullmatch(value.strip()):
        number = float(value)
        return int(number) if number.is_integer() else number
    return value


def _mapping(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return dict(value) if value is not None else None


def _format(value: Format | None) -> str | dict[str, Any] | None:
    return value if value is None or isinstance(value, str) else dict(value)


def _images(images: Sequence[ImageInput] | None) -> list[str] | None:
    if images is None:
        return None
    return [
        base64.b64encode(image).decode("ascii") if isinstance(image, bytes) else image
        for image in images
    ]


def _generate_body(
    model: str,
    prompt: str,
    suffix: str | None,
    system: str | None,
    template: str | None,
    raw: bool | None,
    format: Format | None,
    images: Sequence[ImageInput] | None,
    options: Mapping[str, Any] | None,
    keep_alive: KeepAlive | None,
    think: ThinkLevel | None,
    context: Sequence[int] | None,
    truncate: bool | None,
    *,
    stream: bool,
) -> dict[str, Any]:
    return _body(
        model=model,
        prompt=prompt,
        suffix=suffix,
        system=system,
        template=template,
        raw=raw,
        format=_format(format),
        images=_images(images),
        options=_mapping(options),
        keep_alive=_keep_alive(keep_alive),
        think=think,
        context=list(context) if context is not None else None,
        truncate=truncate,
        stream=stream,
    )


def _chat_body(
    model: str,
    messages: Sequence[Message | Mapping[str, Any]],
    tools: Sequence[ToolSpec | Mapping[str, Any]] | None,
    format: Format | None,
    options: Mapping[str, Any] | None,
    keep_alive: KeepAlive | None,
    think: ThinkLevel | None,
    truncate: bool | None,
    stream: bool,
) -> dict[str, Any]:
    return _body(
        model=model,
        messages=[_as_dict(message) for message in messages],
        tools=[_as_dict(tool) for tool in tools] if tools else None,
        format=_format(format),
        options=_mapping(options),
        keep_alive=_keep_alive(keep_alive),
        think=think,
        truncate=truncate,
        stream=stream,
    )


def _as_dict(value: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    """A message or tool as JSON: a pydantic model without its unset fields, a mapping as given."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    return dict(value)


def normalize_digest(digest: str) -> str:
    """`sha256:<64 lower-case hex>`, the only form Ollama's blob POST accepts (contract 2.15)."""
    found = _DIGEST.fullmatch(digest.strip())
    if found is None:
        raise ValueError(f"invalid blob digest {digest!r}; expected sha256:<64 hex characters>")
    return f"sha256:{found.group(1).lower()}"


async def _file_chunks(
    handle: IO[bytes], size: int, on_progress: UploadProgressCallback | None
) -> AsyncGenerator[bytes]:
    # From the start each time: a request retried after a 503 sends the whole file again.
    await anyio.to_thread.run_sync(handle.seek, 0)
    done = 0
    while chunk := await anyio.to_thread.run_sync(handle.read, UPLOAD_CHUNK_SIZE):
        yield chunk
        # Resumed only when the transport wants the next chunk: this one has been sent.
        done += len(chunk)
        if on_progress is not None:
            await on_progress(done, max(size, done))


# --- responses --------------------------------------------------------------------------------


async def _last(
    stream: AsyncGenerator[ProgressResponse], on_progress: ProgressCallback | None
) -> ProgressResponse:
    last: ProgressResponse | None = None
    async with aclosing(stream) as lines:
        async for line in lines:
            last = line
            if on_progress is not None:
                await on_progress(line)
    if last is None:  # pragma: no cover - _stream raises StreamInterrupted for an empty body
        raise ProtocolError("Ollama sent no progress lines")
    return last


def _is_success(line: ProgressResponse) -> bool:
    return line.status == "success"


def _is_done(chunk: GenerateResponse | ChatResponse) -> bool:
    return chunk.done


def _decode_line(line: bytes, number: int, call: _Call) -> dict[str, Any]:
    if not line.strip():
        raise ProtocolError(f"{call}: line {number} of the NDJSON stream is blank")
    return _decode_object(line, call, f"line {number} of the NDJSON stream")


def _decode_object(raw: bytes, call: _Call, where: str = "the reply") -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        preview = raw[:200].decode("utf-8", "replace")
        raise ProtocolError(f"{call}: {where} is not JSON ({exc}): {preview!r}") from None
    if not isinstance(data, dict):
        raise ProtocolError(f"{call}: {where} is not a JSON object: {type(data).__name__}")
    return data


def _validate(model: type[_ResponseT], data: Mapping[str, Any], call: _Call) -> _ResponseT:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ProtocolError(f"{call}: unexpected reply shape for {model.__name__}: {exc}") from None


def _error_text(raw: bytes, response: httpx2.Response) -> str:
    """Ollama's error message: the `error` of a JSON body, else the text (gin's `404 page not
    found`), else the reason phrase."""
    text = raw.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return str(data["error"])
    return text or response.reason_phrase


def _describe(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _parse_version(text: str) -> tuple[int, int, int] | None:
    found = _VERSION.match(text.strip())
    if found is None:
        return None
    return (int(found.group(1)), int(found.group(2)), int(found.group(3)))


def _headers(given: Mapping[str, str] | None) -> dict[str, str]:
    """Default headers, the caller's over them; `OLLAMA_API_KEY` as a bearer token, as Ollama's
    own clients send it, unless the caller gave an Authorization header."""
    headers = {"Accept": "application/json", "User-Agent": _user_agent(), **(given or {})}
    key = os.environ.get("OLLAMA_API_KEY", "").strip()
    if key and not any(name.lower() == "authorization" for name in headers):
        headers["Authorization"] = f"Bearer {key}"
    return headers


def _user_agent() -> str:
    try:
        version = metadata.version("ollama-connector-mcp")
    except metadata.PackageNotFoundError:
        version = "0"
    return f"ollama-connector-mcp/{version}"
