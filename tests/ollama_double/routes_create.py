"""/api/create (contract section 5): from a model, from uploaded files, with an adapter.

The request is checked before streaming (plain 400s); everything else runs as a
producer of progress lines, so an error is a real status when it comes first and a
last `{"error"}` line after output started. Nothing is written to the manifest until
every layer exists, so a failed create leaves installed models as they were.
"""

from __future__ import annotations

import asyncio
import json
import math
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import gojson
from .app import Ctx, Router, StreamError, wants_stream
from .convert import (
    ConvertError,
    check_template,
    convert_adapter,
    parse_quant_type,
    retype_gguf,
)
from .decode import HTTPError
from .ggufs import GGUFInfo, ModelSpec, has_gguf_magic, read_info, write_model
from .legacy import legacy_create
from .names import ConflictingSource, ModelRequired, Name, parse_ref
from .routes_transfer import pull_progress
from .store import (
    DIGEST_RE,
    MEDIA_ADAPTER,
    MEDIA_CONFIG,
    MEDIA_LICENSE,
    MEDIA_MESSAGES,
    MEDIA_MODEL,
    MEDIA_PARAMS,
    MEDIA_PROJECTOR,
    MEDIA_SYSTEM,
    MEDIA_TEMPLATE,
    layer,
)

ZERO_DIGEST = "0" * 19  # what Ollama sends as `digest` on validate/quantize progress
GGUF_MEDIA = (MEDIA_MODEL, MEDIA_PROJECTOR, MEDIA_ADAPTER)
SAFETENSORS_ARCHS = {
    "LlamaForCausalLM": "llama",
    "MistralForCausalLM": "llama",
    "Gemma2ForCausalLM": "gemma2",
    "GemmaForCausalLM": "gemma",
    "Qwen2ForCausalLM": "qwen2",
    "Qwen3ForCausalLM": "qwen3",
    "Phi3ForCausalLM": "phi3",
    "BertModel": "bert",
}


def valid_path(path: str) -> bool:
    """io/fs.ValidPath."""
    if path == ".":
        return True
    if not path or path.startswith("/") or path.endswith("/"):
        return False
    return all(part not in ("", ".", "..") for part in path.split("/"))


@dataclass
class Layer:
    body: dict[str, Any]  # mediaType, digest, size, from
    status: str = ""
    gguf: GGUFInfo | None = None
    rewrite: bool = False  # rewriteForCreate: an uploaded GGUF, checked by llama-quantize

    @property
    def media(self) -> str:
        return str(self.body["mediaType"])


@dataclass
class Build:
    layers: list[Layer] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)


