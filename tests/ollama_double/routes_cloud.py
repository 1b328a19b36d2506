"""Routes that lean on ollama.com: /api/status, the model recommendations, web search and fetch.

As Ollama's server/routes.go and server/cloud_proxy.go at fb30760 answer them:

* `GET /api/status` (since 0.16.2): `{"cloud":{"disabled":bool,"source":"none|env|config|both"}}`.
* `GET /api/experimental/model-recommendations` (since 0.22.1): always 200 with the cached list.
* `POST /api/experimental/web_search|web_fetch` (since 0.17.8): the body is not decoded by the
  daemon; an empty one is 400 `missing request body`, then cloud disabled is 403, a request that
  cannot be signed is 401 with `signin_url`, ollama.com unreachable is 502 with Go's error text,
  and anything ollama.com answers is passed through with its status.

An older server has none of these routes: `faults.version` below the route's version answers
gin's `404 page not found`.
"""

from __future__ import annotations

import json
import time
from typing import Any

from .app import JSON_UTF8, TEXT_PLAIN, Ctx, Handler, Router
from .cloud import SIGNIN_URL, search_results

STATUS_SINCE = (0, 16, 2)
WEB_SINCE = (0, 17, 8)
RECOMMENDATIONS_SINCE = (0, 22, 1)
CLOUD_DISABLED = "ollama cloud is disabled"  # internal/cloud DisabledMessagePrefix
UPSTREAM = "https://ollama.com:443"  # defaultCloudProxyBaseURL


def _version(text: str) -> tuple[int, int, int]:
    numbers = text.split("-", 1)[0].split(".")
    try:
        major, minor, patch = (int(n) for n in numbers[:3])
    except ValueError:
        return (0, 0, 0)
    return (major, minor, patch)


def since(version: tuple[int, int, int], handler: Handler) -> Handler:
    """`handler` on servers at `version` or newer (a development build `0.0.0` has every
    route); older ones answer gin's 404 page, as they have no such route."""

    async def gated(ctx: Ctx) -> None:
        running = _version(ctx.double.faults.version)
        if running != (0, 0, 0) and running < version:
            await ctx.resp.send(404, b"404 page not found", TEXT_PLAIN)
            return
        await handler(ctx)

    return gated


async def status(ctx: Ctx) -> None:
    source = ctx.double.faults.cloud_disabled
    await ctx.json(200, {"cloud": {"disabled": source is not None, "source": source or "none"}})


async def recommendations(ctx: Ctx) -> None:
    # Cloud disabled or signed out only stops the background refresh: the list is still served.
    await ctx.json(200, {"recommendations": ctx.double.cloud.recommendations})


async def web_search(ctx: Ctx) -> None:
    await _proxy(ctx, "/api/web_search", "web search is unavailable", _search)


async def web_fetch(ctx: Ctx) -> None:
    await _proxy(ctx, "/api/web_fetch", "web fetch is unavailable", _fetch)


async def _proxy(ctx: Ctx, upstream_path: str, unavailable: str, answer: Any) -> None:
    """webExperimentalProxyHandler, then proxyCloudRequestWithPath."""
    if not ctx.body.strip():
        await ctx.error(400, "missing request body")
        return
    faults = ctx.double.faults
    if faults.cloud_disabled is not None:
        await ctx.error(403, f"{CLOUD_DISABLED}: {unavailable}")
        return
    if faults.signed_out:
        await ctx.json(401, {"error": "unauthorized", "signin_url": SIGNIN_URL})
        return
    if faults.upstream_down:
        url = f"{UPSTREAM}{upstream_path}?ts={int(time.time())}"
        await ctx.error(502, f'Post "{url}": dial tcp: lookup ollama.com: no such host')
        return
    if faults.upstream_error is not None:
        code, message = faults.upstream_error
        await ctx.error(code, message)
        return
    await answer(ctx)


def _upstream_request(ctx: Ctx) -> dict[str, Any] | None:
    try:
        data = json.loads(ctx.body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


async def _search(ctx: Ctx) -> None:
    request = _upstream_request(ctx)
    query = request.get("query") if request else None
    if not isinstance(query, str) or not query.strip():
        await ctx.error(400, "query is required")  # the double's words; ollama.com's are unknown
        return
    limit = request.get("max_results") if request else None
    count = limit if isinstance(limit, int) and not isinstance(limit, bool) else 0
    await ctx.json(200, {"results": search_results(query, count)}, JSON_UTF8)


async def _fetch(ctx: Ctx) -> None:
    request = _upstream_request(ctx)
    url = request.get("url") if request else None
    if not isinstance(url, str) or not url.strip():
        await ctx.error(400, "url is required")  # the double's words; ollama.com's are unknown
        return
    await ctx.json(200, ctx.double.cloud.page(url), JSON_UTF8)


def register(router: Router) -> None:
    router.add("GET", "/api/status", since(STATUS_SINCE, status))
    router.add(
        "GET",
        "/api/experimental/model-recommendations",
        since(RECOMMENDATIONS_SINCE, recommendations),
    )
    router.add("POST", "/api/experimental/web_search", since(WEB_SINCE, web_search))
    router.add("POST", "/api/experimental/web_fetch", since(WEB_SINCE, web_fetch))
