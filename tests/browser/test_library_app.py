"""The model library App in headless Chromium, hosted by the ext-apps host bridge and talking to
the real server (stdio) on the Ollama double: what a person sees and can do.

UPDATE_SCREENSHOTS=1 writes the README's screenshots (docs/app-library-*.png) on the way."""

from __future__ import annotations

import os
from pathlib import Path

import httpx2
import pytest
from playwright.async_api import expect

from tests.adapter_factories import write_peft_dir
from tests.browser.app_host import HOST_ORIGIN, ROOT, Host, app_host
from tests.ollama_double.gates import Gate
from tests.ollama_double.server import OllamaDouble
from tests.server.test_confirm import NOT_YES, YES, Person

pytestmark = pytest.mark.browser

SEEDED = ["llama3.2:latest", "all-minilm:latest", "qwen3:latest", "gemma2:2b"]
PULLED = "gemma4:latest"  # in the double's library (recommended, local), not installed
LLAMA_HIDDEN = 3072  # the double's llama3.2 embedding length: an adapter must fit it
WAIT_MS = 15_000
GEMMA_SIZE = "18.0 KB"  # as the server's question says it


def nothing_but_the_host(host: Host) -> None:
    """No console error, and no request from the page or the App except to the host."""
    assert host.seen.console_errors == []
    assert host.seen.refused == []
    assert all(url.startswith(f"{HOST_ORIGIN}/") for url in host.seen.requests)


async def screenshot(host: Host, name: str) -> None:
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        await host.page.locator("#app").screenshot(path=str(ROOT / "docs" / name))


async def open_tab(host: Host, name: str) -> None:
    await host.app.get_by_role("tab", name=name).click()


async def percent(host: Host, model: str) -> int:
    bar = host.app.get_by_role("progressbar", name=f"Pull of {model}")
    return int(await bar.get_attribute("aria-valuenow") or "-1")


async def wait_percent_above(host: Host, model: str, floor: int) -> int:
    """Wait (on the page, no sleep) until the bar of `model` shows more than `floor` %."""
    await host.frame.wait_for_function(
        """([model, floor]) => {
            const bar = document.querySelector(`[role=progressbar][aria-label="Pull of ${model}"]`);
            return bar && Number(bar.getAttribute("aria-valuenow")) > floor;
        }""",
        arg=[model, floor],
        timeout=WAIT_MS,
    )
    return await percent(host, model)


