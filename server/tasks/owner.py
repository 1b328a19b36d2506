"""Whose a task is. A task id is a handle to what the call returned, so only its owner may read,
list or cancel it: over HTTP the bearer token (a hash of it), or without one the HTTP session;
over stdio or in memory the connection. The 2026-07-28 era has no sessions: there the token
(or, with none, the process's one client) owns it, and the unguessable id guards it."""

from __future__ import annotations

import hashlib
import secrets
import weakref
from typing import Any

from mcp.server.context import ServerRequestContext
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from server.tools_api import ANYONE, owner_of

_CONNECTION_KEYS: weakref.WeakKeyDictionary[object, str] = weakref.WeakKeyDictionary()


def task_owner(ctx: ServerRequestContext[Any, Any], auth_token: str | None) -> str:
    connection = ctx.session._connection  # the SDK offers no public accessor
    if ctx.request is not None:  # over HTTP
        if auth_token:
            return f"token:{owner_of(auth_token)}"
        if connection.session_id:
            return "session:" + hashlib.sha256(connection.session_id.encode()).hexdigest()[:32]
        return ANYONE
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
        return ANYONE
    key = _CONNECTION_KEYS.get(connection)
    if key is None:
        key = _CONNECTION_KEYS[connection] = "connection:" + secrets.token_hex(16)
    return key
