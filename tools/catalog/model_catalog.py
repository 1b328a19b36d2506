"""What models are installed, and their metadata: Ollama's answers through the shared cache,
with Ollama's model folder as the last resort when the daemon is down.

How a metadata lookup stays correct without asking `/api/show` every time: `/api/tags` is cheap
and reports each model's manifest digest; a cached `/api/show` answer is only served while the
digest it was stored under is still the one `/api/tags` reports. The model list itself is trusted
for a few seconds only (`list_max_age`), since something other than this process (the `ollama`
CLI, another app) may change the models at any time.

Order of answers:

1. live from Ollama, or from the cache when fresh (`"live"`, `"cache"`);
2. Ollama unreachable: the last cached answer (`"stale"`);
3. Ollama unreachable, nothing cached: read from Ollama's model folder (`"disk"`), when Ollama
   runs on this machine: the folder of a server elsewhere is not here (contract 12.1);
4. none of these: `OllamaUnavailable`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio.to_thread
from pydantic import ValidationError

from tools.api.client import OllamaClient
from tools.api.host import is_loopback
from tools.api.names import ModelName, parse_model_name
from tools.api.transport import without_connect_retries
from tools.api.types import ListResponse, ModelSummary, ShowResponse
from tools.catalog.cache import Cached, CacheEntry, CacheKey, MetadataCache
from tools.catalog.store import ModelStore
from tools.errors import InvalidArgument, InvalidModelName, ModelNotFound, OllamaUnavailable

logger = logging.getLogger(__name__)

DEFAULT_LIST_MAX_AGE = 2.0  # seconds a model list (and the digests in it) is trusted
DEFAULT_OFFLINE_WINDOW = 5.0  # seconds an unreachable Ollama is not asked again
T = TypeVar("T")
LIST_KIND = "tags"
SHOW_KIND = "show"


class ModelCatalog:
    """`list_models` and `get_model_metadata` for one Ollama server, cached.

    Call `invalidate(name, ...)` after anything this process changes (create, delete, copy, pull,
    push), naming every model it touched; the list is invalidated with them.

    `store` is the model folder read when Ollama is down; by default `ModelStore()` for an Ollama
    on this machine (a loopback address), and none for one elsewhere.

    Once Ollama is found unreachable, it is not asked again for `offline_window` seconds: calls
    answer from the cache or the folder at once instead of paying the client's retry cycle each
    time. The window ends early when any other call through the same client gets an answer;
    after it, the first call makes one cheap probe (a single attempt, no retries) and goes back
    to Ollama if it answers. `offline_window=0` asks Ollama every time. `clock`
    (monotonic seconds) is injectable so tests need no sleeps.
    """

    def __init__(
        self,
        client: OllamaClient,
        cache: MetadataCache,
        *,
        store: ModelStore | None = None,
        list_max_age: float = DEFAULT_LIST_MAX_AGE,
        offline_window: float = DEFAULT_OFFLINE_WINDOW,
        clock: Callable[[], float] = time.monotonic,
        cache_host: str | None = None,
    ) -> None:
        if offline_window < 0:
            raise InvalidArgument(
                f"offline_window must be 0 or more seconds, not {offline_window!r}"
            )
        self.client = client
        self.cache = cache
        self.store = store if store is not None else _local_store(self.host)
        # What its cache entries are keyed by: the base URL, or a fleet's `name=URL`, so that
        # two hosts (or two names of one address) never share an entry.
        self.cache_host = cache_host or self.host
        self.list_max_age = list_max_age
        self.offline_window = offline_window
        self._clock = clock
        self._down_until: float | None = None  # set while Ollama is remembered as unreachable
        self._answers_when_down = 0  # the client's answer count when Ollama was found down

    @property
    def host(self) -> str:
        return str(self.client.base_url)

    # --- remembering that Ollama is down -----------------------------------------------------

    @property
    def offline(self) -> bool:
        """Whether Ollama was last found unreachable (and is not asked until a probe succeeds)."""
        return self._down_until is not None

    async def _ask(self, request: Callable[[], Awaitable[T]]) -> T:
        """`request()` to Ollama, unless it is remembered as unreachable."""
        await self._check_reachable()
        try:
            # Every read here has a cached or disk answer to fall back on: fail fast.
            with without_connect_retries():
                return await request()
        except OllamaUnavailable:
            self._mark_down()
            raise

    async def _check_reachable(self) -> None:
        if self._down_until is None:
            return
        if self.client.answers_received > self._answers_when_down:
            self._down_until = None  # another call got an answer since: Ollama is back
            return
        if self._clock() < self._down_until:
            raise OllamaUnavailable(
                self.host, f"it was unreachable under {self.offline_window:g} s ago"
            )
        if await self.client.reachable():
            self._down_until = None
            return
        self._mark_down()
        raise OllamaUnavailable(self.host, "still unreachable")

    def _mark_down(self) -> None:
        if self.offline_window > 0:
            self._down_until = self._clock() + self.offline_window
            self._answers_when_down = self.client.answers_received

    # --- the list ----------------------------------------------------------------------------

    async def list_models(self, *, use_cache: bool = True) -> Cached[list[ModelSummary]]:
        """Installed models, newest first. `use_cache=False` asks Ollama whatever the cache
        holds (a stale or disk answer is still given when Ollama cannot be reached)."""
        try:
            return await self._list(use_cache=use_cache, stale_ok=True)
        except OllamaUnavailable:
            if self.store is None or not self.store.exists():
                raise
            return Cached(await self.store.list_models(), "disk")

    async def _list(self, *, use_cache: bool, stale_ok: bool) -> Cached[list[ModelSummary]]:
        found = await self.cache.lookup(
            self._key(LIST_KIND),
            self._load_list,
            use_cache=use_cache,
            max_age=self.list_max_age,
            stale_ok=stale_ok,
        )
        models = _decode_list(found.value)
        if models is None:  # an unreadable entry (another version wrote it): ask again
            await self.cache.invalidate(self.cache_host, kinds=[LIST_KIND])
            return await self._list(use_cache=False, stale_ok=False)
        return found.map(lambda _: models)

    async def _load_list(self) -> str:
        return (await self._ask(self.client.list)).model_dump_json()

    # --- one model ---------------------------------------------------------------------------

    async def get_model_metadata(
        self, name: str, *, use_cache: bool = True
    ) -> Cached[ShowResponse]:
        """`/api/show` for `name`. Raises `InvalidModelName` before any request for a name
        Ollama would reject, `ModelNotFound` when it is not installed, `OllamaUnavailable` when
        Ollama is down and neither the cache nor the model folder knows the model."""
        wanted = parse_model_name(name)
        key = self._key(SHOW_KIND, _model_key(wanted))

        async def load() -> str:
            return (await self._ask(lambda: self.client.show(name.strip()))).model_dump_json()

        try:
            digest = await self._current_digest(wanted, use_cache=use_cache)
            found = await self.cache.lookup(
                key,
                load,
                # A model /api/tags does not list is asked about afresh: Ollama's own 404 is the
                # answer, or the model appeared since the list was read.
                use_cache=use_cache and digest is not None,
                expect_digest=digest,
            )
        except OllamaUnavailable as down:
            return await self._offline_metadata(key, wanted, down)
        except ModelNotFound:
            await self.cache.invalidate(self.cache_host, names=[key.name])
            raise
        metadata = _decode_show(found.value)
        if metadata is None:
            await self.cache.invalidate(self.cache_host, names=[key.name])
            return await self.get_model_metadata(name, use_cache=False)
        return found.map(lambda _: metadata)

    async def find_model(self, name: str, *, use_cache: bool = True) -> Cached[ModelSummary]:
        """The model's `/api/tags` entry (name, size, digest, details: the fields the seed's
        metadata object shows), with the same fallbacks as `list_models`. Raises
        `ModelNotFound` when the list does not have it."""
        wanted = parse_model_name(name)
        listed = await self._listed(wanted, use_cache=use_cache, offline_ok=True)
        found = listed.value
        if found is None:
            raise ModelNotFound(wanted.shortest)
        return listed.map(lambda _: found)

    async def _current_digest(self, wanted: ModelName, *, use_cache: bool) -> str | None:
        """The manifest digest `/api/tags` reports for `wanted` (None: not listed)."""
        found = (await self._listed(wanted, use_cache=use_cache, offline_ok=False)).value
        return None if found is None else found.digest

    async def _listed(
        self, wanted: ModelName, *, use_cache: bool, offline_ok: bool
    ) -> Cached[ModelSummary | None]:
        """`wanted`'s list entry (None: not listed), from `list_models` with its stale and disk
        answers when `offline_ok`, else from Ollama or the fresh cache only. A cached list that
        lacks the model is checked once more against Ollama: the model may be newer."""

        async def read(use_cache: bool) -> Cached[list[ModelSummary]]:
            if offline_ok:
                return await self.list_models(use_cache=use_cache)
            return await self._list(use_cache=use_cache, stale_ok=False)

        listing = await read(use_cache)
        found = _entry_in(listing.value, wanted)
        if found is None and listing.source == "cache":
            listing = await read(False)
            found = _entry_in(listing.value, wanted)
        if found is None and listing.source == "stale" and self.store is not None:
            # Ollama is down and the cached list predates the model: its folder may know it.
            stored = await anyio.to_thread.run_sync(self.store.find, wanted)
            if stored is not None:
                return Cached(stored.summary, "disk")
        return listing.map(lambda _: found)

    async def _offline_metadata(
        self, key: CacheKey, wanted: ModelName, down: OllamaUnavailable
    ) -> Cached[ShowResponse]:
        entry = await self.cache.get(key)
        metadata = _decode_show(entry) if entry is not None else None
        if entry is not None and metadata is not None:
            return MetadataCache.wrap(entry, "stale").map(lambda _: metadata)
        basic = await self.store.show(wanted) if self.store is not None else None
        if basic is not None:
            return Cached(basic, "disk")
        raise down

    # --- invalidation ------------------------------------------------------------------------

    async def invalidate(self, *names: str) -> None:
        """Forget what is cached about `names` (and the model list), after a change to them.
        Never raises for a name: one that does not parse has nothing cached under it, and this
        runs after mutations, where it must not hide their own outcome."""
        keys = []
        for name in names:
            try:
                keys.append(_model_key(parse_model_name(name)))
            except InvalidModelName:
                continue
        await self.cache.invalidate(self.cache_host, names=keys, kinds=[LIST_KIND])

    async def invalidate_list(self) -> None:
        await self.cache.invalidate(self.cache_host, kinds=[LIST_KIND])

    def clear(self) -> None:
        """Forget everything cached about this Ollama server. Blocking (the seed's sync call)."""
        self.cache.clear(self.cache_host)

    async def aclear(self) -> None:
        await self.cache.aclear(self.cache_host)

    def _key(self, kind: str, name: str = "") -> CacheKey:
        return CacheKey(self.cache_host, kind, name)


def _local_store(base_url: str) -> ModelStore | None:
    return ModelStore() if is_loopback(base_url) else None


def model_key(name: str) -> str:
    """The one key of a model name however it is spelled (raises for a name Ollama refuses)."""
    return _model_key(parse_model_name(name))


def _model_key(name: ModelName) -> str:
    """One key per model however it is spelled: Ollama matches names ignoring case."""
    suffix = f":{name.source}" if name.source else ""
    return name.full.lower() + suffix


def _entry_in(models: list[ModelSummary], wanted: ModelName) -> ModelSummary | None:
    key = _model_key(wanted)
    for model in models:
        try:
            if _model_key(parse_model_name(model.name)) == key:
                return model
        except ValueError:
            continue
    return None


def _decode_list(entry: CacheEntry) -> list[ModelSummary] | None:
    try:
        return ListResponse.model_validate_json(entry.payload).models
    except ValidationError as exc:
        logger.warning("ignoring an unreadable cached model list: %s", exc)
        return None


def _decode_show(entry: CacheEntry) -> ShowResponse | None:
    try:
        return ShowResponse.model_validate_json(entry.payload)
    except ValidationError as exc:
        logger.warning("ignoring unreadable cached model metadata: %s", exc)
        return None
