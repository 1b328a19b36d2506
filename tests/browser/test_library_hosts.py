"""The model library App on a server that fronts two Ollama hosts, `laptop` (the default) and
`gpu`: each model shows the hosts that have it, each loaded model and pull its host, and every
button names the host it acts on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from playwright.async_api import expect

from tests.browser.app_host import Host, app_host
from tests.browser.test_library_app import (
    PULLED,
    WAIT_MS,
    nothing_but_the_host,
    open_tab,
    screenshot,
)
from tests.fleet.test_hosts_mcp import load
from tests.ollama_double.server import OllamaDouble, running_double

pytestmark = pytest.mark.browser

ON_GPU = ("llama3.2:latest", "qwen3:latest")  # the laptop has all four seeded models


@pytest.fixture
def gpu(tmp_path: Path) -> Iterator[OllamaDouble]:
    with running_double(tmp_path / "gpu") as double:
        with httpx2.Client(base_url=double.url, timeout=30) as http:
            for name in double.installed_names():
                if name not in ON_GPU:
                    http.request("DELETE", "/api/delete", json={"model": name}).raise_for_status()
        yield double


def two(laptop: OllamaDouble, gpu: OllamaDouble) -> dict[str, OllamaDouble]:
    return {"laptop": laptop, "gpu": gpu}


async def hosts_cell(host: Host, model: str) -> str:
    table = host.app.get_by_role("table", name="Installed models")
    return await table.locator(f'tr[data-model="{model}"] td[data-label="Hosts"]').inner_text()


async def test_each_model_shows_its_hosts_and_delete_names_the_host(
    ollama_double: OllamaDouble, gpu: OllamaDouble, tmp_path: Path
) -> None:
    load(gpu, "qwen3")
    async with app_host(ollama_double, tmp_path, hosts=two(ollama_double, gpu)) as host:
        table = host.app.get_by_role("table", name="Installed models")
        cell = table.locator('tr[data-model="llama3.2:latest"] td[data-label="Hosts"]')
        await expect(cell).to_have_text("laptop, gpu")
        assert await hosts_cell(host, "gemma2:2b") == "laptop"
        assert await hosts_cell(host, "qwen3:latest") == "laptop, gpu"
        for name in ("laptop", "gpu"):  # live, or the server's list cache of a moment ago
            badge = host.app.locator(f'.badge[data-host="{name}"]')
            answered = re.compile(f"^{name}: (live from Ollama|cached answer)")
            await expect(badge).to_have_text(answered)
        await screenshot(host, "app-library-hosts.png")
        # one Delete per host that has the model; the one asked for names its host
        button = host.app.get_by_role("button", name="Delete gemma2:2b from gpu")
        await expect(button).to_have_count(0)
        await host.app.get_by_role("button", name="Delete llama3.2:latest from gpu").click()
        confirm = host.app.get_by_role("alertdialog", name="Delete llama3.2:latest from gpu?")
        await expect(confirm).to_contain_text("from the Ollama on gpu?")
        await host.app.get_by_role("button", name="Yes, delete llama3.2:latest from gpu").click()
        status = host.app.get_by_role("status")
        await expect(status).to_have_text("deleted llama3.2:latest from gpu")
        await expect(cell).to_have_text("laptop")
        await open_tab(host, "Running (1)")
        running = host.app.get_by_role("table", name="Running models")
        row = running.locator('tr[data-model="qwen3:latest"]')
        await expect(row.locator('td[data-label="Host"]')).to_have_text("gpu")
    assert "llama3.2:latest" not in gpu.installed_names()
    assert "llama3.2:latest" in ollama_double.installed_names()
    nothing_but_the_host(host)


async def test_a_pull_goes_to_the_chosen_host_and_ends_installed_there(
    ollama_double: OllamaDouble, gpu: OllamaDouble, tmp_path: Path
) -> None:
    gpu.catalogue.add(PULLED, model_size=4 * 1024 * 1024)
    gate = gpu.faults.gate("/api/pull")
    async with app_host(ollama_double, tmp_path, hosts=two(ollama_double, gpu)) as host:
        await open_tab(host, "Library")
        await host.app.get_by_role("combobox", name="Pull to").select_option("gpu")
        await host.app.get_by_role("button", name="Pull gemma4 to gpu").click()
        gate.allow(3)
        assert await gate.wait_held_async(lines=3)
        bar = host.app.get_by_role("progressbar", name=f"Pull of {PULLED} on gpu")
        await expect(bar).not_to_have_attribute("aria-valuenow", "0", timeout=WAIT_MS)
        gate.open()
        await expect(bar).to_have_attribute("aria-valuenow", "100", timeout=WAIT_MS)
        item = host.app.locator(f'li[data-model="{PULLED}"][data-host="gpu"]')
        await expect(item).to_have_attribute("data-status", "success")
        await open_tab(host, "Installed (5)")
        cell = host.app.locator(f'tr[data-model="{PULLED}"] td[data-label="Hosts"]')
        await expect(cell).to_have_text("gpu")
    assert PULLED in gpu.installed_names()
    assert ollama_double.requests.count("POST", "/api/pull") == 0
    nothing_but_the_host(host)


async def test_cancel_names_the_host_of_the_pull_at_360_px(
    ollama_double: OllamaDouble, gpu: OllamaDouble, tmp_path: Path
) -> None:
    gpu.catalogue.add(PULLED, model_size=4 * 1024 * 1024)
    gate = gpu.faults.gate("/api/pull")
    async with app_host(ollama_double, tmp_path, hosts=two(ollama_double, gpu), width=360) as host:
        await open_tab(host, "Pulls")
        await host.app.get_by_role("combobox", name="Pull to").select_option("gpu")
        await host.app.get_by_role("textbox", name="Model to pull").fill("gemma4")
        await host.app.get_by_role("textbox", name="Model to pull").press("Enter")
        gate.allow(3)
        assert await gate.wait_held_async(lines=3)
        bar = host.app.get_by_role("progressbar", name=f"Pull of {PULLED} on gpu")
        await expect(bar).not_to_have_attribute("aria-valuenow", "0", timeout=WAIT_MS)
        await host.app.get_by_role("button", name=f"Cancel the pull of {PULLED} on gpu").click()
        item = host.app.locator(f'li[data-model="{PULLED}"][data-host="gpu"]')
        await expect(item).to_have_attribute("data-status", "cancelled", timeout=WAIT_MS)
        await expect(host.app.get_by_role("status")).to_have_text(
            f"cancelled the pull of {PULLED} on gpu"
        )
        shown = {
            "Pulls": f'li[data-model="{PULLED}"]',
            "Installed (4)": 'tr[data-model="llama3.2:latest"]',
            "Library": 'tr[data-model="gemma4"]',
        }
        for tab, drawn in shown.items():  # readable at 360 px, hosts and all
            await open_tab(host, tab)
            await expect(host.app.locator(drawn)).to_be_visible()
            overflow = await host.frame.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, tab
    assert PULLED not in gpu.installed_names()
    nothing_but_the_host(host)