class Fail(Exception):
    def __init__(self, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _missing_blob(ctx: Ctx, digest: str) -> Fail:
    return Fail(f"open {ctx.store.blob_path(digest)}: no such file or directory")


def _existing_layer(ctx: Ctx, media: str, digest: str, from_: str) -> Layer:
    """manifest.NewLayerFromLayer: an existing blob reused as is."""
    path = ctx.store.blob_path(digest)
    if not path.is_file():
        raise _missing_blob(ctx, digest)
    return Layer(layer(media, digest, path.stat().st_size, from_), f"using existing layer {digest}")


def _new_layer(ctx: Ctx, media: str, data: bytes) -> Layer:
    """manifest.NewLayer: content-addressed; the status says whether it already existed."""
    digest, size, created = ctx.store.put_bytes(data)
    status = f"{'creating new' if created else 'using existing'} layer {digest}"
    return Layer(layer(media, digest, size), status)


def _new_layer_from_file(ctx: Ctx, media: str, tmp: Path) -> Layer:
    data = tmp.read_bytes()
    return _new_layer(ctx, media, data)


def _gguf_info(ctx: Ctx, digest: str) -> GGUFInfo:
    try:
        return read_info(ctx.store.blob_path(digest), digest)
    except (ValueError, OSError, IndexError, KeyError) as exc:
        raise Fail(f"invalid file magic: {exc}") from exc


async def create(ctx: Ctx) -> None:
    if ctx.double.faults.legacy:
        await legacy_create(ctx, run_create)
        return
    req = ctx.decode("CreateRequest")
    for key, digest in (req.get("files") or {}).items():
        if not valid_path(key):
            raise HTTPError(400, "file path must be relative")
        if digest == "":
            raise HTTPError(400, "invalid digest format")
    for key, digest in (req.get("draft_files") or {}).items():
        if not valid_path(key):
            raise HTTPError(400, "file path must be relative")
        if digest == "":
            raise HTTPError(400, "invalid digest format")
    if req.get("draft_quantize") and not req.get("draft_files"):
        raise HTTPError(400, "--draft-quantize requires a DRAFT model")
    for digest in (req.get("adapters") or {}).values():
        if digest == "":
            raise HTTPError(400, "invalid digest format")
    await run_create(ctx, req)


async def run_create(ctx: Ctx, req: dict[str, Any], legacy: bool = False) -> None:
    name = Name.parse(req.get("model") or req.get("name") or "")
    if not name.is_valid():
        raise HTTPError(400, "invalid model name")
    name = ctx.store.existing_name(name)
    items = _progress(ctx, req, name)
    if legacy:
        items = _legacy_statuses(items)
    if wants_stream(req):
        await ctx.stream_ndjson(items)
    else:
        await ctx.wait_for_stream(items)


async def _legacy_statuses(items: AsyncIterator[Any]) -> AsyncIterator[Any]:
    """The pre-0.5.5 status words for the same steps."""
    yield {"status": "reading model metadata"}
    async for item in items:
        if isinstance(item, dict) and isinstance(item.get("status"), str):
            status = item["status"]
            status = status.replace("using existing layer", "using already created layer")
            status = status.replace("creating new layer", "writing layer")
            item = {**item, "status": status}
        yield item


async def _progress(ctx: Ctx, req: dict[str, Any], name: Name) -> AsyncIterator[Any]:
    old = ctx.store.find(name)
    build = Build(config={"architecture": "amd64", "os": "linux"})
    for key in ("renderer", "parser", "requires"):
        if req.get(key):
            build.config[key] = req[key]
    try:
        if req.get("from"):
            async for item in _from_model(ctx, req["from"], build):
                yield item
                if isinstance(item, StreamError):
                    return
        elif req.get("files") is not None:
            async for item in _from_files(ctx, req["files"], build, adapter=False):
                yield item
        else:
            raise Fail("neither 'from' or 'files' was specified", 400)
        if req.get("adapters") is not None:
            async for item in _adapters(ctx, req["adapters"], build):
                yield item
        _apply_info(req.get("info"), build)
        async for item in _finish(ctx, req, name, build):
            yield item
    except Fail as err:
        yield StreamError(err.message, err.status)
        return
    if old is not None:
        ctx.store.remove_unused([x.get("digest", "") for x in [*old.layers, old.config_layer]])
    yield {"status": "success"}


async def _from_model(ctx: Ctx, raw: str, build: Build) -> AsyncIterator[Any]:
    try:
        ref = parse_ref(raw)
    except (ModelRequired, ConflictingSource) as exc:
        raise Fail("invalid model name", 400) from exc
    from_name = Name.parse(ref.base)
    if not from_name.is_valid():
        raise Fail("invalid model name", 400)
    inst = ctx.store.find(from_name)
    if inst is None:
        # parseFromModel pulls a missing base; its stream (with its own success) comes first.
        async for item in pull_progress(ctx, from_name):
            yield item
            if isinstance(item, StreamError):
                return
        inst = ctx.store.find(from_name)
        if inst is None:
            raise Fail(f"model '{from_name.display_shortest()}' not found")
    short = from_name.display_shortest()
    for src in inst.layers:
        lay = _existing_layer(ctx, src["mediaType"], src["digest"], short)
        if lay.media in GGUF_MEDIA:
            lay.gguf = _gguf_info(ctx, src["digest"])
        build.layers.append(lay)
    cfg_digest = inst.config_layer.get("digest")
    base_cfg = ctx.store.read_blob_json(cfg_digest) if cfg_digest else None
    if isinstance(base_cfg, dict):
        for key in ("renderer", "parser", "requires", "model_format", "capabilities"):
            if base_cfg.get(key) and not build.config.get(key):
                build.config[key] = base_cfg[key]


def _detect_kind(ctx: Ctx, files: dict[str, str]) -> str:
    """detectModelTypeFromFiles: by key suffix, else by sniffing the blob's magic."""
    for key in sorted(files):
        if key.endswith(".safetensors"):
            return "safetensors"
        if key.endswith(".gguf"):
            return "gguf"
        digest = files[key]
        if DIGEST_RE.match(digest) and has_gguf_magic(ctx.store.blob_path(digest)):
            return "gguf"
    return ""


async def _from_files(
    ctx: Ctx, files: dict[str, str], build: Build, adapter: bool
) -> AsyncIterator[Any]:
    kind = _detect_kind(ctx, files)
    if kind == "safetensors":
        if adapter:
            async for item in _convert_safetensors_adapter(ctx, files, build):
                yield item
        else:
            async for item in _convert_safetensors_model(ctx, files, build):
                yield item
        return
    if kind != "gguf":
        raise Fail("unknown type", 400)
    if not files:
        raise Fail("no files provided to convert", 400)
    if adapter and len(files) > 1:
        raise Fail("only one adapter is currently supported", 400)
    for key in sorted(files):
        digest = files[key]
        yield {"status": "parsing GGUF"}
        if not DIGEST_RE.match(digest):
            raise Fail("invalid digest format")
        path = ctx.store.blob_path(digest)
        if not path.is_file():
            raise _missing_blob(ctx, digest)
        if not has_gguf_magic(path):
            raise Fail("supplied file was not in GGUF format", 400)
        info = _gguf_info(ctx, digest)
        media = MEDIA_MODEL
        if info.kind == "adapter":
            media = MEDIA_ADAPTER
        elif info.kind in ("projector", "mmproj") or (
            info.arch_key("vision.block_count") and not info.arch_key("block_count")
        ):
            media = MEDIA_PROJECTOR
        lay = _existing_layer(ctx, media, digest, key)
        lay.gguf = info
        lay.rewrite = True
        build.layers.append(lay)


def _steps(ctx: Ctx, total: int) -> list[int]:
    steps = max(1, ctx.double.progress_steps)
    chunk = max(1, math.ceil(total / steps))
    return [min(total, chunk * (i + 1)) for i in range(math.ceil(total / chunk))] if total else []


def _linked(ctx: Ctx, files: dict[str, str]) -> dict[str, Path]:
    out = {}
    for key, digest in files.items():
        if not valid_path(key):
            raise Fail(f"file path must be relative: {key}", 400)
        if not DIGEST_RE.match(digest):
            raise Fail("invalid digest format")
        path = ctx.store.blob_path(digest)
        if not path.is_file():
            raise _missing_blob(ctx, digest)
        out[key] = path
    return out


async def _convert_safetensors_adapter(
    ctx: Ctx, files: dict[str, str], build: Build
) -> AsyncIterator[Any]:
    try:
        paths = _linked(ctx, files)
    except Fail as err:
        raise Fail(err.message, 400) from err
    base = next((x for x in build.layers if x.gguf is not None), None)
    if base is None or base.gguf is None:
        raise Fail("no base model was found", 400)
    yield {"status": "converting adapter"}
    with tempfile.TemporaryDirectory(dir=ctx.store.blobs) as tmp:
        out = Path(tmp) / "adapter.gguf"
        try:
            await asyncio.to_thread(convert_adapter, paths, base.gguf.kv, out)
        except ConvertError as err:
            raise Fail(err.message, 400) from err
        lay = _new_layer_from_file(ctx, MEDIA_ADAPTER, out)
    lay.gguf = _gguf_info(ctx, lay.body["digest"])
    build.layers.append(lay)


async def _convert_safetensors_model(
    ctx: Ctx, files: dict[str, str], build: Build
) -> AsyncIterator[Any]:
    paths = _linked(ctx, files)
    yield {"status": "converting model"}
    if "config.json" not in paths:
        raise Fail("open config.json: no such file or directory")
    try:
        cfg = json.loads(paths["config.json"].read_bytes())
    except ValueError as exc:
        raise Fail(f"parse config.json: {exc}") from exc
    archs = cfg.get("architectures") or []
    if not archs:
        raise Fail("unknown architecture")
    arch = SAFETENSORS_ARCHS.get(archs[0])
    if arch is None:
        raise Fail(f"unsupported architecture {gojson.go_quote(str(archs[0]))}")
    spec = ModelSpec(
        arch=arch,
        name=str(cfg.get("_name_or_path", "converted")),
        context_length=int(cfg.get("max_position_embeddings", 4096)),
        embedding_length=int(cfg.get("hidden_size", 8)),
        block_count=int(cfg.get("num_hidden_layers", 1)),
        head_count=int(cfg.get("num_attention_heads", 2)),
        file_type=1,
    )
    with tempfile.TemporaryDirectory(dir=ctx.store.blobs) as tmp:
        out = Path(tmp) / "model.gguf"
        await asyncio.to_thread(write_model, out, spec)
        lay = _new_layer_from_file(ctx, MEDIA_MODEL, out)
    lay.gguf = _gguf_info(ctx, lay.body["digest"])
    build.layers.append(lay)


async def _adapters(ctx: Ctx, adapters: dict[str, str], build: Build) -> AsyncIterator[Any]:
    before = len(build.layers)
    try:
        async for item in _from_files(ctx, adapters, build, adapter=True):
            yield item
    except Fail as err:
        raise Fail(err.message, 400) from err  # create.go sends every adapter error as 400
    # A GGUF whose general.type is not "adapter" is not rejected: it keeps its model media type.
    del before


def _apply_info(info: Any, build: Build) -> None:
    if not isinstance(info, dict):
        return
    caps = info.get("capabilities")
    if isinstance(caps, list):
        build.config.setdefault("capabilities", [])
        build.config["capabilities"] += [c for c in caps if isinstance(c, str)]
    for key, cfg_key in (
        ("model_family", "model_family"),
        ("base_name", "base_name"),
        ("quantization_level", "file_type"),
        ("parameter_size", "model_type"),
    ):
        if key in info:
            if not isinstance(info[key], str):
                raise Fail(f"info field {gojson.go_quote(key)} must be a string", 400)
            build.config[cfg_key] = info[key]
            if key == "model_family" and info[key]:
                build.config["model_families"] = [info[key]]
    for key in ("context_length", "embedding_length"):
        if key in info:
            value = info[key]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise Fail(f"info field {gojson.go_quote(key)} must be a number", 400)
            if value < 0 or value != int(value):
                raise Fail(f"info field {gojson.go_quote(key)} must be a non-negative integer", 400)
            build.config[key] = int(value)


async def _finish(ctx: Ctx, req: dict[str, Any], name: Name, build: Build) -> AsyncIterator[Any]:
    """createModel: quantize, text layers, params merge, config, statuses, manifest."""
    config = build.config
    families: list[str] = list(config.get("model_families") or [])
    layers: list[Layer] = []
    # strings.ToUpper(cmp.Or(r.Quantize, r.Quantization)): the status names the type as given
    # ("Q4_K"), the file gets the type it parses to (Q4_K_M).
    quantize = str(req.get("quantize") or req.get("quantization") or "").upper()
    for lay in build.layers:
        if lay.gguf is not None and lay.media == MEDIA_MODEL:
            rewrote = False
            if quantize:
                try:
                    want = parse_quant_type(quantize)
                except ConvertError as err:
                    raise Fail(err.message) from err
                have = lay.gguf.file_type_name
                if have not in ("F16", "BF16", "F32"):
                    raise Fail("quantization is only supported for F16, BF16 and F32 models")
                if have != want:
                    async for item in _quantize(ctx, lay, have, quantize, want):
                        yield item
                    rewrote = True
            if lay.rewrite and not rewrote:
                # v0.30+ validates (and rewrites) an uploaded text GGUF through llama-quantize,
                # unless quantizing already rewrote it.
                async for item in _validate(ctx, lay):
                    yield item
            info = lay.gguf
            assert info is not None
            config.setdefault("model_format", "gguf")
            config.setdefault("model_family", info.arch)
            config.setdefault("model_type", gojson.human_number(info.parameter_count))
            config.setdefault("file_type", info.file_type_name)
            families.append(info.arch)
        layers.append(lay)

    def replace(media: tuple[str, ...], new: Layer | None) -> None:
        nonlocal layers
        layers = [x for x in layers if x.media not in media]
        if new is not None:
            layers.append(new)

    template = req.get("template")
    if template:
        try:
            check_template(template)
        except ConvertError as err:
            raise Fail(err.message, err.status) from err
        # setTemplate removes only `template` layers; a legacy `prompt` layer stays.
        replace((MEDIA_TEMPLATE,), _new_layer(ctx, MEDIA_TEMPLATE, template.encode()))
    if req.get("system"):
        replace((MEDIA_SYSTEM,), _new_layer(ctx, MEDIA_SYSTEM, req["system"].encode()))
    for text in _licenses(req.get("license")):
        layers.append(_new_layer(ctx, MEDIA_LICENSE, text.encode()))
    # map[string]any on both sides: every number is a float64 when it is encoded again.
    params = gojson.go_any(dict(req.get("parameters") or {}))
    for base_params in [x for x in layers if x.media == MEDIA_PARAMS]:
        existing = ctx.store.read_blob_json(base_params.body["digest"])
        for key, value in (existing if isinstance(existing, dict) else {}).items():
            params.setdefault(key, gojson.go_any(value))  # the request's keys win
    if params:
        data = gojson.encode_line(dict(sorted(params.items())))
        replace((MEDIA_PARAMS,), _new_layer(ctx, MEDIA_PARAMS, data))
    messages = req.get("messages") or []
    if messages:
        encoded = [_message(m) for m in messages]
        replace((MEDIA_MESSAGES,), _new_layer(ctx, MEDIA_MESSAGES, gojson.encode_line(encoded)))

    cfg = _config(config, families)
    cdigest, csize, _ = ctx.store.put_bytes(gojson.encode_line(cfg))
    for lay in layers:
        if lay.status:
            yield {"status": lay.status}
    yield {"status": "writing manifest"}
    ctx.store.write_manifest(name, layer(MEDIA_CONFIG, cdigest, csize), [x.body for x in layers])


async def _validate(ctx: Ctx, lay: Layer) -> AsyncIterator[Any]:
    total = ctx.store.blob_path(lay.body["digest"]).stat().st_size
    for step in _steps(ctx, total):
        await ctx.pace()
        yield {
            "status": "validating GGUF model",
            "digest": ZERO_DIGEST,
            "total": total,
            "completed": step,
        }
    yield {"status": "verifying conversion"}
    lay.body.pop("from", None)  # the rewritten layer is new: no provenance


async def _quantize(ctx: Ctx, lay: Layer, have: str, given: str, want: str) -> AsyncIterator[Any]:
    """rewriteLayerWithLlamaQuantize: progress over the layer's size, then the new layer."""
    path = ctx.store.blob_path(lay.body["digest"])
    total = path.stat().st_size
    for step in _steps(ctx, total):
        await ctx.pace()
        yield {
            "status": f"quantizing {have} model to {given}",
            "digest": ZERO_DIGEST,
            "total": total,
            "completed": step,
        }
    yield {"status": "verifying conversion"}
    with tempfile.TemporaryDirectory(dir=ctx.store.blobs) as tmp:
        out = Path(tmp) / "quantized.gguf"
        await asyncio.to_thread(retype_gguf, path, out, want)
        new = _new_layer_from_file(ctx, MEDIA_MODEL, out)
    lay.body, lay.status = new.body, new.status
    lay.gguf = _gguf_info(ctx, lay.body["digest"])


def _licenses(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list):
        out = []
        for item in value:
            if not isinstance(item, str):
                kind = "number" if isinstance(item, int | float) else type(item).__name__
                raise Fail(f"json: cannot unmarshal {kind} into Go value of type string")
            out.append(item)
        return out
    raise Fail("json: cannot unmarshal object into Go value of type []string")


def _message(msg: dict[str, Any]) -> dict[str, Any]:
    """api.Message as json.Encoder writes it: role and content, the rest omitempty."""
    out: dict[str, Any] = {"role": msg.get("role", ""), "content": msg.get("content", "")}
    for key in ("thinking", "images", "tool_calls", "tool_name", "tool_call_id"):
        if msg.get(key):
            out[key] = gojson.go_any(msg[key]) if key == "tool_calls" else msg[key]
    return out


def _config(config: dict[str, Any], families: list[str]) -> dict[str, Any]:
    """ConfigV2 in its serialisation order."""
    out: dict[str, Any] = {
        "model_format": config.get("model_format", ""),
        "model_family": config.get("model_family", ""),
        "model_families": families or None,
        "model_type": config.get("model_type", ""),
        "file_type": config.get("file_type", ""),
    }
    for key in (
        "renderer",
        "parser",
        "requires",
        "remote_host",
        "remote_model",
        "capabilities",
        "context_length",
        "embedding_length",
        "base_name",
    ):
        if config.get(key):
            out[key] = config[key]
    out["architecture"] = "amd64"
    out["os"] = "linux"
    return out


def register(router: Router) -> None:
    router.add("POST", "/api/create", create)
