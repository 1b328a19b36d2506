"""The metadata cache on its own: persistence, freshness rules, single flight, invalidation races,
damaged files and several processes sharing one folder. Ollama itself is in test_cache_catalog."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest

from tools.catalog.cache import DB_FILE_NAME, CacheEntry, CacheKey, MetadataCache
from tools.errors import OllamaUnavailable

HOST = "http://127.0.0.1:11434"
KEY = CacheKey(HOST, "show", "registry.ollama.ai/library/m:latest")
REPO = Path(__file__).resolve().parents[2]


class Clock:
    """A settable clock: tests move time instead of sleeping."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Loader:
    """Stands in for one Ollama request: counts calls, returns the next payload or raises."""

    def __init__(self, payload: str = '{"v": 1}') -> None:
        self.payload = payload
        self.calls = 0
        self.down = False
        self.gate: asyncio.Event | None = None
        self.started = asyncio.Event()

    async def __call__(self) -> str:
        self.calls += 1
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.down:
            raise OllamaUnavailable(HOST, "connection refused")
        return self.payload


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def new_cache(tmp_path: Path, clock: Clock) -> Callable[..., MetadataCache]:
    made: list[MetadataCache] = []

    def make(**kwargs: object) -> MetadataCache:
        cache = MetadataCache(tmp_path / "cache", clock=clock, **kwargs)  # type: ignore[arg-type]
        made.append(cache)
        return cache

    yield make  # type: ignore[misc]
    for cache in made:
        cache.close()


# --- freshness ---------------------------------------------------------------------------------


async def test_first_lookup_is_live_then_cached_with_its_time(new_cache, clock):
    cache, load = new_cache(), Loader()
    first = await cache.lookup(KEY, load)
    second = await cache.lookup(KEY, load)
    assert (first.source, second.source, load.calls) == ("live", "cache", 1)
    assert second.value.payload == '{"v": 1}'
    assert second.cached_at == datetime.fromtimestamp(clock.now, UTC)


async def test_entry_expires_after_the_ttl(new_cache, clock):
    cache, load = new_cache(ttl=100), Loader()
    await cache.lookup(KEY, load)
    clock.now += 99.9
    assert (await cache.lookup(KEY, load)).source == "cache"
    clock.now += 0.1
    assert (await cache.lookup(KEY, load)).source == "live"
    assert load.calls == 2


async def test_a_different_digest_refreshes_inside_the_ttl(new_cache):
    cache, load = new_cache(), Loader()
    await cache.lookup(KEY, load, expect_digest="aaa")
    assert (await cache.lookup(KEY, load, expect_digest="aaa")).source == "cache"
    refreshed = await cache.lookup(KEY, load, expect_digest="bbb")
    assert (refreshed.source, refreshed.value.digest, load.calls) == ("live", "bbb", 2)


async def test_use_cache_false_always_asks(new_cache):
    cache, load = new_cache(), Loader()
    await cache.lookup(KEY, load)
    assert (await cache.lookup(KEY, load, use_cache=False)).source == "live"
    assert load.calls == 2


async def test_entries_survive_a_restart(new_cache, clock):
    await new_cache().lookup(KEY, Loader('{"kept": true}'))
    again = new_cache()
    load = Loader()
    found = await again.lookup(KEY, load)
    assert (found.source, found.value.payload, load.calls) == ("cache", '{"kept": true}', 0)


async def test_the_seed_folder_works(tmp_path, monkeypatch, clock):
    monkeypatch.setenv("HOME", str(tmp_path))
    cache = MetadataCache("~/.peft-studio/cache/ollama/", clock=clock)
    await cache.lookup(KEY, Loader())
    cache.close()
    assert (tmp_path / ".peft-studio" / "cache" / "ollama" / DB_FILE_NAME).is_file()


async def test_hosts_never_mix(new_cache):
    cache = new_cache()
    other = CacheKey("http://gpu-box:11434", KEY.kind, KEY.name)
    await cache.lookup(KEY, Loader('"here"'))
    found = await cache.lookup(other, Loader('"there"'))
    assert (found.source, found.value.payload) == ("live", '"there"')


