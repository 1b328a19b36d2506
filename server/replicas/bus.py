"""The subscription bus of replicas: every event goes to Redis pub/sub, and each replica hands the
events it receives to its own listen streams and, when they are meant for them, to its
handshake-era sessions. A replica that cannot reach Redis still tells its own clients."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from mcp.server.subscriptions import (
    PromptsListChanged,
    ResourcesListChanged,
    ResourceUpdated,
    ServerEvent,
    ToolsListChanged,
)

from server.notifications import LocalBus
from server.tools_api import Channels, SharedStateUnavailable

logger = logging.getLogger(__name__)

NOTICES = "notices"
_PLAIN: dict[str, type[ToolsListChanged | PromptsListChanged | ResourcesListChanged]] = {
    "tools_list_changed": ToolsListChanged,
    "prompts_list_changed": PromptsListChanged,
    "resources_list_changed": ResourcesListChanged,
}
_NAMES = {kind: name for name, kind in _PLAIN.items()}


def encode(events: Sequence[ServerEvent], *, to_sessions: bool) -> bytes:
    items: list[dict[str, str]] = []
    for event in events:
        if isinstance(event, ResourceUpdated):
            items.append({"kind": "resource_updated", "uri": event.uri})
        else:
            items.append({"kind": _NAMES[type(event)]})
    return json.dumps({"events": items, "sessions": to_sessions}).encode()


def decode(data: bytes) -> tuple[list[ServerEvent], bool]:
    body: Any = json.loads(data)
    events: list[ServerEvent] = []
    for item in body["events"]:
        if item["kind"] == "resource_updated":
            events.append(ResourceUpdated(uri=str(item["uri"])))
        else:
            events.append(_PLAIN[item["kind"]]())
    return events, bool(body["sessions"])


class ReplicaBus(LocalBus):
    """A `SubscriptionBus` over Redis pub/sub; local only until `attach` gives it channels."""

    def __init__(self) -> None:
        super().__init__()
        self._channels: Channels | None = None

    def attach(self, channels: Channels) -> None:
        self._channels = channels
        channels.receive(NOTICES, self._received)

    async def publish(self, event: ServerEvent) -> None:
        await self.send([event], to_sessions=False)

    async def send(self, events: Sequence[ServerEvent], *, to_sessions: bool) -> None:
        if not events:
            return
        if self._channels is not None:
            try:
                await self._channels.publish(NOTICES, encode(events, to_sessions=to_sessions))
                return  # this replica hears it back from Redis, like every other
            except SharedStateUnavailable as exc:
                logger.warning("telling this replica's clients only: %s", exc.detail)
        await self.deliver(events, to_sessions=to_sessions)

    async def _received(self, data: bytes) -> None:
        events, to_sessions = decode(data)
        await self.deliver(events, to_sessions=to_sessions)
