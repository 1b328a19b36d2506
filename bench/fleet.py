"""Several hosts: what routing adds to a call, and the merged model list against one host's.

Three doubles (and the first alone, for the baseline) on loopback, each with the seeded models
and a fixed latency on the routes the list and the snapshots read (`HOST_LATENCY`). Routing: a
`generate` (one answer, not streamed) through `Fleet.routed` with three hosts against the same
call with one host, interleaved in rounds so that load on the machine falls on both alike; the
routing decision alone is timed too. The list: `Fleet.list_models` asking every host afresh
(a list age of 0, so each call reaches Ollama) over three hosts against one: the hosts are asked
at once, so three should cost little more than one.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack

import anyio

from bench.common import Figure, Workspace
from tests.ollama_double import running_double
from tools.api.client import OllamaClient
from tools.catalog.cache import MetadataCache
from tools.catalog.model_catalog import ModelCatalog
from tools.fleet import Fleet, FleetHost, HostSpec

MODEL = "llama3.2:latest"
# Each double holds /api/tags and /api/ps this long: a host's own work and the network between.
# Without it the figure would measure the three doubles' Python, which share this process's GIL
# (and, as processes, this machine's cores): not what a fleet of machines costs.
HOST_LATENCY = 0.02


def run(workspace: Workspace) -> list[Figure]:
    folders = [workspace.folder(f"fleet-models-{n}") for n in range(3)]
    with ExitStack() as stack:
        doubles = [stack.enter_context(running_double(folder)) for folder in folders]
        for double in doubles:
            for path in ("/api/tags", "/api/ps"):
                double.faults.delay(path, HOST_LATENCY)
        return anyio.run(_measure, workspace, [d.url for d in doubles])


def _fleet(urls: list[str], cache: MetadataCache) -> Fleet:
    hosts = []
    for index, url in enumerate(urls):
        client = OllamaClient(url, max_retries=0)
        name = f"h{index}"
        catalog = ModelCatalog(client, cache, list_max_age=0, cache_host=f"{name}={url}")
        hosts.append(FleetHost(HostSpec(name, url), client, catalog))
    return Fleet(hosts)


async def _per_call(calls: int, work: Callable[[], Awaitable[object]]) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        await work()
    return (time.perf_counter() - start) / calls


async def _measure(workspace: Workspace, doubles: list[str]) -> list[Figure]:
    calls = max(20, workspace.settings.metadata_calls // 2)
    rounds = max(2, workspace.settings.repeats)
    cache = MetadataCache(workspace.folder("fleet-cache"))
    three, one = _fleet(doubles, cache), _fleet(doubles[:1], cache)

    async def generate(fleet: Fleet) -> None:
        async with fleet.routed(MODEL) as host:
            await host.client.generate(MODEL, "hi")

    async def route(fleet: Fleet) -> None:
        async with fleet.routed(MODEL):
            pass

    async def listing(fleet: Fleet) -> None:
        await fleet.list_models()

    for fleet in (three, one):  # warm: connections open, models loaded, snapshots read
        await generate(fleet)
        await listing(fleet)
    best: dict[str, float] = {}
    for _ in range(rounds):
        for name, fleet in (("three", three), ("one", one)):
            for what, work in (("generate", generate), ("route", route), ("list", listing)):
                key = f"{what}_{name}"
                took = await _per_call(calls, lambda w=work, f=fleet: w(f))  # type: ignore[misc]
                best[key] = min(best.get(key, took), took)
    for fleet in (three, one):
        for host in fleet.hosts:
            await host.client.aclose()
    cache.close()
    added_ms = (best["route_three"] - best["route_one"]) * 1e3
    return [
        Figure.of(
            "fleet_routing",
            "Routing a call: 3 hosts against 1",
            best["route_three"] * 1e6,
            best["route_one"] * 1e6,
            ratio_of="per-call time of choosing the host (and counting the call), 3 hosts / 1",
            unit="µs",
            healthy="the goal is the time added: under 0.2 ms per call (added_ms)",
            details={
                "calls_each": calls,
                "added_ms": round(added_ms, 4),
                "generate_us_3_hosts": round(best["generate_three"] * 1e6, 1),
                "generate_us_1_host": round(best["generate_one"] * 1e6, 1),
                "host_latency_ms": HOST_LATENCY * 1e3,
            },
        ),
        Figure.of(
            "fleet_list",
            "The merged model list: 3 hosts against 1",
            best["list_three"] * 1e6,
            best["list_one"] * 1e6,
            ratio_of="per-call time of list_models asked afresh, 3 hosts / 1 host",
            unit="µs",
            healthy="under 1.3 (the hosts are asked at once)",
            details={"calls_each": calls, "host_latency_ms": HOST_LATENCY * 1e3},
        ),
    ]