# --- offline ------------------------------------------------------------------------------------


async def test_stale_value_served_when_ollama_is_down(new_cache, clock):
    cache, load = new_cache(ttl=10), Loader()
    await cache.lookup(KEY, load, expect_digest="aaa")
    stored_at = datetime.fromtimestamp(clock.now, UTC)
    clock.now += 3600
    load.down = True
    for kwargs in ({}, {"use_cache": False}, {"expect_digest": "other"}):
        found = await cache.lookup(KEY, load, **kwargs)  # type: ignore[arg-type]
        assert (found.source, found.is_stale, found.cached_at) == ("stale", True, stored_at)


async def test_stale_value_comes_from_the_file_after_a_restart(new_cache):
    await new_cache().lookup(KEY, Loader('"old"'))
    load = Loader()
    load.down = True
    found = await new_cache().lookup(KEY, load, use_cache=False)
    assert (found.source, found.value.payload) == ("stale", '"old"')


async def test_nothing_cached_and_ollama_down_raises(new_cache):
    load = Loader()
    load.down = True
    with pytest.raises(OllamaUnavailable):
        await new_cache().lookup(KEY, load)


async def test_stale_ok_false_lets_the_error_through(new_cache):
    cache, load = new_cache(), Loader()
    await cache.lookup(KEY, load)
    load.down = True
    with pytest.raises(OllamaUnavailable):
        await cache.lookup(KEY, load, use_cache=False, stale_ok=False)


# --- single flight and invalidation -------------------------------------------------------------


async def test_concurrent_lookups_share_one_load(new_cache):
    cache, load = new_cache(), Loader()
    load.gate = asyncio.Event()
    tasks = [asyncio.create_task(cache.lookup(KEY, load)) for _ in range(50)]
    await asyncio.sleep(0)
    load.gate.set()
    with anyio.fail_after(10):  # a bound, so a waiter left hanging fails the test
        results = await asyncio.gather(*tasks)
    assert load.calls == 1
    assert {result.value.payload for result in results} == {'{"v": 1}'}


async def test_a_cancelled_leader_hands_over_to_a_waiter(new_cache):
    cache, load = new_cache(), Loader()
    load.gate = asyncio.Event()
    leader = asyncio.create_task(cache.lookup(KEY, load))
    await load.started.wait()
    follower = asyncio.create_task(cache.lookup(KEY, load))
    await asyncio.sleep(0)
    leader.cancel()
    await asyncio.sleep(0)
    load.gate.set()
    with anyio.fail_after(10):
        assert (await follower).source == "live"
    assert leader.cancelled()
    assert load.calls == 2


async def test_errors_reach_every_waiter(new_cache):
    cache, load = new_cache(), Loader()
    load.gate, load.down = asyncio.Event(), True
    tasks = [asyncio.create_task(cache.lookup(KEY, load)) for _ in range(5)]
    await asyncio.sleep(0)
    load.gate.set()
    with anyio.fail_after(10):
        results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(result, OllamaUnavailable) for result in results)
    assert load.calls == 1


async def test_invalidate_drops_memory_and_file(new_cache):
    cache = new_cache()
    await cache.lookup(KEY, Loader())
    await cache.invalidate(HOST, names=[KEY.name])
    assert await cache.get(KEY) is None
    assert await new_cache().get(KEY) is None


async def test_a_load_begun_before_an_invalidation_is_not_stored(new_cache):
    cache, load = new_cache(), Loader('"before the change"')
    load.gate = asyncio.Event()
    in_flight = asyncio.create_task(cache.lookup(KEY, load))
    await load.started.wait()
    await cache.invalidate(HOST, names=[KEY.name])
    # A caller after the invalidation does not join the old request.
    after = asyncio.create_task(cache.lookup(KEY, Loader('"after the change"')))
    load.gate.set()
    assert (await in_flight).value.payload == '"before the change"'
    assert (await after).value.payload == '"after the change"'
    assert (await new_cache().get(KEY)).payload == '"after the change"'  # type: ignore[union-attr]


