"""Across replicas single flight: a lock in Redis that one replica holds at a time.

The holder sets `lock:NAME` to a token of its own with an expiry, and renews it while it works;
a holder that dies stops renewing, so the lock frees itself within `expiry` seconds. Release
deletes the key only if it still holds the holder's token (a Lua script, so the check and the
delete are one step) and announces it on the `released` channel, which wakes waiters at once;
a waiter that misses the notice wakes anyway when the lock would have expired.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

from tools.errors import SharedStateUnavailable
from tools.state.channels import Channels
from tools.state.link import RedisLink, text

logger = logging.getLogger(__name__)

RELEASED = "released"
DEFAULT_EXPIRY = 15.0  # seconds a dead holder keeps the lock at most

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class SharedLocks:
    """Locks by name for all the replicas; waiters are woken through `channels`."""

    def __init__(self, link: RedisLink, channels: Channels, *, expiry: float = DEFAULT_EXPIRY):
        self.link = link
        self.expiry = expiry
        self._channels = channels
        self._waiting: dict[str, set[anyio.Event]] = {}
        channels.receive(RELEASED, self._released)

    def holder_key(self, name: str) -> str:
        return self.link.key("lock", name)

    @asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[str]:
        """Wait for the lock `name`, hold it (renewed) inside the block, then release it.
        Raises `SharedStateUnavailable` when Redis cannot be reached to take it."""
        token = uuid.uuid4().hex
        await self._acquire(name, token)
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self.keep, name, token)
                try:
                    yield token
                finally:
                    group.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await self.release(name, token)

    async def try_take(self, name: str, token: str) -> str | None:
        """Take `name` for `token` if it is free: None, else the token of whoever holds it.
        The taker must then `keep` it while it works and `release` it after."""
        key = self.holder_key(name)
        expiry_ms = int(self.expiry * 1000)
        while True:
            if await self.link.call(lambda r: r.set(key, token, nx=True, px=expiry_ms)):
                return None
            holder = await self.link.call(lambda r: r.get(key))
            if holder is not None:
                return text(holder)
            # released in between: try again

    async def holder(self, name: str) -> str | None:
        key = self.holder_key(name)
        found = await self.link.call(lambda r: r.get(key))
        return None if found is None else text(found)

    async def holders(self, names: list[str]) -> list[str | None]:
        """The holder of each lock in `names`, in one round trip (MGET)."""
        if not names:
            return []
        keys = [self.holder_key(name) for name in names]
        found: list[object] = await self.link.call(lambda r: r.mget(keys))
        return [None if each is None else text(each) for each in found]

    async def _acquire(self, name: str, token: str) -> None:
        key = self.holder_key(name)
        expiry_ms = int(self.expiry * 1000)
        while True:
            woken = anyio.Event()
            self._waiting.setdefault(name, set()).add(woken)  # before looking: no lost wake-up
            try:
                if await self.link.call(lambda r: r.set(key, token, nx=True, px=expiry_ms)):
                    return
                left_ms = await self.link.call(lambda r: r.pttl(key))
                if left_ms == -2:
                    continue  # released in between: try again at once
                wait = (left_ms if left_ms > 0 else expiry_ms) / 1000
                with anyio.move_on_after(wait + 0.05):
                    await woken.wait()
            finally:
                waiters = self._waiting.get(name)
                if waiters is not None:
                    waiters.discard(woken)
                    if not waiters:
                        del self._waiting[name]

    async def keep(self, name: str, token: str) -> None:
        """Renew the lock until cancelled (or until it turns out lost)."""
        key = self.holder_key(name)
        expiry_ms = int(self.expiry * 1000)
        while True:
            await anyio.sleep(self.expiry / 3)  # the renewal period, not a wait for an event
            try:
                kept = await self.link.call(lambda r: r.eval(_RENEW, 1, key, token, expiry_ms))
            except SharedStateUnavailable:
                continue  # try again next period; if Redis stays away, the lock expires
            if not kept:
                logger.warning("lost the lock %s (it expired while held)", key)
                return

    async def release(self, name: str, token: str) -> None:
        key = self.holder_key(name)
        try:
            await self.link.call(lambda r: r.eval(_RELEASE, 1, key, token))
            await self._channels.publish(RELEASED, name.encode())
        except SharedStateUnavailable:
            logger.warning("could not release the lock %s; it expires by itself", name)

    async def _released(self, data: bytes) -> None:
        for woken in self._waiting.get(data.decode(), ()):
            woken.set()
