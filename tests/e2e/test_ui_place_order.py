"""The order path in headless Debian Chromium driven by Playwright (E-01, E-02, E-07; issue 12 UI): open a
signal, read the pre-trade preview, press the one "Place order" button, read the outcome in plain words and
find the position in the positions list (live over the ``positions`` SSE channel); an exchange rejection is
told in plain words too, a denied preview disables the button, and the list's close button closes.

The gateway runs for real (``serve_gateway`` over the production engine view, real PostgreSQL and Redis) in
the test's trio loop; the tree holds the small real actors of tests/gateway/gw_kit.py at the contract's
paths (``DeskPosition`` answering ``PlaceOrderFromSignal`` through its reply future, ``PreviewRisk``
answering ``PreviewTrade``). Playwright's sync API drives the browser from a worker thread.
"""

from __future__ import annotations

import datetime as dt
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gateway"))  # the gateway tests' real-parts kit

from gw_kit import Desk, Stack, generated, make_signal, open_stack

from gateway import GatewayConfig
from tests.support.auth import Account, activate, authorise, bootstrap_admin, create_user, login
from tests.support.browser import IMAGES, browser_marks, launch_chromium, plain_asyncio_loop, ui_login

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")

try:
    from playwright.sync_api import Page, expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None  # type: ignore[assignment]

pytestmark = browser_marks(sync_playwright is not None)


@pytest.fixture
async def stack(migrated_db_url: str, redis_clean_url: str) -> AsyncIterator[Stack]:
    config = GatewayConfig(
        port=0, ip_rate_limit_per_min=100_000, ask_timeout_s=2.0, order_timeout_s=5.0, graceful_timeout_s=5.0
    )
    async with open_stack(
        migrated_db_url, redis_clean_url, SYMBOLS, gateway=config, fault_injection=False, desk=Desk()
    ) as st:
        yield st


def publish(stack: Stack, symbol: str, outcome: str | None = None) -> str:
    """Store and publish a fresh signal as the engine does; optionally script the desk's answer to it."""
    signal = make_signal(symbol, "long", 0.66, at=dt.datetime.now(dt.UTC))
    trio.from_thread.run(stack.store, signal)
    if outcome is not None:
        stack.script(signal, outcome)
    stack.feed.publish(generated(signal))
    return str(signal.id)


def drive_browser(stack: Stack, trader: Account) -> None:
    assert sync_playwright is not None
    plain_asyncio_loop()
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on(
                "console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None
            )
            ui_login(page, stack.url, trader)  # a trader's cookie session: the clicks carry their id
            check_preview_click_outcome_and_positions(page, stack)
            check_a_rejection_is_told_in_plain_words(page, stack)
            check_a_denied_preview_disables_the_button(page, stack)
            page.locator("#modal-close").click()
            check_close_from_the_positions_list(page, stack)
            assert errors == []
        finally:
            browser.close()


def check_preview_click_outcome_and_positions(page: Page, stack: Stack) -> None:
    page.goto(f"{stack.url}/ui/")
    expect(page.locator("#stream-state")).to_have_text("stream: live", timeout=10_000)
    expect(page.locator("#position-count")).to_have_text("0 open, 0 closed")
    signal_id = publish(stack, "BTCUSDT")
    tile = page.locator(f'[data-signal-id="{signal_id}"]')
    expect(tile).to_be_visible(timeout=10_000)

    tile.click()
    expect(page.locator("#modal")).to_be_visible()
    expect(page.locator("#preview-verdict")).to_have_text("Risk check: allowed.", timeout=10_000)
    expect(page.locator('#preview-table [data-field="Quantity"]')).to_have_text("0.099 BTC")
    expect(page.locator('#preview-table [data-field="Risk"]')).to_have_text("24.80 USD · 0.99 R")
    expect(page.locator('#preview-table [data-field="Heat after"]')).to_have_text("0.99 R · 24.80 USD")
    expect(page.locator('#preview-table [data-field="Per-base usage after"]')).to_have_text(
        "1 of 2 on BTC long"
    )
    button = page.locator("#place-order")
    expect(button).to_be_enabled()
    expect(page.get_by_role("button", name="Place order")).to_have_count(1)  # ONE place button

    button.click()
    outcome = page.locator("#order-outcome")
    expect(outcome).to_have_attribute("data-status", "filled", timeout=10_000)
    expect(outcome).to_contain_text("Filled (100% filled at ")
    expect(outcome).to_contain_text("Filled in full at the entry price.")
    assert stack.desk is not None
    assert len(stack.desk.log.clicks) == 1  # one click, one command
    row = page.locator("#position-rows tr.open")
    expect(row).to_have_count(1)
    expect(row.locator(".pstatus")).to_have_text("open")
    expect(page.locator("#position-count")).to_have_text("1 open, 0 closed")
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / "ui_place_order.png"), full_page=True)
    page.locator("#modal-close").click()


