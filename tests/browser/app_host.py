"""A host for the App in a real browser: Debian's Chromium driven by Playwright, a test page
with the ext-apps host bridge (`tests/browser/host/`, bundled by `.ci/browser-deps`), and the
real server as a subprocess on stdio, reached with the SDK's client.

    browser page (http://host.test/host.html, served by the test, no network)
      AppBridge  <-postMessage->  sandboxed iframe: the App's HTML from resources/read
      window.mcpHost(method, params)  --Playwright binding-->  this module
    this module  --SDK Client, stdio-->  python -m server  --HTTP-->  the Ollama double

Every request the page makes is answered by the test: `http://host.test/` gets the host's own
files; anything else is refused and recorded, so a test can assert the App reached nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID

from tests.ollama_double.server import OllamaDouble

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("OLLAMA_MCP_CHROMIUM", "/usr/bin/chromium"))
HOST_FILES = ROOT / ".ci" / "node" / "browser"  # .ci/browser-deps puts the bundle here
HOST_ORIGIN = "http://host.test"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
APPS = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})
TYPES = {".html": "text/html", ".js": "text/javascript"}


def require_browser() -> None:
    """Chromium, Playwright and the host bundle, installed by `.ci/browser-deps` (run here when
    the bundle is missing and npm is at hand). In CI a missing part fails the test; elsewhere
    it skips, saying what to run."""
    bundle = HOST_FILES / "host.bundle.js"
    if not bundle.exists() and shutil.which("npm"):
        subprocess.run(["bash", str(ROOT / ".ci" / "browser-deps")], check=False)
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"Chromium at {CHROMIUM}")
    if not bundle.exists():
        missing.append(f"the host bundle {bundle}")
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install -e '.[test]')")
    if not missing:
        return
    message = f"browser tests need {', '.join(missing)}: run .ci/browser-deps"
    if os.environ.get("CI", "").lower() in ("1", "true"):
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class Seen:
    console_errors: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # requests outside the host
    requests: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)  # tools the App called through the host


@dataclass
class Host:
    page: Any  # playwright.async_api.Page
    app: Any  # playwright.async_api.FrameLocator on the App's iframe
    frame: Any  # playwright.async_api.Frame of the App
    client: Client
    seen: Seen
    resource: dict[str, Any]

    async def set_theme(self, theme: str) -> None:
        await self.page.evaluate("theme => window.setTheme(theme)", theme)


def server_args(
    double: OllamaDouble,
    folder: Path,
    flags: tuple[str, ...],
    hosts: dict[str, OllamaDouble] | None = None,
) -> list[str]:
    """`hosts`: several named hosts (the first the default) in place of `double` alone."""
    named = [f"{name}={each.url}" for name, each in hosts.items()] if hosts else [double.url]
    return [
        "-m", "server", *(a for url in named for a in ("--ollama-host", url)),
        "--cache-dir", str(folder / "cache"), "--allow-dir", str(folder), *flags,
    ]  # fmt: skip


def dumped(model: Any) -> dict[str, Any]:
    return dict(model.model_dump(by_alias=True, exclude_none=True, mode="json"))


@asynccontextmanager
async def app_host(
    double: OllamaDouble,
    folder: Path,
    *flags: str,
    opener: tuple[str, dict[str, Any]] = ("list_models", {}),
    theme: str = "light",
    width: int = 900,
    hosts: dict[str, OllamaDouble] | None = None,
    elicitation_callback: Any = None,
) -> AsyncIterator[Host]:
    """The App opened by the tool `opener`, as a host shows it after the model called it;
    with `hosts`, on a server that fronts several Ollama hosts; with `elicitation_callback`, a
    host that can ask its person (elicitation)."""
    from playwright.async_api import Route, async_playwright

    params = StdioServerParameters(
        command=sys.executable, args=server_args(double, folder, flags, hosts), cwd=str(ROOT)
    )
    seen = Seen()
    async with (
        Client(
            params,
            extensions=[APPS],
            read_timeout_seconds=30,
            elicitation_callback=elicitation_callback,
        ) as client,
        async_playwright() as playwright,
    ):
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        uri = (tools[opener[0]].meta or {})["ui"]["resourceUri"]
        contents = (await client.read_resource(uri)).contents[0]
        resource = dumped(contents)
        opened = await client.call_tool(*opener)

        async def relay(method: str, request: dict[str, Any]) -> dict[str, Any]:
            """The host's side of the App's requests: to the server, as a host would."""
            if method == "resources/read":
                return dumped(await client.read_resource(request["uri"]))
            name = request["name"]
            visibility = ((tools[name].meta or {}).get("ui") or {}).get("visibility")
            if visibility is not None and "app" not in visibility:
                raise PermissionError(f"{name} is not visible to the App")
            seen.calls.append(name)
            return dumped(await client.call_tool(name, request.get("arguments") or {}))

        async def serve(route: Route) -> None:
            url = route.request.url
            seen.requests.append(url)
            path = HOST_FILES / url.removeprefix(f"{HOST_ORIGIN}/")
            if url.startswith(f"{HOST_ORIGIN}/") and path.is_file():
                await route.fulfill(body=path.read_bytes(), content_type=TYPES[path.suffix])
            else:
                seen.refused.append(url)
                await route.abort()

        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            context = await browser.new_context(viewport={"width": width + 40, "height": 900})
            await context.route("**/*", serve)
            page = await context.new_page()
            page.on(
                "console",
                lambda m: seen.console_errors.append(m.text) if m.type == "error" else None,
            )
            page.on("pageerror", lambda error: seen.console_errors.append(str(error)))
            await page.expose_function("mcpHost", relay)
            await page.goto(f"{HOST_ORIGIN}/host.html")
            await page.wait_for_function("typeof window.openApp === 'function'")
            await page.evaluate(
                "args => window.openApp(args)",
                {
                    "html": resource["text"],
                    "csp": resource.get("_meta", {}).get("ui", {}).get("csp", {}),
                    "toolInput": opener[1],
                    "toolResult": dumped(opened),
                    "theme": theme,
                    "width": width,
                },
            )
            element = await page.query_selector("#app")
            assert element is not None
            frame = await element.content_frame()
            yield Host(page, page.frame_locator("#app"), frame, client, seen, resource)
        finally:
            await browser.close()
