"""The App's browser tests need Chromium, Playwright and the host bundle (`.ci/browser-deps`)."""

from __future__ import annotations

import pytest

from tests.browser.app_host import require_browser


@pytest.fixture(autouse=True)
def browser_ready() -> None:
    require_browser()
