"""Headless Debian chromium for the UI tests: where it is, how it is launched, when its tests skip, where
screenshots go."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "CHROMIUM",
    "IMAGES",
    "browser_marks",
    "launch_chromium",
    "plain_asyncio_loop",
    "ui_activate",
    "ui_login",
]

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


def ui_activate(page: Any, base_url: str, token: str, account: Any, screenshot: str | None = None) -> None:
    """Activate ``account`` in the UI from its one-time link: read the secret the page shows (as a person
    scanning the QR code would), choose the password, type a current code; ``screenshot``: a file name under
    ``IMAGES`` for the enrolment screen."""
    from playwright.sync_api import expect

    page.goto(f"{base_url}/ui/#/activate?token={token}")
    secret = page.locator("#totp-secret")
    expect(secret).not_to_be_empty(timeout=10_000)
    expect(page.locator("#totp-qr")).to_have_attribute("src", re.compile(r"^data:image/svg\+xml;base64,"))
    if screenshot is not None:
        IMAGES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(IMAGES / screenshot))
    account.totp_secret = secret.text_content()
    page.locator("#activate-password").fill(account.password)
    page.locator("#activate-code").fill(account.code())
    page.locator("#activate-submit").click()
    expect(page.locator("#login-message")).to_contain_text("Account activated", timeout=10_000)


def ui_login(page: Any, base_url: str, account: Any, *, here: bool = False) -> None:
    """Log in through the UI's login screen (cookie session) and wait for the app; ``here``: on the login
    screen the page already shows (an ended session), keeping the page's URL."""
    from playwright.sync_api import expect

    if not here and "#/login" not in page.url:
        page.goto(f"{base_url}/ui/#/login")
    expect(page.locator("#view-login")).to_be_visible(timeout=10_000)
    page.locator("#login-email").fill(account.email)
    page.locator("#login-password").fill(account.password)
    if account.totp_secret is not None:
        page.locator("#login-code").fill(account.code())
    page.locator("#login-submit").click()
    expect(page.locator("#app-shell")).to_be_visible(timeout=10_000)
