"""How requests reach Ollama and replies come back: one shared `httpx2.AsyncClient`, bounded
retries, timeouts, and NDJSON framing. `OllamaClient` says what to send; this sends it.

* Retries (exponential backoff with jitter, bounded): connection refused or reset on idempotent
  requests (GET, HEAD, POST /api/show), and 503 "server busy" on any request. Nothing else.
  Inside `without_connect_retries()` a failed connection is reported at once: for callers that
  have a fallback (the catalog's cached and disk answers), waiting through backoff helps nobody.
* Lines are split on `\\n` bytes only. httpx's `aiter_lines` also splits on U+0085 (NEL), which
  Go's JSON encoder leaves unescaped (it escapes control characters, U+2028 and U+2029), so a model
  that emits it would otherwise break the stream.
* A stream that stops before its last line, whether the connection dropped or the body just
  ended, raises `StreamInterrupted` (a `ConnectionError`): Ollama stopped, or the network did.
* A connection that fails is `OllamaUnavailable`; a timeout that runs out is `OllamaTimeout`.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import aclosing, contextmanager
from contextvars import ContextVar
from typing import IO, Any, TypeVar

import anyio
import anyio.to_thread
import httpx2
from pydantic import BaseModel

from tools.api.answers import (
    FORBIDDEN_HINT,
    Call,
    decode_line,
    decode_object,
    error_for,
    error_text,
    raise_for_error_object,
    validate,
)
from tools.api.host import is_loopback
from tools.api.types import ByteProgressCallback
from tools.errors import (
    ClientClosed,
    OllamaAPIError,
    OllamaTimeout,
    OllamaUnavailable,
    StreamInterrupted,
)
from tools.version import DISTRIBUTION, VERSION

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]

UPLOAD_CHUNK_SIZE = 1 << 20  # 1 MiB: few enough reads to be fast, small enough to keep memory flat

_ResponseT = TypeVar("_ResponseT", bound=BaseModel)
_KEPT_URLS = 64  # joined URLs kept per client: the fixed paths, not one per blob digest

# A context variable, not a flag on the client: one client serves callers with and without a
# fallback at the same time.
_connect_retries_off: ContextVar[bool] = ContextVar("connect_retries_off", default=False)


@contextmanager
def without_connect_retries() -> Iterator[None]:
    """Within this block, a connection that fails is `OllamaUnavailable` at the first attempt."""
    token = _connect_retries_off.set(True)
    try:
        yield
    finally:
        _connect_retries_off.reset(token)


class Transport:
    """Requests to one Ollama server at `base_url`; see the module docstring for the rules."""

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout: float,
        read_timeout: float | None,
        metadata_timeout: float | None,
        max_retries: int,
        backoff_base: float,
        backoff_max: float,
        headers: Mapping[str, str] | None,
        sleep: Sleep | None,
        transport: httpx2.AsyncBaseTransport | None,
    ) -> None:
        self.base_url = base_url
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        # The version the server reported, once asked: an old server's errors name it.
        self.server_version: str | None = None
        # Responses received so far (any status): lets the catalog see that Ollama is back.
        self.answers_received = 0
        self._sleep: Sleep = sleep or anyio.sleep
        # Quick calls get a read timeout; long ones none, so first loads and big pulls can finish.
        self._quick = httpx2.Timeout(
            connect=connect_timeout, read=metadata_timeout, write=metadata_timeout, pool=None
        )
        self._long = httpx2.Timeout(
            connect=connect_timeout, read=read_timeout, write=read_timeout, pool=None
        )
        # What `build_request` would make of a path and a timeout on every call, made once: the
        # two URL parses and the timeout's copy cost more than a third of building a request.
        self._urls: dict[str, httpx2.URL] = {}
        self._quick_ext, self._long_ext = self._quick.as_dict(), self._long.as_dict()
        self._headers = _headers(headers)
        self._transport = transport
        # Made on the first request: building one loads a TLS context with the CA bundle
        # (tens of ms), which a server that starts and is never asked anything need not pay.
        self._client: httpx2.AsyncClient | None = None
        self._closed = False

    @property
    def _http(self) -> httpx2.AsyncClient:
        if self._client is None:
            if self._closed:
                raise ClientClosed(self.base_url)
            self._client = httpx2.AsyncClient(
                base_url=self.base_url,
                headers=self._headers,
                timeout=self._long,
                follow_redirects=True,
                # Like Go's http.ProxyFromEnvironment, never send loopback traffic through a proxy.
                trust_env=not is_loopback(self.base_url),
                transport=self._transport,
                # No cap on connections: each pull or generation holds one for its whole life,
                # and with the pool's wait unbounded, the 101st call would wait for ever.
                limits=httpx2.Limits(max_connections=None, max_keepalive_connections=20),
            )
        return self._client

    async def aclose(self) -> None:
        self._closed = True
        if self._client is not None:
            await self._client.aclose()

    # --- the three shapes of a reply ---------------------------------------------------------

    async def json(
        self,
        call: Call,
        body: Mapping[str, Any] | None,
        model: type[_ResponseT],
        *,
        idempotent: bool,
        long: bool = False,
    ) -> _ResponseT:
        """One JSON object, validated as `model`."""
        response = await self.send(call, body, idempotent=idempotent, long=long)
        try:
            raw = await self.read(response, call)
        finally:
            await response.aclose()
        data = decode_object(raw, call)
        raise_for_error_object(data, call, lines_before=0, server_version=self.server_version)
        return validate(model, data, call)

    async def empty(self, call: Call, body: Mapping[str, Any] | None, *, idempotent: bool) -> None:
        """A reply whose body does not matter, only its status."""
        response = await self.send(call, body, idempotent=idempotent)
        try:
            await self.read(response, call)
        finally:
            await response.aclose()

    async def answers_once(self, call: Call) -> bool:
        """One attempt at `call`, without retries: whether anything answers at the base URL now
        (an error status is an answer). Never raises for an unreachable server."""
        try:
            response = await self.send(call, None, idempotent=False)
        except (OllamaUnavailable, OllamaTimeout):
            return False
        except OllamaAPIError:
            return True
        await response.aclose()
        return True

    async def upload(
        self, call: Call, handle: IO[bytes], size: int, on_progress: ByteProgressCallback | None
    ) -> int:
        """`call` with the open file as its body, streamed in chunks; the answer's status."""

        def chunks() -> AsyncIterator[bytes]:
            return file_chunks(handle, size, on_progress)

        response = await self.send(call, None, idempotent=False, long=True, content=chunks)
        try:
            await self.read(response, call)
        finally:
            await response.aclose()
        return response.status_code

    async def stream(
        self,
        call: Call,
        body: Mapping[str, Any],
        model: type[_ResponseT],
        finished: Callable[[_ResponseT], bool],
    ) -> AsyncGenerator[_ResponseT]:
        """NDJSON lines validated as `model`, until the one that `finished` accepts."""
        response = await self.send(call, body, idempotent=False, long=True)
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
                    raise_for_error_object(
                        data, call, lines_before=received, server_version=self.server_version
                    )
                    item = validate(model, data, call)
                    received += 1
                    complete = finished(item)
                    yield item
            if not complete:
                raise StreamInterrupted(self.base_url, str(call), received, "the body ended early")
        finally:
            await response.aclose()

    # --- sending and reading -----------------------------------------------------------------

    async def send(
        self,
        call: Call,
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
                self._url(call.path),
                json=body,
                content=content() if content is not None else None,
                extensions={"timeout": self._long_ext if long else self._quick_ext},
            )
            try:
                response = await self._http.send(request, stream=True)
            except httpx2.TimeoutException as exc:
                raise self._timeout(call, exc) from exc
            except httpx2.TransportError as exc:
                if idempotent and attempt < self.max_retries and not _connect_retries_off.get():
                    await self._backoff(attempt, call, _describe(exc))
                    attempt += 1
                    continue
                raise OllamaUnavailable(self.base_url, _describe(exc)) from exc
            self.answers_received += 1
            status = response.status_code
            if status == 503 and attempt < self.max_retries:
                await response.aclose()
                await self._backoff(attempt, call, "503 server busy")
                attempt += 1
                continue
            if status < 400 or status in accept:
                return response
            try:
                raw = await self.read(response, call)
            finally:
                await response.aclose()
            # Ollama's Host check answers 403 with an empty body: say what to look at.
            hint = FORBIDDEN_HINT if status == 403 and not raw.strip() else ""
            raise error_for(
                status,
                error_text(raw, response),
                call,
                in_stream=False,
                server_version=self.server_version,
                hint=hint,
            )

    def _url(self, path: str) -> httpx2.URL:
        """`path` under the base URL, as `build_request` would join them."""
        url = self._urls.get(path)
        if url is None:
            base = self._http.base_url  # always ends in "/": the path goes under it, as in httpx2
            url = base.copy_with(raw_path=base.raw_path + path.encode().lstrip(b"/"))
            if len(self._urls) < _KEPT_URLS:
                self._urls[path] = url
        return url

    async def read(self, response: httpx2.Response, call: Call) -> bytes:
        """The whole body of `response`."""
        try:
            return await response.aread()
        except httpx2.TimeoutException as exc:
            raise self._timeout(call, exc) from exc
        except httpx2.TransportError as exc:
            detail = f"the connection closed during the reply to {call}: {_describe(exc)}"
            raise OllamaUnavailable(self.base_url, detail) from exc

    async def _backoff(self, attempt: int, call: Call, reason: str) -> None:
        ceiling = min(self.backoff_max, self.backoff_base * 2**attempt)
        # "Equal jitter": never less than half the ceiling, so retries still spread out.
        delay = ceiling / 2 + random.uniform(0, ceiling / 2)
        logger.info("%s: %s; retry %d in %.3f s", call, reason, attempt + 1, delay)
        await self._sleep(delay)

    async def _ndjson(
        self, response: httpx2.Response, call: Call
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
                        yield decode_line(line, number, call)
        except httpx2.TimeoutException as exc:
            raise self._timeout(call, exc) from exc
        except httpx2.TransportError as exc:
            raise StreamInterrupted(self.base_url, str(call), number, _describe(exc)) from exc
        if buffer.strip():
            yield decode_line(bytes(buffer), number + 1, call)

    def _timeout(self, call: Call, exc: httpx2.TimeoutException) -> OllamaTimeout:
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


async def file_chunks(
    handle: IO[bytes], size: int, on_progress: ByteProgressCallback | None
) -> AsyncGenerator[bytes]:
    """An open file's bytes for an upload body, read in a worker thread one chunk at a time,
    with `on_progress` told of each chunk once the transport has taken it."""
    # From the start each time: a request retried after a 503 sends the whole file again.
    await anyio.to_thread.run_sync(handle.seek, 0)
    done = 0
    while chunk := await anyio.to_thread.run_sync(handle.read, UPLOAD_CHUNK_SIZE):
        yield chunk
        # Resumed only when the transport wants the next chunk: this one has been sent.
        done += len(chunk)
        if on_progress is not None:
            await on_progress(done, max(size, done))


def _describe(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _headers(given: Mapping[str, str] | None) -> dict[str, str]:
    """Default headers, the caller's over them; `OLLAMA_API_KEY` as a bearer token, as Ollama's
    own clients send it, unless the caller gave an Authorization header."""
    headers = {"Accept": "application/json", "User-Agent": _user_agent(), **(given or {})}
    key = os.environ.get("OLLAMA_API_KEY", "").strip()
    if key and not any(name.lower() == "authorization" for name in headers):
        headers["Authorization"] = f"Bearer {key}"
    return headers


def _user_agent() -> str:
    return f"{DISTRIBUTION}/{VERSION}"
