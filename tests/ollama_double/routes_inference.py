"""/api/generate, /api/chat, /api/embed, /api/embeddings (contract 2.3-2.6, 3, 4)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import numpy as np

from . import gojson, inference
from .app import JSON_UTF8, Ctx, Router, wants_stream
from .decode import HTTPError
from .model import ModelView, load_view
from .names import ConflictingSource, ModelRequired, Name, parse_ref
from .runtime import DEFAULT_NUM_CTX, OptionError, check_options


def _ref(raw: str, empty_status: int, empty_message: str) -> Name:
    """parseAndValidateModelRef, with each route's answer to an empty name."""
    try:
        ref = parse_ref(raw)
    except ModelRequired as exc:
        raise HTTPError(empty_status, empty_message) from exc
    except ConflictingSource as exc:
        raise HTTPError(400, str(exc)) from exc
    name = Name.parse(ref.base)
    if not name.is_valid():
        raise HTTPError(400, "invalid model name")
    return name


def _lookup(ctx: Ctx, name: Name, missing: str, *, match_case: bool = True) -> ModelView:
    """getExistingName (unless the route skips it) + GetModel: a 404 `missing` if absent."""
    if match_case:
        inst = ctx.store.find(ctx.store.existing_name(name))
    else:
        inst = ctx.store.find_exact(name)  # /api/embeddings calls GetModel directly
    view = load_view(ctx.store, inst) if inst is not None else None
    if view is None:
        raise HTTPError(404, missing)
    return view


def _resolve(ctx: Ctx, raw: str, empty_status: int, empty_message: str, missing: str) -> ModelView:
    return _lookup(ctx, _ref(raw, empty_status, empty_message), missing)


def _options(view: ModelView, request_options: dict[str, Any] | None) -> dict[str, Any]:
    """The model's params, then the request's: a wrong type in either is a 500."""
    try:
        merged = check_options(view.params)
        merged.update(check_options(request_options or {}))
    except OptionError as exc:
        raise HTTPError(500, str(exc)) from exc
    return merged


def _resolved_think(think: Any, caps: list[str], raw_model: str) -> Any:
    """Thinking models think unless told not to; asking any other model to think is a 400."""
    if "thinking" in caps:
        return True if think is None else think
    if think is not None and _think_on(think):
        raise HTTPError(400, f"{gojson.go_quote(raw_model)} does not support thinking")
    return think


def _think_on(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value != "")


def _metrics(start_ns: int, load_ns: int, prompt_count: int, eval_count: int) -> dict[str, Any]:
    total = max(time.time_ns() - start_ns, load_ns + 1)
    prompt_ns = 1_000_000 + prompt_count * 100_000
    eval_ns = max(1, eval_count) * 2_000_000
    return {
        "total_duration": total + prompt_ns + eval_ns,
        "load_duration": load_ns,
        "prompt_eval_count": prompt_count,
        "prompt_eval_duration": prompt_ns,
        "eval_count": eval_count,
        "eval_duration": eval_ns,
    }


def _finish_keep_alive(ctx: Ctx, view: ModelView, keep_alive: int | None) -> None:
    if keep_alive == 0:
        ctx.double.runtime.unload(view)


