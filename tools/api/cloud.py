"""The routes where Ollama speaks for ollama.com: the cloud status, the model recommendations, web
search and web fetch. `OllamaClient` takes these methods from `CloudRoutes`.

Ollama signs web search and fetch with the user's own key (`ollama signin`) and forwards them to
ollama.com; nothing here holds or sends a key of its own. What the answers mean (facts from
Ollama's source, listed in tests/ollama_double/README.md):

* an older Ollama has no such route and answers gin's `404 page not found`: `EndpointMissing`,
  naming the version that added it (status 0.16.2, web search and fetch 0.17.8, recommendations
  0.22.1);
* 403 `ollama cloud is disabled: ...`: `CloudDisabled`; 401 (with `signin_url` when Ollama could
  not sign): `SignInRequired`; 502 (ollama.com unreachable): `CloudUnreachable`;
* any other error is ollama.com's own, passed through by Ollama: `OllamaAPIError`.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel

from tools.api.answers import (
    FORBIDDEN_HINT,
    Call,
    decode_object,
    error_for,
    raise_for_error_object,
    validate,
)
from tools.api.bodies import WebFetchRequest, WebSearchRequest, checked_arguments
from tools.api.transport import Transport
from tools.api.types import (
    RecommendationsResponse,
    StatusResponse,
    VersionResponse,
    WebFetchResponse,
    WebSearchResponse,
)
from tools.errors import (
    CloudDisabled,
    CloudUnreachable,
    EndpointMissing,
    InvalidArgument,
    OllamaAPIError,
    OllamaError,
    SignInRequired,
)

__all__ = ["MAX_SEARCH_RESULTS", "CloudRoutes"]

STATUS_VERSION = "0.16.2"
WEB_VERSION = "0.17.8"
RECOMMENDATIONS_VERSION = "0.22.1"
MAX_SEARCH_RESULTS = 10  # ollama.com's documented maximum (5 when not given)
_NOT_FOUND_PAGE = "404 page not found"  # gin's answer for a route the server does not have
_CLOUD_DISABLED = "ollama cloud is disabled"
_HANDLED = frozenset({401, 403, 404, 502})

_ResponseT = TypeVar("_ResponseT", bound=BaseModel)


class CloudRoutes:
    """The cloud-backed endpoints of `OllamaClient` (which sets `_transport`)."""

    _transport: Transport

    async def cloud_status(self) -> StatusResponse:
        """Whether Ollama's cloud features are off, and why (`GET /api/status`, Ollama >= 0.16.2).
        `EndpointMissing` on an older server."""
        call = Call("GET", "/api/status")
        return await self._cloud_json(call, None, StatusResponse, STATUS_VERSION, "cloud status")

    async def model_recommendations(self) -> RecommendationsResponse:
        """The models Ollama recommends (`GET /api/experimental/model-recommendations`, Ollama >=
        0.22.1): a built-in list until Ollama's refresh from ollama.com succeeds, then the fresher
        one. Always answered, even with the cloud off; `EndpointMissing` on an older server."""
        call = Call("GET", "/api/experimental/model-recommendations")
        return await self._cloud_json(
            call, None, RecommendationsResponse, RECOMMENDATIONS_VERSION, "model recommendations"
        )

    async def web_search(self, query: str, *, max_results: int | None = None) -> WebSearchResponse:
        """Search the web through Ollama and ollama.com (`POST /api/experimental/web_search`,
        Ollama >= 0.17.8); `max_results` 1-10, ollama.com's default is 5."""
        if not query.strip():
            raise InvalidArgument("web search needs a query: a non-empty string")
        if max_results is not None and not 1 <= max_results <= MAX_SEARCH_RESULTS:
            raise InvalidArgument(
                f"max_results {max_results} is out of range: ollama.com returns 1 to "
                f"{MAX_SEARCH_RESULTS} results"
            )
        with checked_arguments("web_search"):
            request = WebSearchRequest(query=query.strip(), max_results=max_results)
        call = Call("POST", "/api/experimental/web_search")
        return await self._cloud_json(
            call, request.body(), WebSearchResponse, WEB_VERSION, "web search"
        )

    async def web_fetch(self, url: str) -> WebFetchResponse:
        """A web page's title, text and links through Ollama and ollama.com (`POST
        /api/experimental/web_fetch`, Ollama >= 0.17.8). Only http and https URLs."""
        address = url.strip()
        parts = urlsplit(address)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            raise InvalidArgument(
                f"cannot fetch {url!r}: give an absolute http:// or https:// URL, "
                "e.g. https://ollama.com/blog"
            )
        with checked_arguments("web_fetch"):
            request = WebFetchRequest(url=address)
        call = Call("POST", "/api/experimental/web_fetch")
        return await self._cloud_json(
            call, request.body(), WebFetchResponse, WEB_VERSION, "web fetch"
        )

    async def _cloud_json(
        self,
        call: Call,
        body: dict[str, Any] | None,
        model: type[_ResponseT],
        needed: str,
        what: str,
    ) -> _ResponseT:
        # Read-only on Ollama's side, so a refused connection may be retried.
        response = await self._transport.send(call, body, idempotent=True, accept=_HANDLED)
        try:
            raw = await self._transport.read(response, call)
        finally:
            await response.aclose()
        status = response.status_code
        if status in _HANDLED:
            raise await self._cloud_error(status, raw, call, needed, what)
        data = decode_object(raw, call)
        raise_for_error_object(
            data, call, lines_before=0, server_version=self._transport.server_version
        )
        return validate(model, data, call)

    async def _cloud_error(
        self, status: int, raw: bytes, call: Call, needed: str, what: str
    ) -> OllamaAPIError:
        text = raw.decode("utf-8", "replace").strip()
        data = _json_object(text)
        message = str(data.get("error", text)) if data is not None else text
        if status == 404 and text == _NOT_FOUND_PAGE:
            version = await self._version_or_none()
            return EndpointMissing(
                version, needed, f"{what} ({call})", status=404, message=_NOT_FOUND_PAGE
            )
        if status == 403 and message.startswith(_CLOUD_DISABLED):
            return CloudDisabled(
                403,
                message,
                hint="enable Ollama's cloud: unset OLLAMA_NO_CLOUD (and set "
                '"disable_ollama_cloud": false in ~/.ollama/server.json) where Ollama runs, '
                "then restart Ollama",
            )
        if status == 401:
            signin_url = data.get("signin_url") if data is not None else None
            where = f" (or open {signin_url})" if isinstance(signin_url, str) else ""
            error = SignInRequired(
                401,
                message or "unauthorized",
                hint=f"sign Ollama in to ollama.com: run `ollama signin` where Ollama runs{where}",
            )
            error.signin_url = signin_url if isinstance(signin_url, str) else None
            return error
        if status == 502:
            return CloudUnreachable(
                502,
                message,
                hint="Ollama could not reach ollama.com: check the internet connection (and any "
                "proxy) of the machine Ollama runs on, then try again",
            )
        return error_for(
            status,
            message,
            call,
            in_stream=False,
            server_version=self._transport.server_version,
            hint=FORBIDDEN_HINT if status == 403 and not text else "",
        )

    async def _version_or_none(self) -> str | None:
        """The server's version for an error message, if it says; never raises."""
        if self._transport.server_version is not None:
            return self._transport.server_version
        try:
            answer = await self._transport.json(
                Call("GET", "/api/version"), None, VersionResponse, idempotent=True
            )
        except OllamaError:
            return None
        self._transport.server_version = answer.version
        return answer.version


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
