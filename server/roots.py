"""Which local folders tools may read: the client's roots plus `--allow-dir`, nothing else.

The client's roots are asked through the SDK's portable resolver (`Resolve(ListRoots)`): on the
2026-07-28 protocol it rides an `InputRequiredResult` and the client's retry, on the handshake
era it is the classic `roots/list` request. A client that did not declare the roots capability
is not asked (the SDK would fail the call); its allowed folders are `--allow-dir` alone. With
neither, every path is refused, and the refusal says how to allow a folder. Never `/` by default.

The resolvers are `async def` although they never wait: the SDK runs a plain `def` resolver in a
worker thread, on every call of every tool that uses it (a thread round trip per `generate`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import mcp.types as types
from mcp.server.mcpserver import AcceptedElicitation, Context, ListRoots

from server.tools_api import AllowedRoots

NO_ROOTS = types.ListRootsResult(roots=[])
# The SDK wraps every resolver's answer in `AcceptedElicitation[Any]`. pydantic caches a
# parametrised class only weakly, so with nothing else holding it the class is collected and
# built again (about a millisecond) every few calls of generate; held here, it is built once.
RESOLVED_OUTCOME = AcceptedElicitation[Any]


def _client_has_roots(ctx: Context) -> bool:
    capabilities = ctx.client_capabilities
    return capabilities is not None and capabilities.roots is not None


async def roots_always(ctx: Context) -> ListRoots | types.ListRootsResult:
    """Resolver for tools that always read files (create_model, package_adapter)."""
    return ListRoots() if _client_has_roots(ctx) else NO_ROOTS


async def roots_for_images(
    ctx: Context, images: list[str] | None = None
) -> ListRoots | types.ListRootsResult:
    """Resolver for generate: the client is asked only when images (file paths) are given."""
    return ListRoots() if images and _client_has_roots(ctx) else NO_ROOTS


def root_paths(roots: types.ListRootsResult) -> list[Path]:
    """The local folders of the client's `file://` roots; other schemes name nothing here."""
    folders: list[Path] = []
    for root in roots.roots:
        uri = urlparse(str(root.uri))
        if uri.scheme == "file" and uri.netloc in ("", "localhost"):
            folders.append(Path(unquote(uri.path)))
    return folders


def allowed_roots(allow_dirs: Iterable[Path], roots: types.ListRootsResult) -> AllowedRoots:
    """The gate for one call: `--allow-dir` folders and the client's roots. Relative paths are
    taken from the first allowed folder, not from the server's working directory."""
    folders = [*allow_dirs, *root_paths(roots)]
    return AllowedRoots(folders, base_dir=folders[0] if folders else None)
