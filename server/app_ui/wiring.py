"""The App on the server: the `Apps` extension carrying the page and the app-only tool, and the
middleware that keeps both out of sight of clients that did not negotiate Apps.

SEP-2133 asks an extension to degrade gracefully. Here that means a client without Apps gets
exactly the `tools/list`, `resources/list` and tool results it got before the App existed: no
`_meta.ui` on the three tools that open the App, no app-only tool, no `ui://` resource. A client
that did negotiate gets the same tools with `_meta.ui.resourceUri`, the page, and
`library_view`, which the host shows the App but not the model (visibility `app`).
"""

from __future__ import annotations

from contextlib import suppress
from importlib.resources import files
from typing import Any

from mcp.server.apps import Apps, ResourceCsp, client_supports_apps
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolRequestParams, CallToolResult, TextContent
from pydantic import ValidationError

from server.app_ui import LIBRARY_URI, UI_TOOLS
from server.app_ui.view import LastPackage, PackagedOnHost, library_view_tool
from server.errors import as_tool_errors
from server.registry import READS, TOOLS, offered, tighten
from server.settings import Settings

APP_ONLY_TOOLS = frozenset({"library_view"})
VIEW_DESCRIPTION = "What the model library App shows, in one call (for the App, not the model)."


def app_only_refusal(name: str) -> str:
    return (
        f"{name} is a tool of the model library App (MCP Apps, io.modelcontextprotocol/ui), and "
        "this client did not negotiate Apps: use list_models, list_running and pull_status"
    )


def library_html() -> str:
    return files("server.app_ui").joinpath("library.html").read_text(encoding="utf-8")


class LibraryApp(Apps):
    """The page `ui://ollama/library` and `library_view`; it also keeps the last packaging
    report for the page, as `package_adapter` results pass by."""

    def __init__(self) -> None:
        super().__init__()
        self.last_package = LastPackage()
        self.add_html_resource(
            LIBRARY_URI,
            library_html(),
            name="model_library",
            title="Ollama model library",
            description="Installed and running models, the library, pulls and packaging.",
            # Everything is inline: the page reaches nothing but its host.
            csp=ResourceCsp(connect_domains=[], resource_domains=[]),
            prefers_border=True,
        )
        self.tool(
            resource_uri=LIBRARY_URI,
            visibility=["app"],
            name="library_view",
            title="Model library view",
            description=VIEW_DESCRIPTION,
            annotations=READS,
        )(as_tool_errors("library_view", library_view_tool(self.last_package)))

    async def intercept_tool_call(
        self,
        params: CallToolRequestParams,
        ctx: ServerRequestContext[Any, Any],
        call_next: CallNext,
    ) -> HandlerResult:
        if params.name in APP_ONLY_TOOLS and not client_supports_apps(ctx):
            text = app_only_refusal(params.name)
            return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)
        result = await call_next(ctx)
        if params.name == "package_adapter":
            self._remember(result)
        return result

    def _remember(self, result: HandlerResult) -> None:
        if not isinstance(result, CallToolResult) or result.is_error:
            return
        # Not a report: nothing to show; the result itself goes out unchanged.
        with suppress(ValidationError):
            self.last_package.report = PackagedOnHost.model_validate(result.structured_content)


def library_app(settings: Settings) -> LibraryApp | None:
    """The App, when at least one tool that opens it is offered."""
    if not any(spec.name in UI_TOOLS and offered(spec, settings) for spec in TOOLS):
        return None
    return LibraryApp()


def finish(server: MCPServer[Any]) -> None:
    """After the server applied the extension: the app-only tools published like every other
    tool, and hidden from clients without Apps."""
    for name in APP_ONLY_TOOLS:
        tighten(server, name)
    server.middleware.append(hide_apps)


async def hide_apps(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """`tools/list` and `resources/list` as they were before the App, for a client that did not
    negotiate it. The chain hands middleware the result already shaped for the wire (a dict)."""
    result = await call_next(ctx)
    if (
        ctx.method not in ("tools/list", "resources/list")
        or not isinstance(result, dict)
        or client_supports_apps(ctx)
    ):
        return result
    if ctx.method == "tools/list":
        return {**result, "tools": [_without_ui(t) for t in result.get("tools", []) if _plain(t)]}
    kept = [r for r in result.get("resources", []) if not str(r.get("uri", "")).startswith("ui://")]
    return {**result, "resources": kept}


def _plain(tool: dict[str, Any]) -> bool:
    return tool.get("name") not in APP_ONLY_TOOLS


def _without_ui(tool: dict[str, Any]) -> dict[str, Any]:
    meta = tool.get("_meta")
    if not isinstance(meta, dict) or "ui" not in meta:
        return tool
    rest = {k: v for k, v in meta.items() if k != "ui"}
    plain = {k: v for k, v in tool.items() if k != "_meta"}
    return {**plain, "_meta": rest} if rest else plain
