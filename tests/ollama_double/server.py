"""OllamaDouble: the test double as an object, a context manager and a background thread."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

from . import (
    routes_blobs,
    routes_cloud,
    routes_create,
    routes_inference,
    routes_models,
    routes_transfer,
)
from .app import Router, dispatch
from .catalogue import Catalogue
from .cloud import Cloud
from .faults import Faults
from .http import HttpServer, Request, Responder
from .reqlog import RequestLog
from .runtime import Runtime
from .seed import seed_store
from .store import Store

T = TypeVar("T")


def build_router() -> Router:
    router = Router()
    for module in (
        routes_models,
        routes_blobs,
        routes_transfer,
        routes_create,
        routes_inference,
        routes_cloud,
    ):
        module.register(router)
    return router


class OllamaDouble:
    """A protocol-faithful Ollama on 127.0.0.1, served from its own thread and event loop.

    models_dir: the Ollama-layout store (a fresh temp dir when None); seeded with the
    default models when it holds no manifest. port 0 picks a free port.
    progress_steps: how many `completed` updates pull/push report per layer.
    """

    def __init__(
        self,
        models_dir: Path | str | None = None,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        seed: bool = True,
        progress_steps: int = 4,
    ) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="ollama-double-")
        base = Path(self._tmp.name)
        self.models_dir = Path(models_dir) if models_dir is not None else base / "models"
        self.store = Store(self.models_dir)
        self.catalogue = Catalogue()
        self.cloud = Cloud()  # what ollama.com would answer: recommendations, web pages
        self.faults = Faults(on_refuse=self._refuse, on_accept=self._accept)
        self.requests = RequestLog()
        self.runtime = Runtime()
        self.progress_steps = progress_steps
        self.host = host
        self.port = port
        self._seed = seed
        self._router = build_router()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._http: HttpServer | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        if self._seed and not any(self.store.manifests.glob("*/*/*/*")):
            seed_store(self.store, self.catalogue)
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="ollama-double", daemon=True)
        self._thread.start()
        ready.wait()
        self._http = HttpServer(self._dispatch, self._on_disconnect, self.host)
        self.port = self._call(self._http.listen(self.port))

    def stop(self) -> None:
        if self._thread is None or self._loop is None or self._http is None:
            return
        with contextlib.suppress(Exception):
            self._call(self._http.shutdown(), timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        self._thread = None
        self._loop = None
        self._tmp.cleanup()

    def __enter__(self) -> OllamaDouble:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    # --- hooks for faults and the HTTP layer --------------------------------------------
    def _refuse(self) -> None:
        if self._http is not None and self._http.listening:
            self._call(self._http.stop_listening())

    def _accept(self) -> None:
        if self._http is not None and not self._http.listening:
            self._call(self._http.listen(self.port))

    async def _dispatch(self, req: Request, resp: Responder) -> None:
        await dispatch(self, self._router, req, resp)

    def _on_disconnect(self, req: Request) -> None:
        self.requests.record_disconnect(req.path)

    # --- conveniences for tests ------------------------------------------------------------
    def installed_names(self) -> list[str]:
        """Display-shortest names in the store, newest first (as /api/tags lists them)."""
        return self.store.installed_names()

    def loaded_names(self) -> list[str]:
        return [row["name"] for row in self.runtime.ps()]


@contextlib.contextmanager
def running_double(models_dir: Path | str | None = None, **options: Any) -> Iterator[OllamaDouble]:
    """Start a double for the duration of a `with` block."""
    double = OllamaDouble(models_dir, **options)
    double.start()
    try:
        yield double
    finally:
        double.stop()
