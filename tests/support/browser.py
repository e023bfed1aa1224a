"""Headless Debian chromium for the UI tests: where it is, how it is launched, when its tests skip, where
screenshots go."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

__all__ = ["CHROMIUM", "IMAGES", "browser_marks", "launch_chromium", "plain_asyncio_loop"]

CHROMIUM = "/usr/bin/chromium"
_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
DOC_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
# Screenshots refresh docs/images only on request, so a normal test run leaves the tree clean.
IMAGES = (
    DOC_IMAGES if os.environ.get("UPDATE_SCREENSHOTS") else Path(tempfile.gettempdir()) / "algogrid-ui-shots"
)


def browser_marks(playwright_loaded: bool) -> list[pytest.MarkDecorator]:
    """Return the module marks of a browser test: skipped, with the reason, without playwright or chromium."""
    return [
        pytest.mark.browser,
        pytest.mark.skipif(
            not playwright_loaded, reason="playwright is not installed (pip install playwright)"
        ),
        pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason=f"Debian chromium missing at {CHROMIUM}"),
    ]


def plain_asyncio_loop() -> None:
    """Restore asyncio's default policy before ``sync_playwright()``: trio_asyncio (imported by storage) swaps
    it, and Playwright needs a plain loop."""
    asyncio.set_event_loop_policy(asyncio.DefaultEventLoopPolicy())


def launch_chromium(playwright: Any) -> Any:
    """Return Debian chromium launched headless by ``playwright`` (a ``sync_playwright()`` context)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=list(_ARGS))
