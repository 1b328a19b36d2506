"""/api/pull and /api/push: the registry side is the catalogue (contract 2.10, 2.11)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from .app import Ctx, Router, StreamError, wants_stream
from .decode import HTTPError
from .names import (
    DEFAULT_HOST,
    DEFAULT_NAMESPACE,
    ConflictingSource,
    ModelRequired,
    Name,
    normalize_pull_name,
)

Progress = AsyncIterator[dict[str, Any] | StreamError]


def _steps(ctx: Ctx, total: int) -> list[int]:
    """The `completed` values reported while one layer transfers."""
    steps = max(1, ctx.double.progress_steps)
    chunk = max(1, math.ceil(total / steps))
    return [min(total, chunk * (i + 1)) for i in range(math.ceil(total / chunk))] if total else []


async def _copy_range(src: Path, dst: Path, start: int, end: int) -> None:
    def work() -> None:
        with src.open("rb") as fin, dst.open("ab") as fout:
            fin.seek(start)
            remaining = end - start
            while remaining > 0:
                data = fin.read(min(remaining, 1 << 20))
                if not data:
                    break
                fout.write(data)
                remaining -= len(data)

    await asyncio.to_thread(work)


async def pull_progress(ctx: Ctx, name: Name) -> Progress:
    """PullModel: manifest, one group of lines per layer (config last), verify, write, success."""
    yield {"status": "pulling manifest"}
    built = await asyncio.to_thread(ctx.double.catalogue.build, name)
    if built is None:
        yield StreamError("pull model manifest: file does not exist")
        return
    store = ctx.store
    name = store.existing_name(name)
    old = store.find(name)
    for lay in built.layers:
        digest, total = lay["digest"], int(lay["size"])
        status = f"pulling {digest[7:19]}"
        if store.has_blob(digest):
            yield {"status": status, "digest": digest, "total": total, "completed": total}
            continue
        yield {"status": status, "digest": digest, "total": total}
        partial = store.blob_path(digest).with_name(store.blob_path(digest).name + "-partial")
        partial.unlink(missing_ok=True)
        done = 0
        try:
            for completed in _steps(ctx, total):
                await ctx.pace()
                await _copy_range(built.files[digest], partial, done, completed)
                done = completed
                yield {"status": status, "digest": digest, "total": total, "completed": completed}
        except BaseException:
            with contextlib.suppress(OSError):
                partial.unlink()
            raise
        os.replace(partial, store.blob_path(digest))
    yield {"status": "verifying sha256 digest"}
    yield {"status": "writing manifest"}
    store.write_raw_manifest(name, built.manifest)
    if old is not None:
        new_digests = {x["digest"] for x in built.layers}
        stale = [
            x.get("digest", "")
            for x in [*old.layers, old.config_layer]
            if x.get("digest") not in new_digests
        ]
        if stale:
            # Sent whenever the old manifest had other layers, even ones still in use.
            yield {"status": "removing unused layers"}
            store.remove_unused(stale)
    yield {"status": "success"}


async def pull(ctx: Ctx) -> None:
    req = ctx.decode("PullRequest")
    raw = req.get("model") or req.get("name") or ""
    try:
        base = normalize_pull_name(raw)
    except ConflictingSource as exc:
        raise HTTPError(400, str(exc)) from exc
    except ModelRequired as exc:
        raise HTTPError(400, "invalid model name") from exc
    name = Name.parse(base)
    if not name.is_valid():
        raise HTTPError(400, "invalid model name")
    items = pull_progress(ctx, ctx.store.existing_name(name))
    if wants_stream(req):
        await ctx.stream_ndjson(items)
    else:
        await ctx.wait_for_stream(items)


async def push_progress(ctx: Ctx, raw: str) -> Progress:
    store = ctx.store
    # PushModel re-parses the display form of the existing name, untrimmed and unchecked.
    name = Name.parse(store.existing_name(Name.parse(raw)).display_shortest())
    yield {"status": "retrieving manifest"}
    if not name.is_valid():
        yield {"status": "couldn't retrieve manifest"}
        yield StreamError(f"unqualified name: {name.fully_qualified()}")
        return
    inst = store.find_exact(name)
    if inst is None:
        yield {"status": "couldn't retrieve manifest"}
        path = store.manifest_path(name)
        yield StreamError(f"open {path}: no such file or directory")
        return
    official = name.host.lower() == DEFAULT_HOST and name.namespace.lower() == DEFAULT_NAMESPACE
    if ctx.double.faults.push_unauthorized or official:
        # What makeRequestWithRetry returns when the registry still says 401 after a token retry.
        yield StreamError("unauthorized: access denied")
        return
    catalogue = ctx.double.catalogue
    for lay in [*inst.layers, inst.config_layer]:
        digest, total = lay.get("digest", ""), int(lay.get("size", 0))
        if not digest:
            continue
        status = f"pushing {digest[7:19]}"
        if catalogue.has_blob(digest):
            yield {"status": status, "digest": digest, "total": total, "completed": total}
            continue
        yield {"status": status, "digest": digest, "total": total}
        for completed in _steps(ctx, total):
            await ctx.pace()
            yield {"status": status, "digest": digest, "total": total, "completed": completed}
        catalogue.pushed.add(digest)
    yield {"status": "pushing manifest"}
    yield {"status": "success"}


async def push(ctx: Ctx) -> None:
    req = ctx.decode("PushRequest")
    raw = req.get("model") or req.get("name") or ""
    if not raw:
        raise HTTPError(400, "model is required")
    items = push_progress(ctx, raw)
    if wants_stream(req):
        await ctx.stream_ndjson(items)
    else:
        await ctx.wait_for_stream(items)


def register(router: Router) -> None:
    router.add("POST", "/api/pull", pull)
    router.add("POST", "/api/push", push)
