"""HEAD/POST /api/blobs/:digest exactly as contract 2.15 describes."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os

from . import gojson
from .app import Ctx, Router
from .decode import HTTPError
from .store import DIGEST_RE

PREFIX = "/api/blobs/"


def _digest_param(ctx: Ctx) -> str:
    digest = ctx.req.path[len(PREFIX) :]
    if not DIGEST_RE.match(digest):
        raise HTTPError(400, "invalid digest format")
    return digest


async def head_blob(ctx: Ctx) -> None:
    digest = _digest_param(ctx)
    if ctx.store.has_blob(digest):
        await ctx.empty(200)
    else:
        # Ollama writes this body; HEAD responses never carry it.
        raise HTTPError(404, f"blob {gojson.go_quote(digest)} not found")


async def post_blob(ctx: Ctx) -> None:
    digest = _digest_param(ctx)
    if ctx.store.has_blob(digest):
        # Answer at once and never read the body (routes.go: the upload short-circuits).
        ctx.record_body(0)
        await ctx.empty(200)
        return
    tmp = ctx.store.temp_blob()
    sha = hashlib.sha256()
    try:
        with tmp.open("wb") as f:
            async for chunk in ctx.req.iter_body():
                sha.update(chunk)
                if len(chunk) >= 1 << 20:
                    await asyncio.to_thread(f.write, chunk)
                else:
                    f.write(chunk)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    actual = sha.hexdigest()
    ctx.record_body(ctx.req.bytes_read)
    ctx.store.adopt_file(tmp, actual)  # kept under its real digest, whatever the URL said
    if f"sha256:{actual}" != digest:
        raise HTTPError(400, f'digest mismatch, expected "{digest}", got "sha256:{actual}"')
    await ctx.empty(201)


def register(router: Router) -> None:
    router.add_param("HEAD", PREFIX, head_blob)
    router.add_param("POST", PREFIX, post_blob)