async def test_a_load_that_ends_after_an_invalidation_stores_nothing(new_cache):
    cache, load = new_cache(), Loader('"before the change"')
    load.gate = asyncio.Event()
    in_flight = asyncio.create_task(cache.lookup(KEY, load))
    await load.started.wait()
    await cache.invalidate(HOST, names=[KEY.name])
    load.gate.set()
    assert (await in_flight).source == "live"  # its caller still gets what it asked for
    assert await cache.get(KEY) is None
    assert await new_cache().get(KEY) is None


async def test_a_write_queued_before_an_invalidation_is_dropped(new_cache):
    # The write reaches the file only after the invalidation's delete: it must not land.
    cache = new_cache()
    reached, release = threading.Event(), threading.Event()
    real_put = cache._db.put

    def held_put(*args: Any, **kwargs: Any) -> None:
        reached.set()
        release.wait(timeout=30)  # a bound, so a failing test cannot hang
        real_put(*args, **kwargs)

    cache._db.put = held_put  # type: ignore[method-assign]
    lookup = asyncio.create_task(cache.lookup(KEY, Loader('"before the change"')))
    await anyio.to_thread.run_sync(reached.wait, 30)
    await cache.invalidate(HOST, names=[KEY.name])
    release.set()
    await lookup
    assert await new_cache().get(KEY) is None


async def test_a_read_overtaken_by_an_invalidation_is_not_kept(new_cache):
    await new_cache().lookup(KEY, Loader('"old"'))
    cache = new_cache()
    reached, release = threading.Event(), threading.Event()
    real_get = cache._db.get

    def held_get(key: CacheKey) -> CacheEntry | None:
        found = real_get(key)
        reached.set()
        release.wait(timeout=30)  # a bound, so a failing test cannot hang
        return found

    cache._db.get = held_get  # type: ignore[method-assign]
    reading = asyncio.create_task(cache.get(KEY))
    await anyio.to_thread.run_sync(reached.wait, 30)
    await cache.invalidate(HOST, names=[KEY.name])
    release.set()
    assert await reading is None
    cache._db.get = real_get  # type: ignore[method-assign]
    assert (await cache.lookup(KEY, Loader('"new"'))).value.payload == '"new"'


async def test_invalidate_by_kind_and_host(new_cache):
    cache = new_cache()
    listing = CacheKey(HOST, "tags")
    elsewhere = CacheKey("http://other:11434", "tags")
    for key in (KEY, listing, elsewhere):
        await cache.lookup(key, Loader())
    await cache.invalidate(HOST, kinds=["tags"])
    assert await cache.get(listing) is None
    assert await cache.get(KEY) is not None
    assert await cache.get(elsewhere) is not None


async def test_sync_clear_empties_memory_and_file(new_cache):
    cache = new_cache()
    await cache.lookup(KEY, Loader())
    cache.clear()
    assert await cache.get(KEY) is None
    assert await new_cache().get(KEY) is None


# --- damaged and unusable files -----------------------------------------------------------------


async def test_a_corrupt_file_is_logged_and_rebuilt(new_cache, tmp_path, caplog):
    first = new_cache()
    await first.lookup(KEY, Loader())
    first.close()
    db = tmp_path / "cache" / DB_FILE_NAME
    db.write_bytes(b"this is not a database, just garbage " * 200)

    cache = new_cache()
    with caplog.at_level(logging.WARNING, logger="tools.catalog.cache_db"):
        found = await cache.lookup(KEY, Loader('"rebuilt"'))
    assert found.source == "live"
    assert "is damaged" in caplog.text and "rebuilding it empty" in caplog.text
    assert (await new_cache().get(KEY)).payload == '"rebuilt"'  # type: ignore[union-attr]
    assert db.read_bytes().startswith(b"SQLite format 3\x00")


