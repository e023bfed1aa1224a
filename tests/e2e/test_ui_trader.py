"""The trader screens in headless Debian Chromium against a real ``algogrid run --dev`` (G-04, U-02, U-05,
E-01..E-06, R-03): activation with TOTP enrolment and login with a code; forgotten password and reset by the
mailed link; signal tiles from the simulator with their levels, probability, BE mark and funding countdown;
the QUEUE badge counting down to ``queued_until``; filters kept in the URL through a reload and an ended
session; preview → the one "Place order" button → the position → close with a reason → the closed row with
PnL, fees, funding and slippage; a viewer without a place button (and a 403 from the API); no horizontal
overflow on a 390-px phone; readable contrast; keyboard focus; virtual scrolling; no console error.

One system per module: the subprocess runs the simulator, the engine and the gateway on the harness's
PostgreSQL and Redis, and the test talks to it only as people do (browser, HTTP, the printed mail links).
Four settings differ from the defaults, through the product's own environment overrides, so the market at
speed 60 gives the browser time to act: a long anti-churn block (repeated signals queue: R-03), a wide order
grace (a signal stays placeable for a wall minute instead of two seconds) and an entry allowance of 1000
ticks (the IOC entry fills on the moving simulated book; the placing still retries on a miss); and the
per-IP rate limit is lifted, as every browser and the test's own reads come from 127.0.0.1.

``UPDATE_SCREENSHOTS=1`` writes the screens (desktop 1366×768 and phone 390×844) to docs/images/.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg2
import pytest

from tests.support import eventually
from tests.support.auth import Account, activate_sync, login_sync, token_of_link
from tests.support.browser import (
    IMAGES,
    browser_marks,
    launch_chromium,
    plain_asyncio_loop,
    ui_activate,
    ui_login,
)
from tests.support.system import RunningSystem, first_admin_link, mailed_link

try:
    from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect, sync_playwright
    from playwright.sync_api import Error as PlaywrightError
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None  # type: ignore[assignment]

pytestmark = [*browser_marks(sync_playwright is not None), pytest.mark.slow]

DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
# Low-priced symbols: 1000 ticks are several percent of the price, so the entry fills on a moving book.
PLACEABLE = ("XRPUSDT", "ADAUSDT", "MATICUSDT", "ARBUSDT", "TRXUSDT", "DOGEUSDT", "OPUSDT")
RESET_SUBJECT = "Reset your algogrid password"


@dataclass
class Desk:
    """The running system and the people of the tests."""

    system: RunningSystem
    base: str
    db_url: str
    admin: httpx.Client  # the first admin, bearer-authorised
    trader: Account
    trader_token: str  # the trader's one-time activation token (activated in the browser)
    viewer: Account

    def market_now(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.admin.get("/time").json()["market_time"])

    def signals(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.admin.get("/signals?limit=500").json()["items"]
        return items


@pytest.fixture(scope="module")
def desk(
    migrated_db_url: str, redis_module_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Desk]:
    tmp = tmp_path_factory.mktemp("ui-trader")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALGOGRID_")}
    env.update(
        DATABASE_URL=migrated_db_url,
        REDIS_URL=redis_module_url,
        ALGOGRID_LOGGING__FILE=str(tmp / "log" / "algogrid.jsonl"),
        ALGOGRID_RISK__CHURN_BLOCK_SEC="7200",
        ALGOGRID_EXECUTION__ORDER_GRACE_SECONDS="3600",
        ALGOGRID_EXECUTION__ENTRY_SLIPPAGE_TICKS="1000",
        # every browser of the module and the test's own reads come from 127.0.0.1
        ALGOGRID_GATEWAY__IP_RATE_LIMIT_PER_MIN="100000",
    )
    system = RunningSystem(["--port", "0", "--dev", "--data-dir", str(tmp / "data")], env)
    try:
        ready = eventually(lambda: system.line("ready"), timeout=90, interval=0.1, message="ready line")
        base = str(ready["url"])
        link = eventually(lambda: first_admin_link(system), timeout=10, message="the first admin's link")
        with httpx.Client(base_url=base, timeout=20) as admin:
            boss = activate_sync(admin, token_of_link(link), "admin@localhost.localdomain", "admin")
            login_sync(admin, boss)
            admin.headers["Authorization"] = f"Bearer {boss.tokens['access_token']}"
            eventually(lambda: admin.get("/ready").status_code == 200, timeout=60, message="/ready 200")
            trader = Account(email=f"trader-{uuid.uuid4().hex[:6]}@example.com", role="trader")
            made = admin.post("/users", json={"email": trader.email, "role": "trader"})
            assert made.status_code == 201, made.text
            viewer_email = f"viewer-{uuid.uuid4().hex[:6]}@example.com"
            seen = admin.post("/users", json={"email": viewer_email, "role": "viewer"})
            assert seen.status_code == 201, seen.text
            viewer = activate_sync(
                admin, token_of_link(seen.json()["activation_link"]), viewer_email, "viewer"
            )
            yield Desk(
                system,
                base,
                migrated_db_url,
                admin,
                trader,
                token_of_link(made.json()["activation_link"]),
                viewer,
            )
    finally:
        system.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    assert sync_playwright is not None
    plain_asyncio_loop()
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            yield browser
        finally:
            browser.close()


class Console:
    """Every uncaught page error and console error of a page (a failed request is one too)."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)

    def take(self) -> list[str]:
        taken, self.errors[:] = list(self.errors), []
        return taken


