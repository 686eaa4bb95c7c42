"""Headless Debian Chromium for the screen's browser tests, driven by Playwright.

Never downloads a browser: it uses /usr/bin/chromium (set-up installs Debian's chromium)
with the flags this machine needs (no sandbox in containers, no GPU, nothing that calls
home), and opens the robot's pages at the two screen sizes the issue names.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LARGE, SMALL = {"width": 1280, "height": 800}, {"width": 800, "height": 480}


@contextmanager
def chromium(profile_dir: Path) -> Iterator[object]:
    """A browser context on a fresh profile; skips the test when Chromium is missing."""
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed")
    with playwright_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile_dir),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_FLAGS,
            headless=True,
            viewport=LARGE,
        )
        try:
            yield context
        finally:
            context.close()


def open_page(page, url: str, viewport: dict) -> None:
    page.bring_to_front()  # Chromium throttles background tabs: slow clicks and timers
    page.set_viewport_size(viewport)
    page.goto(url)
    expect(page.locator("body")).to_have_attribute("data-ready", "true", timeout=5000)


def screen_labels(repo: Path) -> dict:
    """The page labels (vi, en) the screen node serves, from config/screen.yaml."""
    data = yaml.safe_load((repo / "config/screen.yaml").read_text(encoding="utf-8"))
    return data["screen"]["ros__parameters"]["labels"]


def screenshot_folder(repo: Path) -> Path:
    """Where the browser tests leave their screenshots: reports/screen/ (not committed)."""
    folder = repo / "reports" / "screen"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
