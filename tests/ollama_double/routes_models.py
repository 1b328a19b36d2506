"""Routes that read or rearrange the store: /, version, tags, show, ps, copy, delete."""

from __future__ import annotations

from typing import Any

from . import gojson
from .app import TEXT_UTF8, Ctx, Router
from .decode import HTTPError
from .model import load_view
from .names import ConflictingSource, ModelRequired, Name, normalize_pull_name, parse_ref


async def root(ctx: Ctx) -> None:
    await ctx.resp.send(200, b"Ollama is running", TEXT_UTF8)


async def version(ctx: Ctx) -> None:
    await ctx.json(200, {"version": ctx.double.faults.version})


def tag_entry(ctx: Ctx, inst: Any) -> dict[str, Any] | None:
    view = load_view(ctx.store, inst)
    if view is None:
        return None  # Ollama leaves out models whose config or template cannot be read
    name = inst.name.display_shortest()
    entry: dict[str, Any] = {
        "name": name,
        "model": name,
        "modified_at": gojson.local_time(inst.mtime_ns),
        "size": inst.size,
        "digest": inst.digest,
    }
    for key in ("remote_model", "remote_host"):
        if view.config.get(key):
            entry[key] = view.config[key]
    entry["details"] = view.details(with_lengths=True)
    caps = view.list_capabilities()
    if caps:
        entry["capabilities"] = caps
    return entry


async def tags(ctx: Ctx) -> None:
    installed = sorted(ctx.store.all_installed(), key=lambda i: i.mtime_ns, reverse=True)
    models = [e for i in installed if (e := tag_entry(ctx, i)) is not None]
    await ctx.json(200, {"models": models})


async def show(ctx: Ctx) -> None:
    req = ctx.decode("ShowRequest")
    raw = req.get("model") or req.get("name") or ""
    if not raw:
        raise HTTPError(400, "model is required")
    try:
        ref = parse_ref(raw)
    except (ModelRequired, ConflictingSource) as exc:
        raise HTTPError(400, str(exc)) from exc
    name = Name.parse(ref.base)
    if not name.is_valid():
        raise HTTPError(400, "invalid model name")
    name = ctx.store.existing_name(name)
    inst = ctx.store.find(name)
    view = load_view(ctx.store, inst) if inst is not None else None
    if inst is None or view is None:
        raise HTTPError(404, f"model '{name.display_shortest()}' not found")
    if req.get("system"):
        view.system = req["system"]
    verbose = bool(req.get("verbose"))
    body: dict[str, Any] = {}
    license_text = "\n".join(view.licenses)
    if license_text:
        body["license"] = license_text
    body["modelfile"] = view.modelfile(ctx.store, req.get("options"))
    params = view.parameters_text()
    if params:
        body["parameters"] = params
    body["template"] = view.effective_template
    if view.system:
        body["system"] = view.system
    body["details"] = view.details(with_lengths=False)
    if view.messages:
        body["messages"] = [
            {"role": m.get("role", ""), "content": m.get("content", "")} for m in view.messages
        ]
    body["model_info"] = view.gguf.model_info(verbose) if view.gguf is not None else {}
    if view.gguf is not None and view.gguf.tensors:
        body["tensors"] = view.gguf.tensors  # omitempty
    body["capabilities"] = view.capabilities()
    body["modified_at"] = gojson.local_time(inst.mtime_ns)
    if view.config.get("requires"):
        body["requires"] = view.config["requires"]
    await ctx.json(200, body)


async def ps(ctx: Ctx) -> None:
    await ctx.json(200, {"models": ctx.double.runtime.ps()})


async def copy(ctx: Ctx) -> None:
    req = ctx.decode("CopyRequest")
    source, dest = req.get("source", ""), req.get("destination", "")
    src = Name.parse(source)
    if not src.is_valid():
        raise HTTPError(400, f"source {gojson.go_quote(source)} is invalid")
    src = ctx.store.existing_name(src)
    dst = Name.parse(dest)
    if not dst.is_valid():
        raise HTTPError(400, f"destination {gojson.go_quote(dest)} is invalid")
    dst = ctx.store.existing_name(dst)
    if src.parts() == dst.parts():
        # CopyModel returns nil when both name one manifest path, before opening the source.
        await ctx.empty(200)
        return
    inst = ctx.store.find(src)
    if inst is None:
        raise HTTPError(404, f"model {gojson.go_quote(source)} not found")
    ctx.store.copy(inst, dst)
    await ctx.empty(200)


async def delete(ctx: Ctx) -> None:
    req = ctx.decode("DeleteRequest")
    raw = req.get("model") or req.get("name") or ""
    if not raw:
        raise HTTPError(400, "model is required")
    try:
        # parseNormalizePullModelRef: `x:cloud` is a name of its own here, never `x`.
        base = normalize_pull_name(raw)
    except (ModelRequired, ConflictingSource) as exc:
        raise HTTPError(400, str(exc)) from exc
    name = Name.parse(base)
    if not name.is_valid():
        raise HTTPError(400, f"name {gojson.go_quote(raw)} is invalid")
    inst = ctx.store.find(ctx.store.existing_name(name))
    if inst is None:
        raise HTTPError(404, f"model '{raw}' not found")
    view = load_view(ctx.store, inst)
    if view is not None:
        ctx.double.runtime.unload(view)
    ctx.store.delete(inst)
    await ctx.empty(200)


def register(router: Router) -> None:
    router.add("GET", "/", root)
    router.add("HEAD", "/", root)
    router.add("GET", "/api/version", version)
    router.add("HEAD", "/api/version", version)
    router.add("GET", "/api/tags", tags)
    router.add("HEAD", "/api/tags", tags)
    router.add("POST", "/api/show", show)
    router.add("GET", "/api/ps", ps)
    router.add("POST", "/api/copy", copy)
    router.add("DELETE", "/api/delete", delete)