@dataclass
class Session:
    context: BrowserContext
    page: Page
    console: Console


@pytest.fixture(scope="module")
def trader(desk: Desk, chromium: Browser) -> Iterator[Session]:
    """The trader activates in the browser (reads the secret the page shows, as a phone scanning the QR code
    would) and logs in with a code; the session serves the module's trader tests."""
    context = chromium.new_context(viewport=DESKTOP)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=desk.base)
    page = context.new_page()
    console = Console(page)
    ui_activate(page, desk.base, desk.trader_token, desk.trader, screenshot="ui_activate_desktop.png")
    shot(page, "ui_login_desktop.png")
    ui_login(page, desk.base, desk.trader)
    try:
        yield Session(context, page, console)
    finally:
        context.close()


def shot(page: Page, name: str, *, full_page: bool = False) -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / name), full_page=full_page)


def no_horizontal_overflow(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("window.innerWidth")
    wide = page.evaluate(
        """(limit) => [...document.querySelectorAll("body *")]
          .filter((n) => n.offsetParent && n.getBoundingClientRect().right > limit + 0.5)
          .slice(0, 5)
          .map((n) => `${n.tagName}#${n.id}.${n.className}: ${n.getBoundingClientRect().right}`)""",
        viewport,
    )
    assert width <= viewport, f"the page is {width} px wide in a {viewport} px viewport: {wide}"


# Contrast of the visible text against its (blended) background, WCAG 2.x relative luminance.
_CONTRAST_JS = """
(selector) => {
  const rgba = (text) => {
    const m = text.match(/[\\d.]+/g).map(Number);
    return [m[0], m[1], m[2], m[3] ?? 1];
  };
  const lum = ([r, g, b]) => {
    const linear = (v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    const c = [r, g, b].map((v) => linear(v / 255));
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const blend = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3])).concat([1]);
  const background = (node) => {
    const layers = [];
    for (let n = node; n; n = n.parentElement) {
      const c = rgba(getComputedStyle(n).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] === 1) break;
    }
    let colour = [255, 255, 255, 1];
    for (const layer of layers.reverse()) colour = blend(layer, colour);
    return colour;
  };
  const worst = [];
  for (const node of document.querySelectorAll(selector)) {
    if (!node.offsetParent || !node.textContent.trim()) continue;
    const style = getComputedStyle(node);
    const fg = blend(rgba(style.color), background(node));
    const [a, b] = [lum(fg), lum(background(node))].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    if (ratio < 4.5) worst.push(`${node.className || node.tagName}: ${ratio.toFixed(2)}`);
  }
  return worst;
}
"""
TEXT = (
    "h1, .dim, .tile .sym, .tile .side, .tile .prob, .lv dt, .lv dd, .badge, .age, .be, .funding, "
    "button, .tab, .pill, .positions th, .positions td, .filters label, .verdict, .outcome, .note, .link"
)


def test_activation_enrols_totp_and_the_login_needs_a_current_code(
    desk: Desk, chromium: Browser, trader: Session
) -> None:
    expect(trader.page.locator("#who")).to_have_text(f"{desk.trader.email} · trader")
    assert desk.trader.totp_secret  # the secret the activation page showed beside its QR code

    context = chromium.new_context(viewport=DESKTOP)
    page = context.new_page()
    console = Console(page)
    page.goto(f"{desk.base}/ui/")
    expect(page.locator("#view-login")).to_be_visible()
    page.locator("#login-email").fill(desk.trader.email)
    page.locator("#login-password").fill(desk.trader.password)
    page.locator("#login-submit").click()  # no authenticator code: refused, in words
    expect(page.locator("#login-message")).not_to_be_empty()
    expect(page.locator("#app-shell")).to_be_hidden()
    assert [e for e in console.take() if "401" not in e] == []  # the refusal itself is a 401
    context.close()
    assert trader.console.take() == []


def test_a_tile_from_the_simulator_shows_levels_probability_age_be_and_funding(
    desk: Desk, trader: Session
) -> None:
    page = trader.page
    page.goto(f"{desk.base}/ui/#/signals")
    expect(page.locator("#stream-state")).to_have_text("stream: live", timeout=15_000)
    tile = page.locator("#tiles-window .tile").first
    expect(tile).to_be_visible(timeout=60_000)
    assert tile.locator(".arrow").text_content() in ("▲", "▼")
    expect(tile.locator(".prob")).to_have_text(re.compile(r"^\d{1,3}%$"))
    assert tile.locator(".lv dt").all_text_contents() == ["Entry", "TP1", "TP2", "TP3", "SL", "R"]
    expect(tile.locator(".age")).to_have_text(re.compile(r"ago$"))
    expect(tile.locator(".be")).to_have_text(re.compile(r"^BE "))
    expect(tile.locator(".funding")).to_have_text(re.compile(r"^funding \d+:\d\d"), timeout=10_000)
    expect(tile.locator(".badge.stale")).to_be_hidden()  # the simulator's feeds are talking

    page.locator("#filter-clear").focus()  # keyboard: Tab reaches the newest tile, with a visible focus ring
    page.keyboard.press("Tab")
    focused = page.evaluate("[document.activeElement.className, document.activeElement.dataset.signalId]")
    assert focused[0].split()[0] == "tile"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    page.keyboard.press("Enter")
    expect(page.locator("#modal")).to_be_visible()
    expect(page.locator("#copy-text")).to_have_text(
        re.compile(r"^Entry: [\d.]+, TP1: [\d.]+, TP2: [\d.]+, TP3: [\d.]+, SL: [\d.]+$")
    )
    page.locator("#copy-levels").click()
    assert page.evaluate("navigator.clipboard.readText()") == page.locator("#copy-text").text_content()
    page.keyboard.press("Escape")
    expect(page.locator("#modal")).to_be_hidden()
    expect(page.locator(f'#tiles-window [data-signal-id="{focused[1]}"]')).to_be_focused()

    assert page.evaluate(_CONTRAST_JS, TEXT) == []  # WCAG AA: 4.5:1 for the text on screen
    shot(page, "ui_signals_desktop.png")
    assert trader.console.take() == []


def test_the_queue_badge_counts_down_to_queued_until_after_a_repeated_signal(
    desk: Desk, trader: Session
) -> None:
    def queued() -> dict[str, Any] | None:
        now = desk.market_now()
        return next(
            (
                s
                for s in desk.signals()
                if s["status"] == "queued"
                and dt.datetime.fromisoformat(s["queued_until"]) > now + dt.timedelta(minutes=30)
            ),
            None,
        )

    signal = eventually(queued, timeout=90, interval=1, message="a signal queued by anti-churn")
    assert signal is not None
    page = trader.page
    page.goto(f"{desk.base}/ui/#/signals?symbol={signal['symbol']}&direction={signal['side']}")
    badge = page.locator(f'[data-signal-id="{signal["id"]}"] .badge.queue')
    expect(badge).to_have_text(re.compile(r"^QUEUE (\d+:)?\d\d:\d\d$"), timeout=10_000)
    before = badge.text_content()
    expect(badge).not_to_have_text(before or "", timeout=5_000)  # it ticks (market time, speed 60)
    shot(page, "ui_queue_desktop.png")
    assert trader.console.take() == []


def test_filters_live_in_the_url_and_survive_a_reload_and_an_ended_session(
    desk: Desk, trader: Session
) -> None:
    page = trader.page
    page.goto(f"{desk.base}/ui/#/signals")
    first = page.locator("#tiles-window .tile").first
    expect(first).to_be_visible(timeout=30_000)
    symbol, side = first.evaluate("(t) => [t.dataset.symbol, t.querySelector('.side').textContent]")
    page.locator("#filter-symbol").select_option(symbol)
    page.locator("#filter-direction").select_option(side)
    page.locator("#filter-min-p").fill("10")
    wanted = f"#/signals?symbol={symbol}&direction={side}&min_probability=0.1"
    expect(page).to_have_url(re.compile(re.escape(wanted) + "$"))
    expect(page.locator("#nav-signals")).to_have_attribute("href", wanted)  # the way back keeps them too
    tiles = page.locator("#tiles-window .tile")
    expect(tiles.first).to_be_visible()
    assert set(tiles.evaluate_all("(ts) => ts.map((t) => t.dataset.symbol)")) == {symbol}

    page.reload()
    expect(page.locator("#app-shell")).to_be_visible(timeout=10_000)
    expect(page.locator("#filter-symbol")).to_have_value(symbol)
    expect(page.locator("#filter-direction")).to_have_value(side)
    expect(page.locator("#filter-min-p")).to_have_value("10")

    trader.context.clear_cookies()  # the session is gone (as after its refresh token expired)
    # the page's next request (its feed poll, every 5 s) meets no session: back to the login screen
    expect(page.locator("#view-login")).to_be_visible(timeout=10_000)
    expect(page.locator("#login-message")).to_contain_text("Your session ended")
    assert page.url.endswith(wanted)  # the filters were not lost
    ui_login(page, desk.base, desk.trader, here=True)
    expect(page).to_have_url(re.compile(re.escape(wanted) + "$"))
    expect(page.locator("#filter-symbol")).to_have_value(symbol)
    expect(page.locator("#filter-direction")).to_have_value(side)
    expect(page.locator("#tiles-window .tile").first).to_have_attribute("data-symbol", symbol)
    # the requests that met the ended session answered 401 (logged by the browser); nothing else failed
    assert [e for e in trader.console.take() if "401" not in e] == []


def _placeable(desk: Desk, tried: set[str]) -> dict[str, Any] | None:
    now = desk.market_now()
    for signal in desk.signals():
        created = dt.datetime.fromisoformat(signal["created_at"])
        if (
            signal["status"] == "new"
            and signal["symbol"] in PLACEABLE
            and signal["id"] not in tried
            and now - created < dt.timedelta(minutes=40)
        ):
            return signal
    return None


def _place_one(desk: Desk, page: Page) -> str:
    """Open fresh signals until one fills (filled or partial); return its id."""
    tried: set[str] = set()
    for _attempt in range(8):
        signal = eventually(lambda: _placeable(desk, tried), timeout=90, interval=1, message="a new signal")
        assert signal is not None
        tried.add(signal["id"])
        page.goto(f"{desk.base}/ui/#/signals?symbol={signal['symbol']}&direction={signal['side']}")
        tile = page.locator(f'[data-signal-id="{signal["id"]}"]')
        expect(tile).to_be_visible(timeout=10_000)
        tile.click()
        verdict = page.locator("#preview-verdict")
        expect(verdict).to_have_text(re.compile(r"^Risk check: "), timeout=10_000)
        if verdict.text_content() != "Risk check: allowed.":
            page.locator("#modal-close").click()
            continue
        base = signal["symbol"].removesuffix("USDT")
        expect(page.locator('#preview-table [data-field="Quantity"]')).to_have_text(
            re.compile(rf"^[\d.]+ {base}$")
        )
        expect(page.locator('#preview-table [data-field="Risk"]')).to_have_text(
            re.compile(r" USD · [\d.]+ R$")
        )
        expect(page.locator('#preview-table [data-field="Heat after"]')).to_have_text(
            re.compile(r"^[\d.]+ R · ")
        )
        expect(page.locator('#preview-table [data-field="Per-base usage after"]')).to_have_text(
            re.compile(rf"^\d of \d on {base} {signal['side']}$")
        )
        expect(page.get_by_role("button", name="Place order")).to_have_count(1)  # ONE place button
        assert page.evaluate(_CONTRAST_JS, "#modal " + TEXT.replace(", ", ", #modal ")) == []
        shot(page, "ui_modal_desktop.png")
        page.locator("#place-order").click()
        outcome = page.locator("#order-outcome")
        expect(outcome).to_have_attribute("data-status", re.compile(r"."), timeout=30_000)
        status = outcome.get_attribute("data-status") or ""
        assert outcome.text_content(), "the outcome is told in words"
        if status in ("filled", "partial"):
            expect(outcome).to_contain_text(re.compile(r"^(Filled|Partly filled)"))
            expect(tile.locator(".badge.plain")).to_have_text("PLACED")
            shot(page, "ui_place_order_desktop.png")
            page.locator("#modal-close").click()
            return str(signal["id"])
        page.locator("#modal-close").click()  # expired on the moving book (or refused): the next signal
    raise AssertionError("no signal filled in eight tries")


def _scroll_to(row: Locator) -> None:
    """Scroll a table row into view; a live update may redraw the row under the action, so try again."""
    for attempt in range(3):
        try:
            row.scroll_into_view_if_needed(timeout=5_000)
            return
        except PlaywrightError:
            if attempt == 2:
                raise


def _trade_once(desk: Desk, page: Page) -> str | None:
    """Place, read the open row, close it with a reason; return the position id, or None when the market's
    own stop or take-profit closed it first (at speed 60 a minute of market passes every wall second)."""
    signal_id = _place_one(desk, page)
    row = page.locator(f'#position-rows tr[data-signal-id="{signal_id}"]')
    expect(row).to_be_visible(timeout=10_000)
    position_id = row.get_attribute("data-position-id")
    try:
        expect(row.locator(".pstatus")).to_have_text(re.compile(r"^(open|partial accepted)$"), timeout=15_000)
        pnl = row.locator('[data-field="pnl"]')
        expect(pnl).to_have_text(re.compile(r"^[+-]?\d+\.\d\d$"), timeout=10_000)
        expect(row.locator(".funding-in")).to_have_text(re.compile(r"^\d+:\d\d"))
        _scroll_to(row)
        shot(page, "ui_positions_desktop.png")
        row.get_by_role("button", name=re.compile("^close ")).click(timeout=5_000)
        expect(page.locator("#close-dialog")).to_be_visible()
        page.locator("#close-reason").select_option("time_exit")
        shot(page, "ui_close_desktop.png")
        page.locator("#close-confirm").click()
        closed = page.locator(f'#closed-rows tr[data-position-id="{position_id}"]')
        expect(closed).to_have_attribute("data-status", "closed", timeout=30_000)
    except (AssertionError, PlaywrightError):
        if desk.admin.get(f"/positions/{position_id}").json()["position"]["status"] != "closed":
            raise
    stored = desk.admin.get(f"/positions/{position_id}").json()["position"]
    if stored["close_reason"] == "time_exit":
        return position_id
    if page.locator("#close-dialog").is_visible():
        page.locator("#close-cancel").click()
    return None


def test_preview_place_see_the_position_close_it_with_a_reason_and_read_the_closed_pnl(
    desk: Desk, trader: Session
) -> None:
    page = trader.page
    position_id = None
    for _attempt in range(4):
        position_id = _trade_once(desk, page)
        if position_id is not None:
            break
    assert position_id is not None, "the market closed every position before the click did"
    closed = page.locator(f'#closed-rows tr[data-position-id="{position_id}"]')
    expect(page.locator(f'#position-rows tr[data-position-id="{position_id}"]')).to_have_count(0)
    expect(closed.locator('[data-field="pnl"]')).to_have_text(re.compile(r"^[+-]?\d+\.\d\d$"))
    expect(closed.locator('[data-field="fees"]')).to_have_text(re.compile(r"^-?\d+\.\d\d$"))
    expect(closed.locator('[data-field="funding"]')).to_have_text(re.compile(r"^-?\d+\.\d\d$"))
    expect(closed.locator('[data-field="slippage"]')).to_have_text(
        re.compile(r"^-?\d+\.\d / (—|-?\d+\.\d)$"), timeout=10_000
    )
    expect(closed).to_contain_text("time exit")
    assert page.evaluate(_CONTRAST_JS, TEXT) == []  # gains, losses and dim cells in the tables too
    _scroll_to(closed)
    shot(page, "ui_closed_desktop.png")
    # a stop or take-profit that beat a click is refused in words (409) in the dialog: not a page error
    assert [e for e in trader.console.take() if "409" not in e] == []


def test_the_phone_layout_has_no_horizontal_overflow(desk: Desk, chromium: Browser, trader: Session) -> None:
    context = chromium.new_context(viewport=PHONE, storage_state=trader.context.storage_state())
    page = context.new_page()
    console = Console(page)
    page.goto(f"{desk.base}/ui/#/signals")
    expect(page.locator("#app-shell")).to_be_visible(timeout=10_000)
    expect(page.locator("#tiles-window .tile").first).to_be_visible(timeout=30_000)
    no_horizontal_overflow(page)
    shot(page, "ui_signals_phone.png")
    page.locator("#tiles-window .tile").first.click()
    expect(page.locator("#modal")).to_be_visible()
    expect(page.locator("#preview-verdict")).to_have_text(re.compile(r"^Risk check: "), timeout=10_000)
    no_horizontal_overflow(page)
    shot(page, "ui_modal_phone.png")
    page.keyboard.press("Escape")
    page.locator("#closed-positions").scroll_into_view_if_needed()
    no_horizontal_overflow(page)  # the wide tables scroll inside their own box
    shot(page, "ui_positions_phone.png")
    context.close()

    login = chromium.new_context(viewport=PHONE).new_page()
    login_console = Console(login)
    login.goto(f"{desk.base}/ui/")
    expect(login.locator("#view-login")).to_be_visible()
    no_horizontal_overflow(login)
    shot(login, "ui_login_phone.png")
    login.context.close()
    assert console.take() == login_console.take() == []


def test_a_viewer_sees_no_place_button_and_the_api_refuses_the_click(desk: Desk, chromium: Browser) -> None:
    context = chromium.new_context(viewport=DESKTOP)
    page = context.new_page()
    console = Console(page)
    ui_login(page, desk.base, desk.viewer)  # no authenticator code: TOTP is for traders and admins (U-05)
    expect(page.locator("#who")).to_have_text(f"{desk.viewer.email} · viewer")
    tile = page.locator("#tiles-window .tile").first
    expect(tile).to_be_visible(timeout=30_000)
    tile.click()
    expect(page.locator("#modal")).to_be_visible()
    expect(page.locator("#modal-note")).to_have_text(re.compile("placing orders is for traders"))
    expect(page.get_by_role("button", name="Place order")).to_have_count(0)
    expect(page.locator("#preview")).to_be_hidden()
    page.keyboard.press("Escape")
    expect(page.locator("#position-rows button")).to_have_count(0)  # no close button either
    signal_id = tile.get_attribute("data-signal-id")
    with httpx.Client(base_url=desk.base, timeout=20) as api:
        login_sync(api, desk.viewer)
        api.headers["Authorization"] = f"Bearer {desk.viewer.tokens['access_token']}"
        refused = api.post("/positions/open", json={"signal_id": signal_id})
    assert refused.status_code == 403, refused.text
    context.close()
    assert console.take() == []


def test_forgot_password_mails_a_link_that_resets_it(desk: Desk, chromium: Browser) -> None:
    context = chromium.new_context(viewport=DESKTOP)
    page = context.new_page()
    console = Console(page)
    page.goto(f"{desk.base}/ui/")
    page.locator("#forgot-link").click()
    expect(page.locator("#view-forgot")).to_be_visible()
    page.locator("#forgot-email").fill(desk.viewer.email)
    page.locator("#forgot-submit").click()
    expect(page.locator("#forgot-message")).to_contain_text("a reset link is on its way")
    shot(page, "ui_forgot_desktop.png")
    link = eventually(
        lambda: mailed_link(desk.system, desk.viewer.email, RESET_SUBJECT),
        timeout=10,
        message="the reset mail",
    )
    assert link is not None
    assert "#/reset?token=" in link
    page.goto(link)
    expect(page.locator("#view-reset")).to_be_visible()
    shot(page, "ui_reset_desktop.png")
    page.locator("#reset-password").fill("too-short1")
    page.locator("#reset-submit").click()
    expect(page.locator("#reset-message")).to_contain_text("at least 12 characters")
    desk.viewer.password = "another-Zebra-pasture-77"
    page.locator("#reset-password").fill(desk.viewer.password)
    page.locator("#reset-submit").click()
    expect(page.locator("#login-message")).to_have_text(
        "Password changed: log in with the new password and a code."
    )
    assert "token=" not in page.url  # the one-time token left the address bar
    ui_login(page, desk.base, desk.viewer, here=True)
    expect(page.locator("#who")).to_contain_text(desk.viewer.email)
    expect(page.locator("#stream-state")).to_have_text("stream: live", timeout=15_000)
    expect(page.locator("#tiles-window .tile").first).to_be_visible(timeout=15_000)
    page.locator("#logout").click()  # the session ends on the server and the page shows the login
    expect(page.locator("#view-login")).to_be_visible(timeout=10_000)
    assert page.url.endswith("#/login")
    assert [c["name"] for c in context.cookies() if c["name"].startswith("algogrid_")] == []
    context.close()
    assert [e for e in console.take() if "422" not in e] == []  # the short password's refusal is a 422


def _insert_signals(db_url: str, symbol: str, count: int, newest: dt.datetime) -> None:
    rows = [
        (
            str(uuid.uuid4()),
            symbol,
            newest - dt.timedelta(seconds=i),
        )
        for i in range(count)
    ]
    with psycopg2.connect(db_url) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO signals (id, symbol, side, entry, tp1, tp2, tp3, sl, qty, risk_usd, risk_r, p_win, "
            "strategy, strategy_version, status, bar_start, created_at) VALUES "
            "(%s, %s, 'long', 100, 101, 102, 103, 99, 1, 25, 1, 0.6, 'AVI-5', 'test', 'expired', %s, %s)",
            [(i, s, at, at) for i, s, at in rows],
        )
    conn.close()


def test_virtual_scrolling_keeps_only_the_rows_in_view_in_the_page(desk: Desk, trader: Session) -> None:
    _insert_signals(desk.db_url, "LTCUSDT", 400, desk.market_now())  # a long list (old, expired signals)
    # rows written straight to PostgreSQL announce nothing: wait out the gateway's 1-s read cache of /signals
    eventually(
        lambda: sum(s["symbol"] == "LTCUSDT" for s in desk.signals()) >= 400,
        timeout=10,
        interval=0.2,
        message="the inserted signals served by /signals",
    )
    page = trader.page
    page.goto(f"{desk.base}/ui/#/signals?symbol=LTCUSDT")
    page.reload()
    expect(page.locator("#signal-count")).to_have_text(re.compile(r"^(4\d\d|500) of "), timeout=15_000)
    shown = int((page.locator("#signal-count").text_content() or "0").split()[0])
    tiles = page.locator("#tiles-window .tile")
    expect(tiles.first).to_be_visible()
    columns = page.evaluate("getComputedStyle(document.getElementById('tiles-window')).gridTemplateColumns")
    cols = len(columns.split())
    rendered = tiles.count()
    assert rendered <= 6 * cols < shown, f"{rendered} tiles in the DOM for {shown} signals"
    height = page.evaluate("document.getElementById('tiles-spacer').offsetHeight")
    assert height >= (shown // cols) * 200  # the scroll box is as tall as the whole list

    first_id = tiles.first.get_attribute("data-signal-id")
    page.evaluate("document.getElementById('tiles').scrollTop = 1e9")
    last = page.locator("#tiles-window .tile").last
    expect(last).to_be_visible()
    expect(page.locator(f'#tiles-window [data-signal-id="{first_id}"]')).to_have_count(0)
    assert page.locator("#tiles-window .tile").count() <= 6 * cols
    assert trader.console.take() == []
