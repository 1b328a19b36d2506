"""Deterministic model output: what the double 'generates' for a prompt.

Tests can predict every token: the reply to a prompt is `Echo: ` followed by the first
48 words of the prompt, streamed one word per chunk. Thinking models first think
`Thinking about: ...`. With `format` set the reply is the JSON object {"echo": prompt}.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import numpy as np

MAX_WORDS = 48


def reply_for(prompt: str, fmt: Any = None) -> str:
    words = prompt.split()[:MAX_WORDS]
    if fmt:
        return json.dumps({"echo": " ".join(words)})
    return "Echo: " + " ".join(words) if words else "Echo:"


def thinking_for(prompt: str) -> str:
    return "Thinking about: " + " ".join(prompt.split()[:16])


def tokens(text: str) -> list[str]:
    """One chunk per word, each with its leading whitespace."""
    return re.findall(r"\s*\S+", text)


def count_tokens(text: str) -> int:
    return len(text.split())


def apply_limits(
    toks: list[str], num_predict: int | None, stop: list[str] | None
) -> tuple[list[str], str]:
    """Cut the reply at a stop sequence or at num_predict tokens; returns (tokens, done_reason)."""
    if stop:
        text = "".join(toks)
        cut = min((i for s in stop if s and (i := text.find(s)) >= 0), default=-1)
        if cut >= 0:
            kept: list[str] = []
            length = 0
            for tok in toks:
                if length + len(tok) > cut:
                    break
                kept.append(tok)
                length += len(tok)
            toks = kept
    if num_predict is not None and num_predict >= 0 and len(toks) > num_predict:
        return toks[:num_predict], "length"
    return toks, "stop"


def context_tokens(prompt: str, reply: str) -> list[int]:
    """A stand-in for the token ids in a generate final's `context`."""
    out = []
    for word in (prompt + " " + reply).split():
        out.append(int.from_bytes(hashlib.sha256(word.encode()).digest()[:2], "little") + 1)
    return out


def embedding(model: str, text: str, dims: int) -> np.ndarray:
    """A deterministic unit vector for (model, text)."""
    seed = int.from_bytes(hashlib.sha256(f"{model}\0{text}".encode()).digest()[:8], "little")
    vec = np.random.default_rng(seed).standard_normal(dims).astype(np.float32)
    return normalize(vec)


def normalize(vec: np.ndarray) -> np.ndarray:
    norm = float(np.sqrt(float(np.sum(vec.astype(np.float64) ** 2))))
    return (vec * np.float32(1.0 / max(norm, 1e-12))).astype(np.float32)


def float32_list(vec: np.ndarray) -> list[float]:
    """Floats as Go marshals []float32: the shortest digits of each float32."""
    return [float(str(x)) for x in vec.astype(np.float32)]


def tool_calls_for(tools: list[Any], text: str) -> list[dict[str, Any]]:
    """Call every offered tool whose function name the last message mentions."""
    calls: list[dict[str, Any]] = []
    for tool in tools:
        fn = (tool or {}).get("function") or {}
        name = fn.get("name")
        if not name or name not in text:
            continue
        params = fn.get("parameters") or {}
        props = params.get("properties") or {}
        args: dict[str, Any] = {}
        for key in params.get("required") or list(props)[:1]:
            match = re.search(rf"\b{re.escape(key)}=(\S+)", text)
            kind = (props.get(key) or {}).get("type")
            if match:
                raw = match.group(1)
                args[key] = _typed(raw, kind)
            else:
                args[key] = {"integer": 1, "number": 1, "boolean": True}.get(str(kind), "test")
        call_id = "call_" + _id8(f"{name}:{len(calls)}:{text}")
        calls.append(
            {"id": call_id, "function": {"index": len(calls), "name": name, "arguments": args}}
        )
    return calls


def _typed(raw: str, kind: Any) -> Any:
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw)
        if kind == "boolean":
            return raw.lower() == "true"
    except ValueError:
        pass
    return raw


def _id8(seed: str) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:8])