async def generate(ctx: Ctx) -> None:
    start = time.time_ns()
    req = ctx.decode("GenerateRequest")
    if not 0 <= req.get("top_logprobs", 0) <= 20:
        raise HTTPError(400, "top_logprobs must be between 0 and 20")
    raw_model = req.get("model", "")
    view = _resolve(
        ctx, raw_model, 404, f"model '{raw_model}' not found", f"model '{raw_model}' not found"
    )
    prompt = req.get("prompt", "")
    keep_alive = req.get("keep_alive")
    if prompt == "" and keep_alive == 0:
        ctx.double.runtime.unload(view)
        await ctx.json(
            200,
            {
                "model": raw_model,
                "created_at": gojson.utc_now(),
                "response": "",
                "done": True,
                "done_reason": "unload",
            },
        )
        return
    raw = bool(req.get("raw"))
    if raw and (req.get("template") or req.get("system") or req.get("context")):
        raise HTTPError(400, "raw mode does not support template, system, or context")
    caps = view.capabilities()
    think = _resolved_think(req.get("think"), caps, raw_model)
    if "completion" not in caps:
        raise HTTPError(400, f"{gojson.go_quote(raw_model)} does not support generate")
    if req.get("suffix") and "insert" not in caps:
        raise HTTPError(400, f"{view.inst.name.fully_qualified()} does not support insert")
    opts = _options(view, req.get("options"))
    load_ns = ctx.double.runtime.touch(view, keep_alive, opts.get("num_ctx"))
    if prompt == "":
        await ctx.json(
            200,
            {
                "model": raw_model,
                "created_at": gojson.utc_now(),
                "response": "",
                "done": True,
                "done_reason": "load",
            },
        )
        return

    thinks = "thinking" in caps and _think_on(think)
    reply = inference.reply_for(prompt, req.get("format"))
    toks, reason = inference.apply_limits(
        inference.tokens(reply), opts.get("num_predict"), opts.get("stop")
    )
    think_toks = inference.tokens(inference.thinking_for(prompt)) if thinks else []
    logprobs = bool(req.get("logprobs"))

    def chunk(response: str, thinking: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {
            "model": raw_model,
            "created_at": gojson.utc_now(),
            "response": response,
        }
        if thinking:
            out["thinking"] = thinking
        out["done"] = False
        if logprobs and (response or thinking):
            out["logprobs"] = [{"token": response or thinking, "logprob": -0.25}]
        return out

    def final(response: str = "", thinking: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {
            "model": raw_model,
            "created_at": gojson.utc_now(),
            "response": response,
        }
        if thinking:
            out["thinking"] = thinking
        out["done"] = True
        out["done_reason"] = reason
        if not raw:
            out["context"] = inference.context_tokens(prompt, "".join(toks))
        out.update(_metrics(start, load_ns, inference.count_tokens(prompt) + 1, len(toks)))
        return out

    async def items() -> AsyncIterator[dict[str, Any]]:
        for tok in think_toks:
            await ctx.pace()
            yield chunk("", tok)
        for tok in toks:
            await ctx.pace()
            yield chunk(tok)
        yield final()

    if wants_stream(req):
        await ctx.stream_ndjson(items())
    else:
        async for _ in items():
            pass
        body = final("".join(toks), "".join(think_toks))
        if logprobs:
            body["logprobs"] = [{"token": t, "logprob": -0.25} for t in [*think_toks, *toks]]
        await ctx.json(200, body, JSON_UTF8)
    _finish_keep_alive(ctx, view, keep_alive)


async def chat(ctx: Ctx) -> None:
    start = time.time_ns()
    req = ctx.decode("ChatRequest")
    if not 0 <= req.get("top_logprobs", 0) <= 20:
        raise HTTPError(400, "top_logprobs must be between 0 and 20")
    raw_model = req.get("model", "")
    view = _resolve(ctx, raw_model, 400, "model is required", f"model '{raw_model}' not found")
    messages = req.get("messages") or []
    keep_alive = req.get("keep_alive")
    caps = view.capabilities()
    if not messages and keep_alive == 0:
        ctx.double.runtime.unload(view)
        await ctx.json(200, _chat_done(raw_model, "unload"))
        return
    think = _resolved_think(req.get("think"), caps, raw_model)
    # CheckCapabilities: a missing completion wins; otherwise "<full name> does not support tools".
    if "completion" not in caps:
        raise HTTPError(400, f"{gojson.go_quote(raw_model)} does not support chat")
    tools = req.get("tools") or []
    if tools and "tools" not in caps:
        raise HTTPError(400, f"{view.inst.name.fully_qualified()} does not support tools")
    opts = _options(view, req.get("options"))
    load_ns = ctx.double.runtime.touch(view, keep_alive, opts.get("num_ctx"))
    if not messages:
        await ctx.json(200, _chat_done(raw_model, "load"))
        return

    last = messages[-1]
    prompt = str(last.get("content", ""))
    thinks = "thinking" in caps and _think_on(think)
    calls = inference.tool_calls_for(tools, prompt) if tools and last.get("role") == "user" else []
    reply = "" if calls else inference.reply_for(prompt, req.get("format"))
    toks, reason = inference.apply_limits(
        inference.tokens(reply), opts.get("num_predict"), opts.get("stop")
    )
    think_toks = inference.tokens(inference.thinking_for(prompt)) if thinks else []
    prompt_count = sum(inference.count_tokens(str(m.get("content", ""))) for m in messages) + len(
        messages
    )

    def chunk(message: dict[str, Any]) -> dict[str, Any]:
        return {
            "model": raw_model,
            "created_at": gojson.utc_now(),
            "message": message,
            "done": False,
        }

    def final(message: dict[str, Any]) -> dict[str, Any]:
        out = {
            "model": raw_model,
            "created_at": gojson.utc_now(),
            "message": message,
            "done": True,
            "done_reason": reason,
        }
        out.update(_metrics(start, load_ns, prompt_count, len(toks) + len(calls)))
        return out

    async def items() -> AsyncIterator[dict[str, Any]]:
        for tok in think_toks:
            await ctx.pace()
            yield chunk({"role": "assistant", "content": "", "thinking": tok})
        for tok in toks:
            await ctx.pace()
            yield chunk({"role": "assistant", "content": tok})
        if calls:
            await ctx.pace()
            yield chunk({"role": "assistant", "content": "", "tool_calls": calls})
        yield final({"role": "assistant", "content": ""})

    if wants_stream(req):
        await ctx.stream_ndjson(items())
    else:
        async for _ in items():
            pass
        message: dict[str, Any] = {"role": "assistant", "content": "".join(toks)}
        if think_toks:
            message["thinking"] = "".join(think_toks)
        if calls:
            message["tool_calls"] = calls
        await ctx.json(200, final(message), JSON_UTF8)
    _finish_keep_alive(ctx, view, keep_alive)


def _chat_done(model: str, reason: str) -> dict[str, Any]:
    return {
        "model": model,
        "created_at": gojson.utc_now(),
        "message": {"role": "assistant", "content": ""},
        "done": True,
        "done_reason": reason,
    }


async def embed(ctx: Ctx) -> None:
    start = time.time_ns()
    req = ctx.decode("EmbedRequest")
    raw_model = req.get("model", "")
    name = _ref(raw_model, 404, f"model '{raw_model}' not found")
    value = req.get("input")
    inputs: list[str] = []
    if isinstance(value, str):
        if value:
            inputs = [value]
    elif isinstance(value, list):
        if not all(isinstance(x, str) for x in value):
            raise HTTPError(400, "invalid input type")
        inputs = list(value)
    elif value is not None:
        raise HTTPError(400, "invalid input type")
    missing = f"model {gojson.go_quote(raw_model)} not found, try pulling it first"
    view = _lookup(ctx, name, missing)
    opts = _options(view, req.get("options"))
    load_ns = ctx.double.runtime.touch(view, req.get("keep_alive"), opts.get("num_ctx"))
    if not inputs:
        await ctx.json(200, {"model": raw_model, "embeddings": []})
        _finish_keep_alive(ctx, view, req.get("keep_alive"))
        return
    num_ctx = min(opts.get("num_ctx") or DEFAULT_NUM_CTX, view.context_length)
    vectors = []
    total_tokens = 0
    for text in inputs:
        count = inference.count_tokens(text) + 2  # BOS and EOS, as Ollama adds them
        if count > num_ctx:
            if req.get("truncate") is False:
                raise HTTPError(400, "the input length exceeds the context length")
            text = " ".join(text.split()[: max(0, num_ctx - 2)])
            count = num_ctx
        total_tokens += count
        vec = inference.embedding(view.inst.name.display_shortest(), text, view.embedding_length)
        dims = req.get("dimensions", 0)
        if 0 < dims < len(vec):
            vec = inference.normalize(vec[:dims])
        vectors.append(inference.float32_list(vec))
    await ctx.json(
        200,
        {
            "model": raw_model,
            "embeddings": vectors,
            "total_duration": max(time.time_ns() - start, load_ns + 1),
            "load_duration": load_ns,
            "prompt_eval_count": total_tokens,
        },
    )
    _finish_keep_alive(ctx, view, req.get("keep_alive"))


async def embeddings(ctx: Ctx) -> None:
    req = ctx.decode("EmbeddingRequest")
    raw_model = req.get("model", "")
    missing = f"model {gojson.go_quote(raw_model)} not found, try pulling it first"
    view = _lookup(ctx, _ref(raw_model, 400, "model is required"), missing, match_case=False)
    opts = _options(view, req.get("options"))
    ctx.double.runtime.touch(view, req.get("keep_alive"), opts.get("num_ctx"))
    prompt = req.get("prompt", "")
    if not prompt:
        await ctx.json(200, {"embedding": []})
        return
    vec = inference.embedding(view.inst.name.display_shortest(), prompt, view.embedding_length)
    # The legacy endpoint is not normalised: scale the unit vector by a prompt-dependent norm.
    # The runner's values are float32; Go widens each one to float64 ([]float64).
    scaled = vec * np.float32(1 + len(prompt) % 7)
    await ctx.json(200, {"embedding": scaled.astype(np.float64).tolist()})
    _finish_keep_alive(ctx, view, req.get("keep_alive"))


def register(router: Router) -> None:
    router.add("POST", "/api/generate", generate)
    router.add("POST", "/api/chat", chat)
    router.add("POST", "/api/embed", embed)
    router.add("POST", "/api/embeddings", embeddings)
