"""Headless Chromium for the dashboard's browser tests: Debian's `chromium` (apt),
driven by Playwright's Python client through its `executable_path`, no browser download.

Importing this skips the importing test module when there is no Chromium, except in CI,
where a missing browser is an error rather than a silently skipped test.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.admin_api import TOKEN

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

playwright_api = pytest.importorskip("playwright.sync_api")

if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
    if os.environ.get("CI"):
        raise RuntimeError("CI needs Debian's chromium: apt-get install -y chromium")
    pytest.skip(
        "no Chromium at /usr/bin/chromium (apt-get install -y chromium)", allow_module_level=True
    )


def log_in(page: Page, base: str) -> None:
    """Log in at the dashboard served at `base` with the test settings' admin token."""
    page.goto(f"{base}/login")
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
