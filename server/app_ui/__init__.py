"""The model library as an MCP App (the `io.modelcontextprotocol/ui` extension): one page,
`library.html`, that a host renders in a sandboxed iframe beside the answers of `list_models`,
`browse_library` and `package_adapter`; the wiring that serves it only to clients that
negotiated Apps is in `wiring.py`, the one tool only the page calls in `view.py`."""

from __future__ import annotations

from typing import Any

LIBRARY_URI = "ui://ollama/library"
UI_TOOLS = frozenset({"list_models", "browse_library", "package_adapter"})  # they open the App


def tool_meta(name: str) -> dict[str, Any] | None:
    """The `_meta` a model-visible tool carries: the App's URI for the three that open it.
    Clients without Apps never see it (`wiring.hide_apps`)."""
    return {"ui": {"resourceUri": LIBRARY_URI}} if name in UI_TOOLS else None
