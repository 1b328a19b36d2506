"""Every `Resolve(...)` resolver of our tools is `async def`: the SDK runs a plain `def` resolver
in a worker thread on every call, a thread round trip per `generate` that the bench's
concurrency figure showed (`python -m bench`, `anyio.to_thread.run_sync` under `_resolve`)."""

from __future__ import annotations

import gc
import inspect
import weakref
from typing import Annotated, Any, get_args, get_origin, get_type_hints

from mcp.server.mcpserver import AcceptedElicitation, Resolve

import server.roots
from server.registry import TOOLS


def _resolvers() -> dict[str, object]:
    found: dict[str, object] = {}
    for spec in TOOLS:
        for name, hint in get_type_hints(spec.fn, include_extras=True).items():
            if get_origin(hint) is Annotated:
                for marker in get_args(hint)[1:]:
                    if isinstance(marker, Resolve):
                        found[f"{spec.name}({name})"] = marker.fn
    return found


def test_the_tools_that_read_files_resolve_roots_and_those_that_destroy_ask() -> None:
    assert set(_resolvers()) == {
        "generate(roots)",
        "create_model(roots)",
        "package_adapter(roots)",
        "ollama_status(roots)",
        "delete_model(answer)",  # server/confirm.py: the person's answer, when asked
        "copy_model(answer)",
        "create_model(answer)",
        "package_adapter(answer)",
    }


def test_every_resolver_runs_on_the_event_loop_not_in_a_worker_thread() -> None:
    threaded = [name for name, fn in _resolvers().items() if not inspect.iscoroutinefunction(fn)]
    assert threaded == []


def test_the_class_the_sdk_wraps_each_resolved_value_in_outlives_a_garbage_collection() -> None:
    """The SDK builds `AcceptedElicitation[Any]` on every resolved call; pydantic holds that
    class weakly, so unheld it was collected and rebuilt (about 1 ms) every few generate calls
    (`python -m bench --profile`: `create_generic_submodel` under `_accepted`)."""
    built = weakref.ref(AcceptedElicitation[Any])
    gc.collect()
    assert built() is not None
    assert built() is AcceptedElicitation[Any] is server.roots.RESOLVED_OUTCOME
