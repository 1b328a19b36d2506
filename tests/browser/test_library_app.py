"""The model library App in headless Chromium, hosted by the ext-apps host bridge and talking to
the real server on the Ollama double: what a person sees and can do."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import expect

from tests.browser.app_host import HOST_ORIGIN, app_host
from tests.ollama_double.server import OllamaDouble

SEEDED = ["llama3.2:latest", "all-minilm:latest", "qwen3:latest", "gemma2:2b"]


async def test_installed_models_appear(ollama_double: OllamaDouble, tmp_path: Path) -> None:
    async with app_host(ollama_double, tmp_path) as host:
        table = host.app.get_by_role("table", name="Installed models")
        for name in SEEDED:
            await expect(table.locator(f'tr[data-model="{name}"]')).to_be_visible()
        await expect(host.app.get_by_role("button", name="Delete gemma2:2b")).to_be_visible()
        await host.page.screenshot(path=str(tmp_path / "shot.png"))
    assert host.seen.console_errors == []
    assert host.seen.refused == []
    assert all(url.startswith(HOST_ORIGIN) for url in host.seen.requests)


async def test_debug_shot(ollama_double: OllamaDouble, tmp_path: Path) -> None:
    async with app_host(ollama_double, tmp_path) as host:
        await expect(host.app.locator('td:text("512")')).to_be_visible()
        await host.page.screenshot(path="/tmp/app21-shot.png", full_page=True)
    async with app_host(ollama_double, tmp_path, theme="dark", width=360) as host:
        await expect(host.app.locator('td:text("512")')).to_be_visible()
        await host.page.screenshot(path="/tmp/app21-shot-dark.png", full_page=True)
