"""Streamable HTTP that is safe to run on a shared machine.

* Loopback by default. Binding any other address is refused at start unless a bearer token is
  set (`--auth-token` or `OLLAMA_MCP_AUTH_TOKEN`): anyone who can reach the port could otherwise
  pull, delete and run models.
* With a token, every request but `/healthz` must carry `Authorization: Bearer <token>`, compared
  in constant time; without it, or with a wrong one, the answer is 401 with `WWW-Authenticate`.
  The token is never logged: it lives in `Settings` (hidden from its repr) and in the gate below.
* Host and Origin headers are always checked (DNS-rebinding protection): a web page that points
  its own domain name at 127.0.0.1 sends a foreign Host and is refused (421; a foreign Origin 403).
* `/healthz` answers `ok` to anyone and says nothing else: no version, no model, no host.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import logging
import socket
from collections.abc import Sequence

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.replicas.event_store import SessionScopes, scoped
from server.replicas.shared import shared_state_of
from server.settings import Settings

logger = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
MCP_PATH = "/mcp"
SESSION_HEADER = "mcp-session-id"  # the SDK's session header (Mcp-Session-Id)
REALM = "ollama-mcp"
WILDCARD_BINDS = ("", "0.0.0.0", "::")
TOKEN_HINT = (
    "set a bearer token with --auth-token or OLLAMA_MCP_AUTH_TOKEN (for example "
    '`export OLLAMA_MCP_AUTH_TOKEN="$(python3 -c '
    "'import secrets; print(secrets.token_urlsafe(32))')\"`)"
)


class InsecureBind(ValueError):
    """The HTTP transport was asked to listen beyond this machine without a token."""


def is_loopback_host(host: str) -> bool:
    """Whether a bind address only reaches this machine: `localhost`, 127.0.0.0/8 or ::1."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(settings: Settings) -> None:
    """Refuse, before anything listens, a non-loopback bind without a token."""
    if not is_loopback_host(settings.http_host) and not settings.auth_token:
        raise InsecureBind(
            f"refusing to listen on {settings.http_host}: an address other than loopback lets "
            f"other machines reach this server, so it needs a bearer token; {TOKEN_HINT}, or "
            "leave out --host to listen on 127.0.0.1 only"
        )


def allowed_hosts(bind_host: str) -> list[str]:
    """Host header values to accept (any port): loopback names, the bind address, and for a
    wildcard bind this machine's own names and addresses."""
    names = ["127.0.0.1", "localhost", "::1"]
    if bind_host in WILDCARD_BINDS:
        names += _own_names()
    elif not is_loopback_host(bind_host):
        names.append(bind_host.strip("[]"))
    unique = dict.fromkeys(_bracketed(name) for name in names)
    return [f"{name}:*" for name in unique]


def transport_security(settings: Settings) -> TransportSecuritySettings:
    hosts = allowed_hosts(settings.http_host)
    origins = [f"{scheme}://{host}" for host in hosts for scheme in ("http", "https")]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


def _own_names() -> list[str]:
    hostname = socket.gethostname()
    names = [hostname, socket.getfqdn()]
    # A host whose name does not resolve still has its loopback names.
    with contextlib.suppress(OSError):
        names += [str(info[4][0]) for info in socket.getaddrinfo(hostname, None)]
    return names


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class BearerGate:
    """ASGI middleware: `/healthz` for anyone; everything else needs the token, if one is set."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self._token = token.encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == HEALTH_PATH:
            await self._health(scope, receive, send)
            return
        if self._token is not None:
            refusal = self._refusal(Headers(scope=scope).get("authorization"))
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    async def _health(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] in ("GET", "HEAD"):
            response = PlainTextResponse("ok\n")
        else:
            response = PlainTextResponse("use GET\n", status_code=405, headers={"Allow": "GET"})
        await response(scope, receive, send)

    def _refusal(self, authorization: str | None) -> PlainTextResponse | None:
        assert self._token is not None
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            return PlainTextResponse(
                "missing bearer token: send the header `Authorization: Bearer <token>` with the "
                "token this server was started with (--auth-token or OLLAMA_MCP_AUTH_TOKEN)\n",
                status_code=401,
                headers={"WWW-Authenticate": f'Bearer realm="{REALM}"'},
            )
        if not hmac.compare_digest(given.strip().encode(), self._token):
            logger.warning("refused an HTTP request with a wrong bearer token")
            return PlainTextResponse(
                "wrong bearer token: use the token this server was started with\n",
                status_code=401,
                headers={
                    "WWW-Authenticate": f'Bearer realm="{REALM}", error="invalid_token", '
                    'error_description="the bearer token is not the one this server accepts"'
                },
            )
        return None


def http_app(server: MCPServer, settings: Settings) -> ASGIApp:
    """The MCP endpoint at `/mcp`, behind the Host/Origin checks and the bearer gate. With a
    shared, sessions keep their SSE events in Redis for `Last-Event-ID`
    (`server.replicas.event_store`)."""
    shared = shared_state_of(server)
    app: ASGIApp = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=settings.stateless,
        event_store=shared.event_store if shared else None,
        transport_security=transport_security(settings),
        host=settings.http_host,
    )
    if shared is not None:
        app = EventScope(app)
    return BearerGate(app, settings.auth_token)


class EventScope:
    """Each request of a session in the session's scope (that of the request that opened it, which
    the session keeps for its messages); any other request in a scope of its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.sessions = SessionScopes()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            async with scoped():
                await self.app(scope, receive, send)
            return
        session = Headers(scope=scope).get(SESSION_HEADER)
        known = self.sessions.of(session)
        async with scoped(known) as current:
            await self.app(scope, receive, send if known else self._noting(send, current))
        if session is not None and scope.get("method") == "DELETE":
            self.sessions.closed(session)

    def _noting(self, send: Send, current: str) -> Send:
        """`send`, noting the session an answer opens (its `Mcp-Session-Id`) in `current`."""

        async def noting(message: Message) -> None:
            if message["type"] == "http.response.start":
                opened = Headers(raw=message.get("headers", [])).get(SESSION_HEADER)
                if opened is not None:
                    self.sessions.opened(opened, current)
            await send(message)

        return noting


def uvicorn_server(app: ASGIApp, settings: Settings) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_level=settings.log_level.lower(),
        server_header=False,  # /healthz reveals nothing, not even the web server
        date_header=False,
    )
    return uvicorn.Server(config)


def serve_http(
    server: MCPServer, settings: Settings, sockets: Sequence[socket.socket] | None = None
) -> None:
    """Check the bind, then serve until interrupted. Raises InsecureBind before listening."""
    check_bind(settings)
    logger.info(
        "MCP over streamable HTTP at http://%s:%d%s (%s, %s)",
        _bracketed(settings.http_host),
        settings.http_port,
        MCP_PATH,
        "bearer token required" if settings.auth_token else "no token: loopback only",
        "stateless" if settings.stateless else "sessions",
    )
    uvicorn_server(http_app(server, settings), settings).run(sockets=list(sockets or []) or None)