def check_a_rejection_is_told_in_plain_words(page: Page, stack: Stack) -> None:
    signal_id = publish(stack, "ETHUSDT", outcome="rejected")
    tile = page.locator(f'[data-signal-id="{signal_id}"]')
    expect(tile).to_be_visible(timeout=10_000)
    tile.click()
    expect(page.locator("#place-order")).to_be_enabled(timeout=10_000)
    page.locator("#place-order").click()
    outcome = page.locator("#order-outcome")
    expect(outcome).to_have_attribute("data-status", "rejected", timeout=10_000)
    expect(outcome).to_have_text(
        "Rejected by the exchange (0% filled). "
        "The exchange rejected the order: the balance is too low for this size."
    )
    expect(page.locator("#position-count")).to_have_text("1 open, 0 closed")  # no position from a rejection
    page.locator("#modal-close").click()


def check_close_from_the_positions_list(page: Page, stack: Stack) -> None:
    row = page.locator("#position-rows tr.open")
    position_id = row.get_attribute("data-position-id")
    assert position_id is not None
    trio.from_thread.run(store_open_position, stack, position_id)  # the row the real actor commits
    row.locator("button", has_text="close").click()
    expect(page.locator("#close-dialog")).to_be_visible()  # the reason is asked first
    page.locator("#close-reason").select_option("manual")
    page.locator("#close-confirm").click()
    closed = page.locator(f'#closed-rows tr[data-position-id="{position_id}"]')
    expect(closed).to_have_attribute("data-status", "closed", timeout=10_000)
    expect(page.locator("#position-count")).to_have_text("0 open, 1 closed")


async def store_open_position(stack: Stack, position_id: str) -> None:
    await stack.storage.db.execute(
        "INSERT INTO positions (id, symbol, side, status, requested_size_base, executed_size_base, "
        "fill_ratio, risk_usd) VALUES ($1, 'BTCUSDT', 'long', 'open', 0.099, 0.099, 1, 25)",
        uuid.UUID(position_id),
    )


def check_a_denied_preview_disables_the_button(page: Page, stack: Stack) -> None:
    signal_id = publish(stack, "SOLUSDT")  # two clicks so far: the desk's risk actor denies a third
    page.locator(f'[data-signal-id="{signal_id}"]').click()
    expect(page.locator("#preview-verdict")).to_have_text(
        "Risk check: denied — Two positions on this base already: the limit is 2.", timeout=10_000
    )
    expect(page.locator("#place-order")).to_be_disabled()


async def trader_of(stack: Stack) -> Account:
    """An admin (made as ``create-admin`` does) creates a trader over HTTP; the trader activates over HTTP."""
    async with httpx.AsyncClient(base_url=stack.url, timeout=10.0) as admin:
        email, token = await bootstrap_admin(stack.storage)
        boss = await activate(admin, token, email, "admin")
        await login(admin, boss)
        authorise(admin, boss)
        return await create_user(admin, "trader")


async def test_ui_preview_place_order_outcome_and_positions_list(stack: Stack) -> None:
    trader = await trader_of(stack)
    await trio.to_thread.run_sync(drive_browser, stack, trader)
    assert stack.desk is not None
    assert {c.requested_by for c in stack.desk.log.clicks} == {trader.user_id}
