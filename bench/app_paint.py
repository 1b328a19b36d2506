"""The model library App in headless Chromium: its first paint with 200 installed models, and
the size of its HTML.

The page is hosted as in tests/browser (the ext-apps host bridge, a sandboxed iframe); the host
hands it a `list_models` answer of 200 models and answers its `library_view` call with the same
200, so the figure is the page's own cost: parse, the `ui/initialize` handshake, the table and
one frame, from the frame's navigation start to the page's `ollama-library:first-paint` mark.
The baseline is a page that does nothing but set the same mark, in the same kind of frame.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from bench.common import Figure, Workspace, median
from server.app_ui.view import Actions, InstalledModel, LibraryView
from server.app_ui.wiring import library_html
from server.toolsets.models import ModelEntry, ModelList
from tests.browser.app_host import CHROMIUM, FLAGS, HOST_FILES, HOST_ORIGIN, TYPES

if TYPE_CHECKING:
    from playwright.async_api import Frame

MODELS = 200
PAINT_GOAL_MS = 300.0
HTML_GOAL_BYTES = 60_000
MARK = "ollama-library:first-paint"
ALL_ROWS = "ollama-library:all-rows"  # the rows after the first screenful, drawn
FLOOR_PAGE = (
    "<!doctype html><p>floor</p><script>requestAnimationFrame(() => setTimeout(() => "
    f"performance.mark('{MARK}'), 0))</script>"
)
FAMILIES = ("llama", "qwen3", "gemma2", "mistral", "phi3")
QUANTS = ("Q4_K_M", "Q8_0", "F16", "Q4_0")


def models() -> list[InstalledModel]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        InstalledModel(
            name=f"model-{index:03d}:{index % 7}b",
            size=(index + 1) * 987_654_321,
            family=FAMILIES[index % len(FAMILIES)],
            parameter_size=f"{index % 70 + 1}.{index % 10}B",
            quantization=QUANTS[index % len(QUANTS)],
            modified_at=start + timedelta(hours=index),
            digest=f"{index:064x}",
            context_length=2 ** (11 + index % 8),
        )
        for index in range(MODELS)
    ]


def answers() -> tuple[dict[str, Any], dict[str, Any]]:
    """The `list_models` result that opens the App, and the `library_view` one it asks for."""
    installed = models()
    listed = ModelList(
        models=[ModelEntry(**m.model_dump(exclude={"context_length"})) for m in installed],
        source="live",
    )
    view = LibraryView(
        installed=installed,
        source="live",
        running=[],
        pulls=[],
        actions=Actions(pull=True, cancel_pull=True, delete=True, browse=True, push=False),
    )
    return as_result(listed), as_result(view)


def as_result(data: BaseModel) -> dict[str, Any]:
    return {
        "content": [{"type": "text", "text": "..."}],
        "structuredContent": data.model_dump(mode="json"),
        "isError": False,
    }


async def paints(html: str, runs: int, rows: int = 0) -> tuple[list[float], list[float]]:
    """Milliseconds from the frame's navigation start to the mark, `runs` times, one fresh
    page (and frame) each time in one browser; and, with `rows`, to the page's mark of the
    rest of the rows drawn (it draws the first screenful, then the rest), checking that the
    table has them all."""
    from playwright.async_api import Route, async_playwright

    opened, view = answers()

    async def serve(route: Route) -> None:
        path = HOST_FILES / route.request.url.removeprefix(f"{HOST_ORIGIN}/")
        if path.is_file():
            await route.fulfill(body=path.read_bytes(), content_type=TYPES[path.suffix])
        else:
            await route.abort()

    async def relay(method: str, request: dict[str, Any]) -> dict[str, Any]:
        return view

    found: list[float] = []
    whole: list[float] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            for _ in range(runs):
                context = await browser.new_context(viewport={"width": 1000, "height": 800})
                await context.route("**/*", serve)
                page = await context.new_page()
                await page.expose_function("mcpHost", relay)
                await page.goto(f"{HOST_ORIGIN}/host.html")
                await page.wait_for_function("typeof window.openApp === 'function'")
                arguments = {
                    "html": html, "csp": {}, "toolInput": {}, "toolResult": opened,
                    "theme": "light", "width": 960,
                }  # fmt: skip
                # The floor page never answers ui/initialize: do not wait for the handshake.
                page_opened = asyncio.ensure_future(
                    page.evaluate("args => window.openApp(args)", arguments)
                )
                handle = await page.wait_for_selector("#app")
                assert handle is not None
                frame = await handle.content_frame()
                assert frame is not None
                # A function, not an expression: polling an expression needs eval, which the
                # App's CSP refuses.
                await frame.wait_for_function(
                    f"() => performance.getEntriesByName('{MARK}').length > 0", timeout=30_000
                )
                found.append(
                    await frame.evaluate(f"performance.getEntriesByName('{MARK}')[0].startTime")
                )
                if rows:
                    await frame.wait_for_function(
                        f"() => performance.getEntriesByName('{ALL_ROWS}').length > 0",
                        timeout=30_000,
                    )
                    whole.append(
                        await frame.evaluate(
                            f"performance.getEntriesByName('{ALL_ROWS}')[0].startTime"
                        )
                    )
                    await all_drawn(frame, rows)
                page_opened.cancel()
                await context.close()
        finally:
            await browser.close()
    return found, whole


async def all_drawn(frame: Frame, rows: int) -> None:
    """Wait for the table to hold `rows` rows. Waited for, not read once: the App's
    `library_view` answer can land after the mark and draw the table anew, a screenful first."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    drawn = "document.querySelectorAll('table tbody tr').length"
    try:
        await frame.wait_for_function(f"() => {drawn} >= {rows}", timeout=30_000)
    except PlaywrightTimeout:
        count = await frame.evaluate(drawn)
        raise AssertionError(f"{count} of {rows} rows drawn after 30 s") from None


def run(workspace: Workspace) -> list[Figure]:
    html = library_html()
    size = len(html.encode())
    size_figure = Figure.of(
        "app_html_size",
        "The App's HTML, one self-contained file",
        size / 1000,
        HTML_GOAL_BYTES / 1000,
        ratio_of="library.html size / the 60 KB goal",
        unit="KB",
        healthy="under 1",
    )
    if not (CHROMIUM.exists() and (HOST_FILES / "host.bundle.js").exists()):
        size_figure.details["paint"] = f"not measured: run .ci/browser-deps ({CHROMIUM})"
        return [size_figure]
    runs = 1 if workspace.settings.smoke else 3 if workspace.settings.quick else 7
    app_runs, whole = asyncio.run(paints(html, runs, MODELS))
    app, floor = median(app_runs), median(asyncio.run(paints(FLOOR_PAGE, runs))[0])
    return [
        Figure.of(
            "app_first_paint",
            f"The App's first paint with {MODELS} installed models",
            app,
            floor,
            ratio_of="App with 200 models: navigation to painted table / an empty page's paint",
            unit="ms",
            healthy=f"the App under {PAINT_GOAL_MS:.0f} ms (paint_ms)",
            details={
                "paint_ms": round(app, 1),
                "goal_ms": PAINT_GOAL_MS,
                "runs": runs,
                "all_rows_ms": round(median(whole), 1),  # the first screenful, then all 200
            },
        ),
        size_figure,
    ]