async def test_installed_models_appear_with_their_details(
    ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    async with app_host(ollama_double, tmp_path) as host:
        table = host.app.get_by_role("table", name="Installed models")
        for name in SEEDED:
            await expect(table.locator(f'tr[data-model="{name}"]')).to_be_visible()
        row = table.locator('tr[data-model="all-minilm:latest"]')
        await expect(row.locator('td[data-label="Family"]')).to_have_text("bert")
        await expect(row.locator('td[data-label="Quantization"]')).to_have_text("F16")
        await expect(row.locator('td[data-label="Context"]')).to_have_text("512")  # library_view
        await expect(host.app.locator("[data-source]")).to_be_visible()
        await expect(host.app.get_by_role("tab", name="Installed (4)")).to_be_visible()
        await screenshot(host, "app-library-light.png")
    assert "library_view" in host.seen.calls
    nothing_but_the_host(host)


async def test_filter_and_sort(ollama_double: OllamaDouble, tmp_path: Path) -> None:
    async with app_host(ollama_double, tmp_path) as host:
        rows = host.app.locator("table[aria-label='Installed models'] tbody tr")
        await expect(rows).to_have_count(4)
        await host.app.get_by_role("searchbox", name="Filter installed models").fill("gemma")
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_have_attribute("data-model", "gemma2:2b")
        await host.app.get_by_role("searchbox", name="Filter installed models").fill("")
        await expect(rows).to_have_count(4)
        await host.app.get_by_role("button", name="Context").click()  # ascending
        names = [await r.get_attribute("data-model") for r in await rows.all()]
        assert names == ["all-minilm:latest", "gemma2:2b", "qwen3:latest", "llama3.2:latest"]
        await host.app.get_by_role("button", name="Context").click()  # descending
        await expect(rows.first).to_have_attribute("data-model", "llama3.2:latest")
        header = host.app.locator("th[aria-sort='descending']")
        await expect(header).to_have_text("Context")
    nothing_but_the_host(host)


def copy_many(double: OllamaDouble, count: int) -> list[str]:
    """`count` more installed models, copies of gemma2:2b named copy-00:latest and on."""
    copies = [f"copy-{index:02d}:latest" for index in range(count)]
    with httpx2.Client(base_url=double.url, timeout=30) as http:
        for name in copies:
            body = {"source": "gemma2:2b", "destination": name}
            http.post("/api/copy", json=body).raise_for_status()
    return copies


async def test_a_long_library_shows_every_model(
    ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    """More models than the first screenful (the App draws 40, then the rest after the
    paint): all of them reach the table, and filter and sort reach the later ones."""
    copies = copy_many(ollama_double, 60)
    async with app_host(ollama_double, tmp_path) as host:
        rows = host.app.locator("table[aria-label='Installed models'] tbody tr")
        await expect(rows).to_have_count(len(SEEDED) + len(copies))
        await expect(rows.locator('[data-label="Context"]').last).not_to_have_text("?")
        await host.app.get_by_role("searchbox", name="Filter installed models").fill("copy-5")
        await expect(rows).to_have_count(10)
        await host.app.get_by_role("searchbox", name="Filter installed models").fill("")
        await host.app.get_by_role("button", name="Name").click()  # by name, now descending
        await expect(rows.first).to_have_attribute("data-model", "qwen3:latest")
        await expect(rows.last).to_have_attribute("data-model", "all-minilm:latest")
    nothing_but_the_host(host)


async def test_a_refresh_of_a_long_library_keeps_its_height(
    ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    """Drawn anew (Refresh, a poll), a long table never shrinks to a screenful for a frame: the
    host would shrink the App's frame with it and the person's page would jump."""
    copy_many(ollama_double, 60)
    async with app_host(ollama_double, tmp_path) as host:
        rows = host.app.locator("table[aria-label='Installed models'] tbody tr")
        await expect(rows).to_have_count(len(SEEDED) + 60)
        full = await host.frame.evaluate("""() => {
            window.lowest = Infinity;
            new ResizeObserver(([entry]) => {
                window.lowest = Math.min(window.lowest, entry.contentRect.height);
            }).observe(document.documentElement);
            return document.documentElement.getBoundingClientRect().height;
        }""")
        refresh = host.app.get_by_role("button", name="Refresh")
        await refresh.click()
        await expect(refresh).to_be_enabled()
        # Two frames after the answer was drawn: the frame with the redrawn table is laid out
        # and observed by then.
        lowest = await host.frame.evaluate("""() => new Promise((done) =>
            requestAnimationFrame(() => requestAnimationFrame(() => done(window.lowest))))""")
        assert lowest >= full
        await expect(rows).to_have_count(len(SEEDED) + 60)
    nothing_but_the_host(host)


async def test_pull_shows_a_bar_that_grows_to_100_and_the_model_is_installed(
    ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    ollama_double.catalogue.add(PULLED, model_size=4 * 1024 * 1024)
    gate: Gate = ollama_double.faults.gate("/api/pull")
    async with app_host(ollama_double, tmp_path) as host:
        await open_tab(host, "Library")
        await host.app.get_by_role("button", name="Pull gemma4").click()
        # manifest, the model layer announced, a quarter of it: the bar shows a quarter
        gate.allow(3)
        assert await gate.wait_held_async(lines=3)
        first = await wait_percent_above(host, PULLED, 0)
        assert 0 < first < 100
        facts = host.app.locator(f'li[data-model="{PULLED}"] .note')
        await expect(facts).to_contain_text(" of 4.2 MB")
        gate.allow(2)
        assert await gate.wait_held_async(lines=5)
        second = await wait_percent_above(host, PULLED, first)
        assert first < second < 100
        await screenshot(host, "app-library-pull.png")
        gate.open()
        await expect(
            host.app.get_by_role("progressbar", name=f"Pull of {PULLED}")
        ).to_have_attribute("aria-valuenow", "100", timeout=WAIT_MS)
        await expect(host.app.locator(f'li[data-model="{PULLED}"]')).to_have_attribute(
            "data-status", "success"
        )
        await open_tab(host, "Installed (5)")
        table = host.app.get_by_role("table", name="Installed models")
        await expect(table.locator(f'tr[data-model="{PULLED}"]')).to_be_visible()
    assert {"pull_model", "pull_status"} <= set(host.seen.calls)
    assert PULLED in ollama_double.installed_names()
    nothing_but_the_host(host)


async def test_cancel_stops_a_pull(ollama_double: OllamaDouble, tmp_path: Path) -> None:
    ollama_double.catalogue.add(PULLED, model_size=4 * 1024 * 1024)
    gate = ollama_double.faults.gate("/api/pull")
    async with app_host(ollama_double, tmp_path) as host:
        await open_tab(host, "Pulls")
        field = host.app.get_by_role("textbox", name="Model to pull")
        await field.fill("gemma4")
        # what is typed outlives a render (the section redraws when it opens, on each poll)
        await open_tab(host, "Installed (4)")
        await open_tab(host, "Pulls")
        await expect(field).to_have_value("gemma4")
        await field.press("Enter")
        gate.allow(3)
        assert await gate.wait_held_async(lines=3)
        await wait_percent_above(host, PULLED, 0)
        await host.app.get_by_role("button", name=f"Cancel the pull of {PULLED}").click()
        item = host.app.locator(f'li[data-model="{PULLED}"]')
        await expect(item).to_have_attribute("data-status", "cancelled", timeout=WAIT_MS)
        await expect(
            host.app.get_by_role("button", name=f"Cancel the pull of {PULLED}")
        ).to_have_count(0)
        await expect(host.app.get_by_role("status")).to_have_text(f"cancelled the pull of {PULLED}")
    assert "cancel_pull" in host.seen.calls
    assert PULLED not in ollama_double.installed_names()
    nothing_but_the_host(host)


async def test_delete_asks_first_then_removes(ollama_double: OllamaDouble, tmp_path: Path) -> None:
    async with app_host(ollama_double, tmp_path) as host:
        table = host.app.get_by_role("table", name="Installed models")
        await host.app.get_by_role("button", name="Delete gemma2:2b").click()
        confirm = host.app.get_by_role("alertdialog", name="Delete gemma2:2b?")
        await expect(confirm).to_be_visible()
        await expect(host.app.get_by_role("button", name="Keep it")).to_be_focused()
        assert "gemma2:2b" in ollama_double.installed_names()  # asking changed nothing
        await host.page.keyboard.press("Escape")  # keep it, from the keyboard
        await expect(confirm).to_have_count(0)
        await expect(host.app.get_by_role("button", name="Delete gemma2:2b")).to_be_focused()
        assert "delete_model" not in host.seen.calls
        await host.app.get_by_role("button", name="Delete gemma2:2b").click()
        await host.app.get_by_role("button", name="Yes, delete gemma2:2b").click()
        await expect(table.locator('tr[data-model="gemma2:2b"]')).to_have_count(0)
        await expect(table.locator("tbody tr")).to_have_count(3)
        await expect(host.app.get_by_role("status")).to_have_text("deleted gemma2:2b")
    assert "gemma2:2b" not in ollama_double.installed_names()
    nothing_but_the_host(host)


async def test_a_host_that_asks_its_person_is_not_asked_twice(
    ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    person = Person(NOT_YES["decline"])
    async with app_host(ollama_double, tmp_path, elicitation_callback=person) as host:
        table = host.app.get_by_role("table", name="Installed models")
        status = host.app.get_by_role("status")
        await host.app.get_by_role("button", name="Delete gemma2:2b").click()
        await expect(status).to_have_text("kept gemma2:2b")  # the person said no, to the host
        await expect(host.app.get_by_role("alertdialog")).to_have_count(0)  # the page never asked
        assert "gemma2:2b" in ollama_double.installed_names()
        person.answer = YES
        await host.app.get_by_role("button", name="Delete gemma2:2b").click()
        await expect(status).to_have_text("deleted gemma2:2b")
        await expect(table.locator('tr[data-model="gemma2:2b"]')).to_have_count(0)
        await expect(host.app.get_by_role("alertdialog")).to_have_count(0)
    assert person.asked == [f"Delete gemma2:2b ({GEMMA_SIZE})?"] * 2
    assert host.seen.calls.count("delete_model") == 2
    assert "gemma2:2b" not in ollama_double.installed_names()
    nothing_but_the_host(host)


async def test_read_only_shows_no_delete_and_no_pull(
    ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    async with app_host(ollama_double, tmp_path, "--read-only") as host:
        table = host.app.get_by_role("table", name="Installed models")
        await expect(table.locator("td[data-label='Context']").first).not_to_have_text("?")
        await expect(table.locator("tbody tr")).to_have_count(4)
        await expect(host.app.get_by_role("button", name="Delete gemma2:2b")).to_have_count(0)
        await open_tab(host, "Library")
        await expect(host.app.locator("tr[data-model='gemma4']")).to_be_visible()
        await expect(host.app.get_by_role("button", name="Pull gemma4")).to_have_count(0)
        await open_tab(host, "Pulls")
        await expect(host.app.get_by_role("textbox", name="Model to pull")).to_have_count(0)
    assert {"delete_model", "pull_model"}.isdisjoint(host.seen.calls)
    nothing_but_the_host(host)


async def test_dark_theme_at_360_px_is_readable(
    ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    async with app_host(ollama_double, tmp_path, theme="dark", width=360) as host:
        table = host.app.get_by_role("table", name="Installed models")
        await expect(table.locator("td[data-label='Context']").first).not_to_have_text("?")
        assert await host.frame.evaluate("document.documentElement.dataset.theme") == "dark"
        background = await host.frame.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(22, 24, 29)"  # the host's --color-background-primary
        font = await host.frame.evaluate("getComputedStyle(document.body).fontFamily")
        assert font.startswith('"DejaVu Sans"')  # the host's --font-sans
        overflow = await host.frame.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0  # nothing cut off or scrolled sideways at 360 px
        height = await host.page.evaluate("document.getElementById('app').offsetHeight")
        assert height > 400  # the App told the host its size (ui/notifications/size-changed)
        await screenshot(host, "app-library-dark-360.png")
        await host.set_theme("light")
        await expect(host.app.locator("html")).to_have_attribute("data-theme", "light")
    nothing_but_the_host(host)


async def test_keyboard_reaches_every_section(ollama_double: OllamaDouble, tmp_path: Path) -> None:
    async with app_host(ollama_double, tmp_path) as host:
        installed = host.app.get_by_role("tab", name="Installed (4)")
        await expect(installed).to_have_attribute("aria-selected", "true")
        await installed.focus()
        await host.page.keyboard.press("ArrowRight")
        running = host.app.get_by_role("tab", name="Running (0)")
        await expect(running).to_be_focused()
        await expect(running).to_have_attribute("aria-selected", "true")
        await expect(host.app.get_by_text("No model is loaded in memory now.")).to_be_visible()
        await host.page.keyboard.press("End")
        await expect(host.app.get_by_role("tab", name="Packaging")).to_be_focused()
        await host.page.keyboard.press("Home")
        await host.page.keyboard.press("Tab")  # from the tabs into the section
        await expect(
            host.app.get_by_role("searchbox", name="Filter installed models")
        ).to_be_focused()
    nothing_but_the_host(host)


async def test_packaging_report_after_package_adapter(
    ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    adapter = write_peft_dir(tmp_path / "peft", hidden=LLAMA_HIDDEN)
    arguments = {"path": str(adapter), "name": "my-finetune", "base_model": "llama3.2"}
    async with app_host(ollama_double, tmp_path, opener=("package_adapter", arguments)) as host:
        report = host.app.get_by_role("definition")
        await expect(host.app.get_by_role("tab", name="Packaging")).to_have_attribute(
            "aria-selected", "true"
        )
        await expect(report.first).to_have_text("my-finetune:latest")
        await expect(host.app.locator("dl")).to_contain_text("peft_directory")
        await expect(host.app.locator("dl")).to_contain_text("Digest")
        # the report stays with the server: the installed list, reopened, still has it
        await open_tab(host, "Installed (5)")
        await open_tab(host, "Packaging")
        await expect(host.app.locator("dl")).to_contain_text("my-finetune:latest")
    nothing_but_the_host(host)


def copy_to_namespace(double: OllamaDouble, source: str, destination: str) -> None:
    """A model under a namespace, the only kind a registry takes from its user."""
    with httpx2.Client(base_url=double.url, timeout=30) as http:
        body = {"source": source, "destination": destination}
        http.post("/api/copy", json=body).raise_for_status()


async def test_push_only_with_allow_push_and_it_asks_first(
    ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    copy_to_namespace(ollama_double, "gemma2:2b", "me/gemma:latest")
    async with app_host(ollama_double, tmp_path) as host:
        row = host.app.locator('tr[data-model="me/gemma:latest"]')
        await expect(row).to_be_visible()
        await expect(host.app.get_by_role("button", name="Push me/gemma:latest")).to_have_count(0)
    async with app_host(ollama_double, tmp_path, "--allow-push") as host:
        push = host.app.get_by_role("button", name="Push me/gemma:latest")
        await expect(push).to_be_visible()
        # not for a name without a namespace: the registry would refuse it
        await expect(host.app.get_by_role("button", name="Push gemma2:2b")).to_have_count(0)
        await push.click()
        confirm = host.app.get_by_role("alertdialog", name="Push me/gemma:latest?")
        await expect(confirm).to_contain_text("Whoever may read me there can pull it.")
        await expect(host.app.get_by_role("button", name="Keep it")).to_be_focused()
        assert "push_model" not in host.seen.calls  # asking sent nothing
        await host.app.get_by_role("button", name="Yes, push me/gemma:latest").click()
        status = host.app.get_by_role("status")
        await expect(status).to_have_text("pushed me/gemma:latest: success", timeout=WAIT_MS)
    assert host.seen.calls.count("push_model") == 1
    assert ollama_double.requests.count("POST", "/api/push") == 1
    nothing_but_the_host(host)


async def test_a_pull_started_elsewhere_shows_when_the_pulls_open(
    ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    """A pull the model started (here the host's own client, in the background) after the App
    opened: the Pulls section asks pull_status when it opens and follows the pull to its end."""
    ollama_double.catalogue.add(PULLED, model_size=4 * 1024 * 1024)
    gate = ollama_double.faults.gate("/api/pull")
    async with app_host(ollama_double, tmp_path) as host:
        await expect(host.app.get_by_role("tab", name="Installed (4)")).to_be_visible()
        started = await host.client.call_tool("pull_model", {"name": "gemma4", "background": True})
        assert not started.is_error
        gate.allow(3)
        assert await gate.wait_held_async(lines=3)
        await open_tab(host, "Pulls")
        bar = host.app.get_by_role("progressbar", name=f"Pull of {PULLED}")
        await expect(bar).not_to_have_attribute("aria-valuenow", "0", timeout=WAIT_MS)
        gate.open()
        await expect(bar).to_have_attribute("aria-valuenow", "100", timeout=WAIT_MS)
        await expect(host.app.get_by_role("tab", name="Installed (5)")).to_be_visible()
    assert "pull_model" not in host.seen.calls  # the App only followed it
    nothing_but_the_host(host)


async def test_refresh_with_ollama_down_marks_the_list_stale(
    ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    async with app_host(ollama_double, tmp_path) as host:
        table = host.app.get_by_role("table", name="Installed models")
        await expect(table.locator("td[data-label='Context']").first).not_to_have_text("?")
        ollama_double.faults.refuse_connections()
        # The server trusts a model list for 2 s (a "cache" answer); Refresh until it asks
        # Ollama again and finds it down. Each round is one library_view, never a sleep.
        refresh = host.app.get_by_role("button", name="Refresh")
        source = host.app.locator("[data-source]")
        for _ in range(200):
            await refresh.click()
            await expect(refresh).to_be_enabled()
            if await source.get_attribute("data-source") == "stale":
                break
        badge = host.app.locator("[data-source='stale']")
        await expect(badge).to_contain_text("Ollama unreachable: cached answer of ")
        await expect(badge).to_contain_text(", may be out of date")
        await expect(table.locator("tbody tr")).to_have_count(4)  # the list still stands
        await open_tab(host, "Running")
        await expect(
            host.app.get_by_text("Ollama did not answer: the models in memory are not known.")
        ).to_be_visible()
    nothing_but_the_host(host)
