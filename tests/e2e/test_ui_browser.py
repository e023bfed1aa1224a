"""The UI in headless Debian Chromium driven by Playwright (G-04): a tile appears from SSE, the modal's
"Copy levels" puts the exact text on the clipboard, the Supervision page shows a restart after a crash, and
tiles count ages in market time and mark a quiet feed stale in wall time (item 5).

The engine's market clock is the simulator's ``SimClock`` at speed 60, unstarted (it stands still unless the
test advances it); the market-time check also freezes the browser's clock (Playwright's ``page.clock``), so
the test alone decides how much wall time passes.

The gateway runs for real (``serve_gateway`` on a free port over the real supervision tree, PostgreSQL and
Redis) in the test's trio loop; Playwright's sync API drives the browser from a worker thread so the loop
keeps serving.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gateway"))  # the gateway tests' real-parts kit

from gw_kit import Stack, generated, make_signal, open_stack

from algogrid.market_clock import SimMarketClock
from exchange.simulator import SimClock
from gateway import GatewayConfig
from strategy_core import Signal
from tests.support.auth import Account, bootstrap_admin
from tests.support.browser import (
    IMAGES,
    browser_marks,
    launch_chromium,
    plain_asyncio_loop,
    ui_activate,
    ui_login,
)

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "BNBUSDT", "DOGEUSDT", "LINKUSDT", "AVAXUSDT")
MARKET_START = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)
SPEED = 60.0

try:
    from playwright.sync_api import Locator, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None  # type: ignore[assignment]

pytestmark = browser_marks(sync_playwright is not None)


@pytest.fixture
def sim_clock() -> SimClock:
    return SimClock(int(MARKET_START.timestamp() * 1000), SPEED)


@pytest.fixture
async def stack(migrated_db_url: str, redis_clean_url: str, sim_clock: SimClock) -> AsyncIterator[Stack]:
    # No heartbeat during the test: each one re-syncs the UI's market clock, and the market-time check wants
    # the UI's own extrapolation alone to move it (heartbeats with market time: tests/gateway).
    config = GatewayConfig(
        port=0, ip_rate_limit_per_min=100_000, ask_timeout_s=1.0, heartbeat_s=3600.0, graceful_timeout_s=5.0
    )
    market = SimMarketClock(sim_clock)
    async with open_stack(
        migrated_db_url, redis_clean_url, SYMBOLS, gateway=config, fault_injection=True, market_clock=market
    ) as st:
        yield st


published: dict[str, Signal] = {}


def market_now(sim_clock: SimClock) -> dt.datetime:
    return dt.datetime.fromtimestamp(sim_clock.now_ms() / 1000, dt.UTC)


def store_and_publish(
    stack: Stack, symbol: str, side: str, probability: float, created_at: dt.datetime
) -> str:
    """Do what the engine does with a new signal: store it, then publish it (from this non-trio thread)."""
    signal = make_signal(symbol, side, probability, at=created_at)
    trio.from_thread.run(stack.store, signal)
    stack.feed.publish(generated(signal))
    published[str(signal.id)] = signal
    return str(signal.id)


def drive_browser(stack: Stack, sim_clock: SimClock, admin: Account, token: str) -> None:
    assert sync_playwright is not None
    plain_asyncio_loop()
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 760})
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=stack.url)
            page = context.new_page()
            ui_activate(page, stack.url, token, admin)  # the first admin's link, end to end in the UI
            ui_login(page, stack.url, admin)  # cookie session: the other pages of this context share it
            check_tiles_and_copy(page, stack, sim_clock)
            check_supervision(page, stack)
            check_market_time_ages_and_wall_time_staleness(context.new_page(), stack, sim_clock)
        finally:
            browser.close()


def check_tiles_and_copy(page: Page, stack: Stack, sim_clock: SimClock) -> None:
    stack.tick("BTCUSDT")  # only BTCUSDT's feed has spoken: every other tile is marked stale
    page.goto(f"{stack.url}/ui/")
    expect(page.locator("#stream-state")).to_have_text("stream: live", timeout=10_000)
    now = market_now(sim_clock)
    for symbol, side, p in [("ETHUSDT", "short", 0.58), ("SOLUSDT", "long", 0.71), ("XRPUSDT", "long", 0.64)]:
        store_and_publish(stack, symbol, side, p, now)
    signal_id = store_and_publish(stack, "BTCUSDT", "long", 0.67, now)
    tile = page.locator(f'[data-signal-id="{signal_id}"]')
    expect(tile).to_be_visible(timeout=10_000)  # arrived over SSE, no reload
    expect(tile.locator(".arrow")).to_have_text("▲")
    expect(tile.locator(".prob")).to_have_text("67%")
    expect(tile.locator(".badge.stale")).to_be_hidden()
    expect(page.locator('[data-symbol="ETHUSDT"] .badge.stale')).to_be_visible()  # "no market data yet"
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / "ui_signals.png"), full_page=True)

    tile.click()
    expect(page.locator("#modal")).to_be_visible()
    s = published[signal_id]
    expected = f"Entry: {s.entry:f}, TP1: {s.tp1:f}, TP2: {s.tp2:f}, TP3: {s.tp3:f}, SL: {s.sl:f}"
    page.locator("#copy-levels").click()
    expect(page.locator("#copy-done")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == expected
    page.screenshot(path=str(IMAGES / "ui_modal.png"))
    page.keyboard.press("Escape")
    expect(page.locator("#modal")).to_be_hidden()


def check_supervision(page: Page, stack: Stack) -> None:
    page.locator("#nav-supervision").click()
    node = page.locator('[data-path="root/symbols/BTCUSDT/feed"]')
    expect(node.locator(".restarts")).to_have_attribute("data-restarts", "0", timeout=10_000)
    node.locator("button.danger").click()  # POST /admin/faults {"kind": "crash"}
    expect(node.locator(".restarts")).to_have_attribute("data-restarts", "1", timeout=10_000)
    expect(node).to_have_attribute("title", re.compile(r"^last failure: InjectedFault: injected crash at "))
    page.screenshot(path=str(IMAGES / "ui_supervision.png"), full_page=True)


def check_market_time_ages_and_wall_time_staleness(page: Page, stack: Stack, sim_clock: SimClock) -> None:
    wall = dt.datetime.now(dt.UTC)
    stack.tick("BTCUSDT", wall)
    stack.tick("ETHUSDT", wall - dt.timedelta(seconds=5))  # 5 wall s = 300 market s: fresh all the same
    stack.tick("XRPUSDT", wall - dt.timedelta(seconds=120))  # quiet for two wall minutes: stale
    page.clock.install(time=wall)
    page.clock.pause_at(wall + dt.timedelta(seconds=1))  # the browser's wall clock stands still from here
    page.goto(f"{stack.url}/ui/")
    expect(page.locator("#stream-state")).to_have_text("stream: live", timeout=10_000)
    expect(page.locator("#clock")).to_have_text("2024-03-01 12:00:00 UTC · ×60")

    ten_market_minutes_ago = market_now(sim_clock) - dt.timedelta(minutes=10)
    signal_id = store_and_publish(stack, "LINKUSDT", "short", 0.61, ten_market_minutes_ago)
    tile = page.locator(f'[data-signal-id="{signal_id}"]')
    expect(tile).to_be_visible(timeout=10_000)
    expect(tile.locator(".age")).to_have_text("10m ago")  # wall time has not moved

    def stale(symbol: str) -> Locator:
        return page.locator(f'[data-symbol="{symbol}"] .badge.stale')

    expect(stale("XRPUSDT")).to_be_visible()
    expect(stale("ETHUSDT")).to_be_hidden()
    expect(stale("BTCUSDT")).to_be_hidden()

    page.clock.run_for(10_000)  # ten wall seconds = ten market minutes at speed 60
    expect(page.locator("#clock")).to_have_text("2024-03-01 12:10:00 UTC · ×60")
    expect(tile.locator(".age")).to_have_text("20m ago")
    expect(stale("ETHUSDT")).to_be_hidden()  # 15 wall s quiet: judged in wall time, not 900 market s

    page.clock.run_for(20_000)  # ETHUSDT now quiet for > 30 wall s, with no poll needed to notice
    expect(stale("ETHUSDT")).to_be_visible()


async def test_ui_tiles_modal_copy_and_live_supervision(stack: Stack, sim_clock: SimClock) -> None:
    email, token = await bootstrap_admin(stack.storage)
    await trio.to_thread.run_sync(drive_browser, stack, sim_clock, Account(email=email, role="admin"), token)
