"""Redis pub/sub for one process: one subscribed connection for the replicas' channels, handing
each message to the callbacks registered for its channel.

Delivery is at most once, as pub/sub is: a message sent while this process was disconnected is
not seen. What rides on it is told in ways that survive that: a notification is a hint to read
again (every read is fresh), and a lock's release notice only wakes a waiter early (a waiter
also wakes when the lock would expire).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from anyio.abc import TaskStatus

from tools.errors import SharedStateUnavailable
from tools.state.link import RedisLink

logger = logging.getLogger(__name__)

Receiver = Callable[[bytes], Awaitable[None]]
RECONNECT_FIRST = 0.1  # seconds; doubled after each failure up to RECONNECT_MOST
RECONNECT_MOST = 2.0


class Channels:
    """Named channels in the link's namespace. Register receivers before `run` starts."""

    def __init__(self, link: RedisLink, names: tuple[str, ...]) -> None:
        self.link = link
        self._channels = {link.key("channel", name): name for name in names}
        self._receivers: dict[str, list[Receiver]] = {name: [] for name in names}
        self.connected = anyio.Event()

    def receive(self, name: str, receiver: Receiver) -> None:
        self._receivers[name].append(receiver)

    async def publish(self, name: str, data: bytes) -> None:
        channel = self.link.key("channel", name)
        await self.link.call(lambda r: r.publish(channel, data))

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Listen until cancelled, reconnecting after a loss. `started` once first subscribed,
        or at once if Redis is down (the server runs on; it listens again when Redis is back)."""
        wait = RECONNECT_FIRST
        started = False

        def subscribed() -> None:
            nonlocal started, wait
            wait = RECONNECT_FIRST
            if not started:
                started = True
                task_status.started()

        while True:
            try:
                await self._listen(subscribed)
            except SharedStateUnavailable:
                if not started:
                    started = True
                    task_status.started()
            await anyio.sleep(wait)  # a pause between attempts to reach a Redis that is down
            wait = min(wait * 2, RECONNECT_MOST)

    async def _listen(self, subscribed: Callable[[], None]) -> None:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeout

        pubsub: Any = self.link.client.pubsub()
        try:
            await self.link.call(lambda _: pubsub.subscribe(*self._channels))
            self.connected.set()
            subscribed()
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
                if message is not None:
                    await self._deliver(message)
        except (RedisConnectionError, RedisTimeout, OSError) as exc:
            raise self.link.lost(exc) from exc
        finally:
            self.connected = anyio.Event()
            with anyio.CancelScope(shield=True):
                try:
                    await pubsub.aclose()
                except Exception:
                    logger.debug("closing a broken pub/sub connection", exc_info=True)

    async def _deliver(self, message: dict[str, Any]) -> None:
        channel = message.get("channel")
        name = self._channels.get(channel.decode() if isinstance(channel, bytes) else str(channel))
        data = message.get("data")
        if name is None or not isinstance(data, bytes):
            return
        for receiver in self._receivers[name]:
            try:
                await receiver(data)
            except Exception:  # one bad message must not stop the listener
                logger.warning("a receiver of %s failed", name, exc_info=True)
