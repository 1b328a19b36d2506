"""Loaded models (what /api/ps reports) and request options as Ollama checks them."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from . import gojson
from .decode import MAX_DURATION_NS
from .model import ModelView

DEFAULT_KEEP_ALIVE_NS = 5 * 60 * 1_000_000_000
DEFAULT_NUM_CTX = 4096  # the VRAM-tier default for small GPUs (contract 3.1)

# api.Options + api.Runner field kinds (contract 3.1)
OPTION_KINDS = {
    "num_keep": "int",
    "seed": "int",
    "num_predict": "int",
    "top_k": "int",
    "top_p": "float",
    "min_p": "float",
    "typical_p": "float",
    "repeat_last_n": "int",
    "temperature": "float",
    "repeat_penalty": "float",
    "presence_penalty": "float",
    "frequency_penalty": "float",
    "stop": "[]string",
    "num_ctx": "int",
    "num_batch": "int",
    "num_gpu": "int",
    "main_gpu": "*int",
    "use_mmap": "*bool",
    "num_thread": "int",
    "draft_num_predict": "int",
}


class OptionError(ValueError):
    pass


def check_options(options: dict[str, Any]) -> dict[str, Any]:
    """Options.FromMap: unknown keys ignored, nulls skipped, wrong types an error (500)."""
    out: dict[str, Any] = {}
    for key, value in options.items():
        kind = OPTION_KINDS.get(key)
        if kind is None or value is None:
            continue
        is_num = isinstance(value, int | float) and not isinstance(value, bool)
        if kind in ("int", "*int"):
            if not is_num:
                raise OptionError(f'option "{key}" must be of type integer')
            out[key] = int(value)
        elif kind == "float":
            if not is_num:
                raise OptionError(f'option "{key}" must be of type float32')
            out[key] = float(value)
        elif kind == "*bool":
            if not isinstance(value, bool):
                raise OptionError(f'option "{key}" must be of type boolean')
            out[key] = value
        elif kind == "[]string":
            if not isinstance(value, list):
                raise OptionError(f'option "{key}" must be of type array')
            if not all(isinstance(x, str) for x in value):
                raise OptionError(f'option "{key}" must be of an array of strings')
            out[key] = list(value)
    return out


@dataclass
class Loaded:
    view: ModelView
    display: str
    expires_ns: int
    context_length: int


class Runtime:
    """Which models are 'in memory'; all access happens on the server loop."""

    def __init__(self) -> None:
        self.loaded: dict[str, Loaded] = {}
        self.loads = 0  # how many times a model had to be loaded

    def _expire(self) -> None:
        now = time.time_ns()
        for key in [k for k, v in self.loaded.items() if v.expires_ns <= now]:
            del self.loaded[key]

    def is_loaded(self, view: ModelView) -> bool:
        self._expire()
        return view.inst.name.key in {v.view.inst.name.key for v in self.loaded.values()}

    def touch(self, view: ModelView, keep_alive_ns: int | None, num_ctx: int | None) -> int:
        """Load (or refresh) a model; returns a load duration in ns."""
        self._expire()
        key = "/".join(view.inst.name.key)
        was_loaded = key in self.loaded
        if was_loaded:
            self.loaded[key].view = view
        if not was_loaded:
            self.loads += 1
        ka = DEFAULT_KEEP_ALIVE_NS if keep_alive_ns is None else keep_alive_ns
        now = time.time_ns()
        expires = MAX_DURATION_NS if ka >= MAX_DURATION_NS - now else now + ka
        ctx = min(num_ctx or DEFAULT_NUM_CTX, view.context_length)
        self.loaded[key] = Loaded(view, view.inst.name.display_shortest(), expires, ctx)
        return 1_000_000 if was_loaded else 25_000_000

    def unload(self, view: ModelView) -> None:
        self.loaded.pop("/".join(view.inst.name.key), None)

    def ps(self) -> list[dict[str, Any]]:
        self._expire()
        rows = sorted(self.loaded.values(), key=lambda x: x.expires_ns, reverse=True)
        out = []
        for row in rows:
            inst = row.view.inst
            # A forever keep_alive shows as now + MaxInt64 ns (~292 years), clamped for Python.
            expires = row.expires_ns if row.expires_ns < MAX_DURATION_NS else _far_future_ns()
            out.append(
                {
                    "name": row.display,
                    "model": row.display,
                    "size": inst.size,
                    "digest": inst.digest,
                    "details": row.view.ps_details(),
                    "expires_at": gojson.local_time(expires),
                    "size_vram": inst.size,
                    "context_length": row.context_length,
                }
            )
        return out


def _far_future_ns() -> int:
    # now + MaxInt64 ns overflows Go's wall clock to year ~2318; year 9999 is Python's limit.
    return min(time.time_ns() + MAX_DURATION_NS, 253402300799 * 1_000_000_000)
