"""The one connection of a process to the Redis that replicas share, and how its loss shows.

Every command goes through `RedisLink.call`, which turns a connection failure into
`SharedStateUnavailable` (with the fix in its text) and keeps the time it was first seen, so
status can say "lost since". redis-py reconnects on the next command, so Redis coming back is
used again without a restart; the first command that works marks it back.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from tools.errors import SharedStateUnavailable

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger(__name__)

T = TypeVar("T")
CONNECT_TIMEOUT = 2.0  # seconds; Redis on the LAN answers in under a millisecond
COMMAND_TIMEOUT = 5.0
CaFile = str | os.PathLike[str] | None
INSTALL_HINT = "install it with `pip install 'ollama-connector-mcp[redis]'`"


def text(value: object) -> str:
    """A reply from Redis as text (redis-py hands out bytes)."""
    return value.decode() if isinstance(value, bytes) else str(value)


def redacted(url: str) -> str:
    """`url` without its user and password: `redis://host:6379/0`."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path or ''}"


@dataclass(frozen=True, slots=True)
class LinkStatus:
    where: str
    available: bool
    lost_since: float | None  # seconds since the epoch
    error: str | None


class RedisLink:
    """A Redis client from `url`, the key prefix, and the health seen on the last command."""

    def __init__(
        self,
        url: str,
        *,
        password: str | None = None,
        prefix: str,
        ca_file: CaFile = None,
    ) -> None:
        try:
            from redis.asyncio import Redis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff
        except ImportError:
            raise _missing(url) from None
        self.url = url
        self.where = redacted(url)
        self.prefix = prefix
        # No retries inside redis-py: a lost Redis must fail a call at once, not after seconds.
        self.client: Redis = Redis.from_url(
            url, **options(url, password, ca_file), retry=Retry(NoBackoff(), 0)
        )
        self._password = password
        self._ca_file = ca_file
        self.lost_since: float | None = None
        self.error: str | None = None

    def __repr__(self) -> str:
        return f"RedisLink({self.where!r}, prefix={self.prefix!r})"  # never the password

    def blocking_client(self) -> Any:
        """A blocking client on the same Redis, for the few callers that cannot await."""
        return _blocking(self.url, self._password, self._ca_file)

    def key(self, *parts: str) -> str:
        """A key in these replicas' namespace: the prefix, then the parts joined by `:`."""
        return self.prefix + ":".join(parts)

    async def call(self, command: Callable[[Any], Awaitable[T]]) -> T:
        """`command(client)`, with a lost connection raised as `SharedStateUnavailable`."""
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeout

        try:
            result = await command(self.client)
        except (RedisConnectionError, RedisTimeout, OSError) as exc:
            raise self.lost(exc) from exc
        self.back()
        return result

    def lost(self, exc: BaseException) -> SharedStateUnavailable:
        detail = str(exc) or type(exc).__name__
        if self.lost_since is None:
            self.lost_since = time.time()
            logger.warning("lost the shared state store at %s: %s", self.where, detail)
        self.error = detail
        return SharedStateUnavailable(self.where, detail)

    def back(self) -> None:
        if self.lost_since is not None:
            logger.warning("the shared state store at %s is back", self.where)
            self.lost_since = None
            self.error = None

    @property
    def available(self) -> bool:
        return self.lost_since is None

    def status(self) -> LinkStatus:
        return LinkStatus(self.where, self.available, self.lost_since, self.error)

    async def check(self) -> None:
        """PING, raising `SharedStateUnavailable` with the fix when Redis does not answer."""
        from redis.exceptions import RedisError

        try:
            await self.call(lambda r: r.ping())
        except RedisError as exc:  # a wrong password, a Redis that refuses us
            raise SharedStateUnavailable(self.where, str(exc)) from exc

    async def aclose(self) -> None:
        await self.client.aclose()


def options(url: str, password: str | None, ca_file: CaFile) -> dict[str, Any]:
    """What both clients are built with. A password given apart wins over one in the URL; for
    rediss:// the certificate is always checked (against `ca_file`, else the system's CAs)."""
    found: dict[str, Any] = {
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "socket_timeout": COMMAND_TIMEOUT,
    }
    if password:
        found["password"] = password
    if url.startswith("rediss://"):
        found["ssl_cert_reqs"] = "required"
        if ca_file is not None:
            found["ssl_ca_certs"] = os.fspath(ca_file)
    return found


def _blocking(url: str, password: str | None, ca_file: CaFile = None) -> Any:
    try:
        from redis import Redis
    except ImportError:
        raise _missing(url) from None
    return Redis.from_url(url, **options(url, password, ca_file))


def _missing(url: str) -> SharedStateUnavailable:
    return SharedStateUnavailable(redacted(url), f"the redis package is missing; {INSTALL_HINT}")


def unavailable_at_start(error: SharedStateUnavailable) -> str:
    """Why the server will not start, and what to do."""
    return (
        f"cannot reach the shared state store at {error.where} ({error.detail}); replicas that "
        "asked for shared state must not fall back to state of their own. Start Redis there, "
        "fix --state-url / OLLAMA_MCP_STATE_URL (and OLLAMA_MCP_STATE_PASSWORD), or leave "
        "--state-url out to keep state on this machine"
    )


def sync_ping(url: str, password: str | None, ca_file: CaFile = None) -> None:
    """The start-up check, before anything is built: PING with the blocking client."""
    client = _blocking(url, password, ca_file)
    from redis.exceptions import RedisError

    try:
        client.ping()
    except (RedisError, OSError) as exc:
        raise SharedStateUnavailable(redacted(url), str(exc) or type(exc).__name__) from exc
    finally:
        client.close()