async def test_a_file_damaged_while_open_does_not_crash(new_cache, tmp_path):
    cache = new_cache()
    await cache.lookup(KEY, Loader())
    db = tmp_path / "cache" / DB_FILE_NAME
    with db.open("r+b") as handle:  # garbage over the header and the first pages, in place
        handle.write(b"\xde\xad\xbe\xef" * 2048)
    other = CacheKey(HOST, "show", "another")
    await cache.lookup(other, Loader('"x"'), use_cache=False)
    await new_cache().lookup(other, Loader('"y"'), use_cache=False)
    found = await new_cache().get(other)
    assert found is not None and found.payload == '"y"'


async def test_an_unopenable_file_means_memory_only(new_cache, tmp_path, caplog):
    (tmp_path / "cache" / DB_FILE_NAME).mkdir(parents=True)  # a folder where the file should be
    cache, load = new_cache(), Loader()
    with caplog.at_level(logging.WARNING, logger="tools.catalog.cache_db"):
        assert (await cache.lookup(KEY, load)).source == "live"
        assert (await cache.lookup(KEY, load)).source == "cache"
        await cache.lookup(CacheKey(HOST, "show", "b"), load)
        await cache.invalidate(HOST, names=["b"])
        cache.clear()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "cannot be used" in warnings[0].getMessage()


async def test_an_unreadable_row_from_another_schema_is_rebuilt(new_cache, tmp_path):
    folder = tmp_path / "cache"
    folder.mkdir()
    with sqlite3.connect(folder / DB_FILE_NAME) as conn:  # as an older version might have left it
        conn.execute("CREATE TABLE entries (k TEXT)")
        conn.execute("INSERT INTO entries VALUES ('old')")
    cache = new_cache()
    assert (await cache.lookup(KEY, Loader())).source == "live"
    assert await new_cache().get(KEY) is not None


async def test_the_file_is_in_wal_mode(new_cache, tmp_path):
    await new_cache().lookup(KEY, Loader())
    with sqlite3.connect(tmp_path / "cache" / DB_FILE_NAME) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# --- several processes ---------------------------------------------------------------------------

_WRITER = """
import logging, sys, time
import anyio
from tools.catalog.cache import CacheEntry, CacheKey, MetadataCache

logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
folder, tag, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
cache = MetadataCache(folder)
print("ready", flush=True)
sys.stdin.readline()  # start together

async def main() -> None:
    for i in range(count):
        entry = CacheEntry(f'{{"writer": "{tag}", "i": {i}}}', f"d{i}", time.time())
        await cache.put(CacheKey("http://h:11434", "show", f"{tag}-{i}"), entry)
        await cache.put(CacheKey("http://h:11434", "tags", "shared"), entry)
        if i % 10 == 0:
            await cache.invalidate("http://h:11434", names=[f"never-{tag}"])

anyio.run(main)
print("done", flush=True)
"""


def test_two_processes_write_one_cache_at_once(tmp_path):
    folder, count = tmp_path / "shared", 300
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(folder), tag, str(count)],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("a", "b")
    ]
    for writer in writers:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
    for writer in writers:
        assert writer.stdin is not None
        writer.stdin.write("go\n")
        writer.stdin.flush()
    outcomes = [writer.communicate(timeout=60) for writer in writers]
    for writer, (out, err) in zip(writers, outcomes, strict=True):
        assert writer.returncode == 0, err
        assert out.strip() == "done"
        assert err == ""  # not even a logged warning: no lock ran out, nothing was rebuilt

    with sqlite3.connect(folder / DB_FILE_NAME) as conn:
        rows = dict(conn.execute("SELECT name, payload FROM entries WHERE kind='show'").fetchall())
        shared = conn.execute("SELECT payload FROM entries WHERE kind='tags'").fetchall()
    assert len(rows) == 2 * count
    for tag in ("a", "b"):
        for i in range(count):
            assert rows[f"{tag}-{i}"] == f'{{"writer": "{tag}", "i": {i}}}'
    assert len(shared) == 1 and shared[0][0].endswith(f'"i": {count - 1}}}')
