"""What one MCP call costs: `list_models` and a cached `show_model` through the server on stdio
against asking the Ollama double directly with httpx2, and `list_models` with Ollama stopped.

Both sides use warm connections (a few calls first) and alternate in blocks, so drift in the
machine hits both alike; each figure is the median of single calls. The server's model list is
trusted for two seconds (`ModelCatalog.list_max_age`), so most `list_models` calls answer from
its cache and some ask `/api/tags`; the details count what the double saw.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio
import httpx2

from bench.common import Detail, Figure, Workspace, median
from bench.mcp_server import ServerProcess, Session, mcp_session
from tests.ollama_double import OllamaDouble, running_double
from tools.catalog.model_catalog import DEFAULT_LIST_MAX_AGE

MODEL = "llama3.2:latest"
BLOCK = 25  # calls of one kind before switching to the other
WARM_UP = 10


def run(workspace: Workspace) -> list[Figure]:
    with running_double(workspace.folder("mcp-calls-models")) as double:
        return anyio.run(_measure, workspace, double)


async def _measure(workspace: Workspace, double: OllamaDouble) -> list[Figure]:
    calls = workspace.settings.mcp_calls
    folder = workspace.folder("mcp-calls")
    async with (
        mcp_session(double.url, folder, label="calls") as session,
        httpx2.AsyncClient(base_url=double.url, timeout=30) as http,
    ):

        async def direct_tags() -> None:
            (await http.get("/api/tags")).raise_for_status()

        async def direct_show() -> None:
            (await http.post("/api/show", json={"model": MODEL})).raise_for_status()

        async def mcp_list() -> None:
            await session.call("list_models", {})

        async def mcp_show() -> None:
            found = await session.call("show_model", {"name": MODEL})
            if found["source"] not in ("cache", "live"):
                raise RuntimeError(f"show_model answered from {found['source']!r}")

        tags_before = double.requests.count("GET", "/api/tags")
        listing, asking = await alternate(session.server, mcp_list, direct_tags, calls)
        tags_by_mcp = _by_server(double, "GET", "/api/tags", tags_before, calls)
        shows_before = double.requests.count("POST", "/api/show")
        showing, asking_show = await alternate(session.server, mcp_show, direct_show, calls)
        shows_by_mcp = _by_server(double, "POST", "/api/show", shows_before, calls)
        offline = await _offline(session, double, calls)

    overhead = Figure.of(
        "mcp_call_overhead",
        "MCP list_models over a direct /api/tags",
        median(listing.seconds) * 1e3,
        median(asking.seconds) * 1e3,
        ratio_of="median tools/call list_models over stdio / median httpx2 GET /api/tags",
        unit="ms",
        healthy="the MCP call adds under 1 ms (added_ms)",
        details={
            "added_ms": round((median(listing.seconds) - median(asking.seconds)) * 1e3, 3),
            "calls_each": calls,
            "tags_requests_from_the_server": tags_by_mcp,
            "list_trusted_s": DEFAULT_LIST_MAX_AGE,
            **listing.cpu_ms("mcp"),
            **asking.cpu_ms("direct"),
        },
    )
    show = Figure.of(
        "mcp_cached_show",
        "Cached show_model over a direct /api/show",
        median(showing.seconds) * 1e3,
        median(asking_show.seconds) * 1e3,
        ratio_of="median tools/call show_model (cached) / median httpx2 POST /api/show",
        unit="ms",
        healthy="under 1: the cached MCP call is faster than asking Ollama",
        details={
            "calls_each": calls,
            "show_requests_from_the_server": shows_by_mcp,
            **showing.cpu_ms("mcp"),
            **asking_show.cpu_ms("direct"),
        },
    )
    return [overhead, show, offline]


def _by_server(double: OllamaDouble, method: str, path: str, before: int, direct: int) -> int:
    """Requests the server sent for `path` since `before`: all of them but the bench's own."""
    return double.requests.count(method, path) - before - direct - WARM_UP


@dataclass
class Side:
    """Single-call times of one kind of call, and the CPU both processes spent on them."""

    seconds: list[float] = field(default_factory=list)
    bench_cpu: float = 0.0  # this thread: the SDK's client, or httpx2 (the double has its own)
    server_cpu: float = 0.0  # the MCP server process

    def cpu_ms(self, prefix: str) -> dict[str, Detail]:
        calls = len(self.seconds)
        return {
            f"{prefix}_client_cpu_ms_per_call": round(self.bench_cpu / calls * 1e3, 3),
            f"{prefix}_server_cpu_ms_per_call": round(self.server_cpu / calls * 1e3, 3),
        }


async def alternate(
    server: ServerProcess,
    ours: Callable[[], Awaitable[None]],
    theirs: Callable[[], Awaitable[None]],
    calls: int,
) -> tuple[Side, Side]:
    """`calls` single calls of each kind, in alternating blocks after a warm-up."""
    for _ in range(WARM_UP):
        await ours()
        await theirs()
    sides = (Side(), Side())
    while len(sides[0].seconds) < calls:
        for work, side in zip((ours, theirs), sides, strict=True):
            cpu, server_cpu = time.thread_time(), server.cpu_seconds()
            for _ in range(min(BLOCK, calls - len(side.seconds))):
                start = time.perf_counter()
                await work()
                side.seconds.append(time.perf_counter() - start)
            side.bench_cpu += time.thread_time() - cpu
            side.server_cpu += server.cpu_seconds() - server_cpu
    return sides


async def _offline(session: Session, double: OllamaDouble, calls: int) -> Figure:
    """`list_models` with the double refusing connections against the same call with it up.

    The server's list is trusted for `list_max_age` seconds, so the bench waits that long
    first: the offline calls then really find Ollama gone, and answer from the stale cache.
    The first offline call pays for finding out (a refused connection); it is shown apart.
    """

    async def listed() -> str:
        return str((await session.call("list_models", {}))["source"])

    up = await _each(listed, calls)
    await anyio.sleep(DEFAULT_LIST_MAX_AGE + 0.1)
    double.faults.refuse_connections()
    try:
        start = time.perf_counter()
        first_source = await listed()
        first = time.perf_counter() - start
        down = await _each(listed, calls)
    finally:
        double.faults.accept_connections()
    sources = {source for _, source in down}
    if first_source != "stale" or sources - {"stale"}:
        raise RuntimeError(f"offline list_models answered from {first_source}, then {sources}")
    up_s = median([s for s, _ in up])
    down_s = median([s for s, _ in down])
    return Figure.of(
        "mcp_offline_list",
        "list_models with Ollama stopped over up",
        down_s * 1e3,
        up_s * 1e3,
        ratio_of="median list_models, Ollama refusing connections (warm cache) / Ollama up",
        unit="ms",
        healthy="under 2",
        details={
            "calls_each": calls,
            "first_offline_call_ms": round(first * 1e3, 2),
            "offline_source": "stale",
            "up_sources": ",".join(sorted({source for _, source in up})),
        },
    )


async def _each(work: Callable[[], Awaitable[str]], calls: int) -> list[tuple[float, str]]:
    timed: list[tuple[float, str]] = []
    for _ in range(calls):
        start = time.perf_counter()
        source = await work()
        timed.append((time.perf_counter() - start, source))
    return timed
