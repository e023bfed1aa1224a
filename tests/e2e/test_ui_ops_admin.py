"""The operator and admin screens in headless Debian Chromium against a real ``algogrid run --dev`` (G-04,
R-04, U-05, S-05, S-07, U-01, U-08, U-11, DESIGN §4).

One running system for the module: ``algogrid run --dev`` as a subprocess on the harness's PostgreSQL and
Redis, its gateway validating API keys against ``algogrid simulator`` (a Bybit-v5 venue on loopback, started
first). The admin is made the product's way (the first admin's link on stdout), everything else happens in
the browser: the admin creates users (the trader activates from the link the screen shows), changes a role,
deactivates, adds and rotates an API key (whose secret never reaches the DOM), reviews and applies a settings
diff and finds it in the audit log; reads the metrics (checked against the API); crashes an actor from the
tree; is refused with a plain message for a wrong authenticator code and engages the kill switch — which a
trader, in a second browser context, sees in the banner. Every page is checked at 1366×768 and 390×844 for
horizontal overflow, the banner's controls are reached by keyboard with a visible focus ring, text contrast
is AA, and no page logs a console error.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import psycopg2
import pytest
import yaml

from tests.support import eventually
from tests.support.auth import Account, activate_sync, token_of_link
from tests.support.browser import (
    IMAGES,
    browser_marks,
    launch_chromium,
    plain_asyncio_loop,
    ui_activate,
    ui_login,
)
from tests.support.system import RunningSystem, first_admin_link

try:
    from playwright.sync_api import BrowserContext, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parents[2]
KEY, SECRET = "uikey-0001", "uisecret-0001-abcdef"
KEY2, SECRET2 = "uikey-0002", "uisecret-0002-ghijkl"
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
PAGES = ("ops", "supervision", "admin")  # the trader's pages (signals) have their own browser tests

pytestmark = [pytest.mark.slow, *browser_marks(sync_playwright is not None)]


# ------------------------------------------------------------------------------------------------ system


@pytest.fixture
def venue() -> Iterator[str]:
    """``algogrid simulator`` with the first key's account; yield its REST URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "algogrid.cli", "simulator", "--api-key", KEY, "--api-secret", SECRET],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        url = ""
        for line in proc.stdout:
            if line.startswith("rest_url="):
                url = line.strip().removeprefix("rest_url=")
                break
        assert url, "the simulator printed no rest_url"
        drain = threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True)  # type: ignore[union-attr]
        drain.start()  # a full pipe would stall the venue
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.fixture
def started(
    migrated_db_url: str, redis_clean_url: str, tmp_path: Path, venue: str
) -> Iterator[RunningSystem]:
    config = tmp_path / "settings.yaml"
    config.write_text(yaml.safe_dump({"symbols": ["BTCUSDT", "ETHUSDT"]}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALGOGRID_")}
    env.update(
        DATABASE_URL=migrated_db_url, REDIS_URL=redis_clean_url,
        ALGOGRID_LOGGING__FILE=str(tmp_path / "log" / "algogrid.jsonl"),
        ALGOGRID_EXCHANGE__REST_URL=venue,  # where the gateway validates a new API key (U-08)
        ALGOGRID_GATEWAY__IP_RATE_LIMIT_PER_MIN="100000",  # three browsers polling from one address
    )  # fmt: skip
    args = ["--config", str(config), "--port", "0", "--dev", "--data-dir", str(tmp_path / "data")]
    system = RunningSystem(args, env)
    try:
        yield system
    finally:
        system.close()


def seed_history(db_url: str) -> None:
    """Store what the metrics read: three closed trades, four fills' slippage and a calibration run."""
    now = dt.datetime.now(dt.UTC)
    with psycopg2.connect(db_url) as conn, conn.cursor() as cur:
        for i, (pnl, fees) in enumerate([("50", "1"), ("-25", "1"), ("40", "2")]):
            cur.execute(
                "INSERT INTO positions (id, symbol, side, status, requested_size_base, executed_size_base, "
                "fill_ratio, avg_entry_price, risk_usd, pnl_usd, fees_usd, opened_at, closed_at, "
                "close_reason) VALUES (gen_random_uuid(), 'SOLUSDT', 'long', 'closed', 1, 1, 1, 100, 25, "
                "%s, %s, %s, %s, 'manual')",
                (Decimal(pnl), Decimal(fees), now - dt.timedelta(hours=5 - i),
                 now - dt.timedelta(hours=4 - i)),
            )
        for actual, modelled in [("1.5", "2"), ("3.5", "2"), ("-1", "3"), ("6", "3")]:
            cur.execute(
                "INSERT INTO slippage_log (symbol, side, leg, requested_price, avg_fill_price, qty, "
                "slippage_bps, modelled_bps) VALUES ('SOLUSDT', 'long', 'entry', 100, 100, 1, %s, %s)",
                (Decimal(actual), Decimal(modelled)),
            )
        cur.execute(
            "INSERT INTO calibration_runs (start_date, end_date, total_days, progress_days, "
            "triggered_by_name) VALUES ('2024-01-01', '2024-07-01', 182, 91, 'cli')"
        )
    conn.close()


# ------------------------------------------------------------------------------------------------ browser


class Console:
    """Console errors and page errors of every page of a context (after login: the login screen's probe of
    ``/auth/me`` answers 401 by design)."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page: Page) -> Page:
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: {exc}"))
        page.on(
            "console",
            lambda m: self.errors.append(f"{m.location.get('url')}: {m.text}") if m.type == "error" else None,
        )
        return page

    def take(self, ending: str, status: int) -> None:
        """Remove the one error Chromium logs for a refusal the test caused on purpose."""
        found = [
            e for e in self.errors if e.split(": ", 1)[0].endswith(ending) and f"status of {status}" in e
        ]
        assert len(found) == 1, self.errors
        self.errors.remove(found[0])


def no_overflow(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url}: {width} px wide"  # type: ignore[index]


def show(page: Page, view: str) -> None:
    page.evaluate(f"location.hash = '#/{view}'")
    expect(page.locator(f"#view-{view}")).to_be_visible()


_CONTRAST = """(selectors) => {
  const lum = (rgb) => {
    const [r, g, b] = rgb.map((c) => {
      c /= 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const parse = (text) => text.match(/[\\d.]+/g).map(Number);
  const background = (node) => {
    for (let n = node; n; n = n.parentElement) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c.length === 3 || c[3] === 1) return c.slice(0, 3);
    }
    return parse(getComputedStyle(document.body).backgroundColor).slice(0, 3);
  };
  const out = {};
  for (const sel of selectors) {
    const node = document.querySelector(sel);
    if (!node) continue;
    const fg = lum(parse(getComputedStyle(node).color).slice(0, 3));
    const bg = lum(background(node));
    out[sel] = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
  }
  return out;
}"""


def assert_aa_contrast(page: Page, selectors: list[str]) -> None:
    ratios: dict[str, float] = page.evaluate(_CONTRAST, selectors)
    assert ratios, selectors
    low = {sel: round(r, 2) for sel, r in ratios.items() if r < 4.5}
    assert not low, f"below WCAG AA 4.5:1: {low}"


def check_admin_screens(page: Page, base: str, venue: str) -> Account:
    """Users, API keys, settings diff and the audit log; return the trader the admin created."""
    show(page, "admin")
    expect(page.locator("#users tbody tr").first).to_be_visible()
    assert_aa_contrast(page, [
        "#ks-state", "#ks-detail", "#ks-action", "#user-form button[type=submit]", ".ops-table th",
        ".ops-table td", ".cfg-field label", ".cfg-section legend", "#audit-form label",
    ])  # fmt: skip
    trader_email = f"trader-{time.time_ns() % 10**8}@example.com"
    leaver_email = f"leaver-{time.time_ns() % 10**8}@example.com"
    for email in (trader_email, leaver_email):
        page.locator("#user-email").fill(email)
        page.locator("#user-role").select_option("viewer")
        page.locator("#user-form button[type=submit]").click()
        expect(page.locator("#user-message")).to_contain_text(f"Created {email}.")
        if email == trader_email:
            link = page.locator("#user-message code.link").text_content()
    trader_row = page.locator(f'#users tr[data-email="{trader_email}"]')
    trader_row.locator("select.user-role").select_option("trader")
    expect(page.locator("#user-message")).to_contain_text(f"{trader_email} is now trader.")
    expect(trader_row.locator("select.user-role")).to_have_value("trader")
    leaver_row = page.locator(f'#users tr[data-email="{leaver_email}"]')
    leaver_row.locator('[data-action="deactivate"]').click()
    expect(leaver_row).to_have_attribute("data-active", "false")
    expect(leaver_row.locator(".ustatus")).to_have_text("inactive")
    leaver_row.locator('[data-action="reset"]').click()  # reset 2FA: a new one-time set-up link
    message = page.locator("#user-message")
    expect(message).to_contain_text(f"{leaver_email} must set up password and 2FA again.")
    expect(page.locator("#user-message code.link")).to_contain_text("/ui/#/activate?token=")
    with httpx.Client(base_url=base, timeout=10) as anonymous:  # the trader opens the link passed on
        assert link is not None
        trader = activate_sync(anonymous, token_of_link(link), trader_email, "trader")

    # API keys: added (validated by the venue), rotated, deactivated; the secret never comes back.
    page.locator("#key-label").fill("main")
    page.locator("#key-key").fill(KEY)
    page.locator("#key-secret").fill(SECRET)
    page.locator("#key-submit").click()
    expect(page.locator("#key-message")).to_contain_text("Added main (…0001)", timeout=15_000)
    expect(page.locator('#keys tr[data-label="main"]')).to_have_attribute("data-active", "true")
    httpx.post(f"{venue}/sim/accounts", json={"api_key": KEY2, "api_secret": SECRET2}).raise_for_status()
    page.locator('#keys tr[data-label="main"] [data-action="rotate"]').click()
    expect(page.locator("#key-label")).to_have_value("main-rotated")
    page.locator("#key-key").fill(KEY2)
    page.locator("#key-secret").fill(SECRET2)
    page.locator("#key-submit").click()
    expect(page.locator("#key-message")).to_contain_text("Rotated to main-rotated (…0002)", timeout=15_000)
    expect(page.locator('#keys tr[data-label="main"]')).to_have_attribute("data-active", "false")
    rotated = page.locator('#keys tr[data-label="main-rotated"]')
    expect(rotated).to_have_attribute("data-active", "true")
    assert_no_secret(page)
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / "ui_admin.png"), full_page=True)
    rotated.locator('[data-action="deactivate"]').click()
    expect(rotated).to_have_attribute("data-active", "false")

    # Settings: the diff is shown before anything is applied; then the audit viewer lists the change.
    field = page.locator("#cfg-risk-max_concurrent_positions")  # a hot key: the engine takes it at once
    before = field.input_value()
    after = str(int(before) + 2)
    field.fill(after)
    page.locator("#settings-form button[type=submit]").click()
    change = page.locator('#config-diff tr[data-change="risk.max_concurrent_positions"]')
    expect(change.locator(".old")).to_have_text(before)
    expect(change.locator(".new")).to_have_text(after)
    expect(page.locator("#config-diff tbody tr")).to_have_count(1)  # nothing else would change
    page.screenshot(path=str(IMAGES / "ui_admin_settings_diff.png"))
    page.locator("#settings-apply").click()
    expect(page.locator("#settings-message")).to_have_text(
        "Saved and audited. Applied now: risk.max_concurrent_positions."
    )
    expect(page.locator("#cfg-risk-max_concurrent_positions-saved")).to_have_text(f"saved: {after}")
    expect(page.locator("#settings-review")).to_be_hidden()

    page.locator("#audit-action").fill("config")
    page.locator("#audit-form button[type=submit]").click()
    rows = page.locator("#audit tbody tr[data-action]")
    expect(page.locator("#audit tbody tr[data-action]:not([data-action^='config'])")).to_have_count(0)
    changed = page.locator('#audit tbody tr[data-action="config_changed"]')
    expect(changed).to_have_count(1)
    expect(changed.locator(".details")).to_contain_text(f'"changed":{{"max_concurrent_positions":{after}}}')
    expect(changed.locator(".actor")).to_have_text(page.locator("#who").text_content().split(" · ")[0])
    page.locator("#audit-action").fill("")
    page.locator("#audit-actor").fill("nobody@example.com")
    page.locator("#audit-form button[type=submit]").click()
    expect(page.locator("#audit tbody")).to_have_text("no matching entries")
    page.locator("#audit-actor").fill("")
    page.locator("#audit-action").fill("user_")
    page.locator("#audit-form button[type=submit]").click()
    expect(rows.first).to_have_attribute("data-action", re.compile(r"^user_"))
    assert_no_secret(page)
    return trader


def assert_no_secret(page: Page) -> None:
    html = page.content()
    values = page.evaluate("[...document.querySelectorAll('input')].map(i => i.value).join(' ')")
    for secret in (SECRET, SECRET2):
        assert secret not in html
        assert secret not in values


def check_metrics(page: Page) -> None:
    show(page, "ops")
    api = page.request.get(page.url.split("/ui")[0] + "/admin/status").json()
    assert api["trades"] == 3
    for key in ("win_rate", "profit_factor", "max_drawdown_pct", "net_expectancy_r", "median_slippage_bps",
                "median_modelled_slippage_bps", "trades"):  # fmt: skip
        card = page.locator(f'#metrics [data-metric="{key}"]')
        expect(card).to_have_attribute("data-value", str(api[key]) if api[key] is not None else "")
    expect(page.locator('[data-metric="win_rate"] .metric-value')).to_have_text(
        f"{Decimal(api['win_rate']) * 100:.1f} %"
    )
    for key in ("median_slippage_bps", "median_modelled_slippage_bps"):  # (1.5 + 3.5) / 2 and (2 + 3) / 2
        expect(page.locator(f'[data-metric="{key}"] .metric-value')).to_have_text("2.50 bps")
    forward = page.request.get(page.url.split("/ui")[0] + "/admin/forward").json()
    expect(page.locator("#forward-text")).to_have_text(forward["progress"])
    expect(page.locator("#calibration tr[data-version]", has_text="91/182 days")).to_have_count(1)
    expect(page.locator("#recon-summary")).to_contain_text("Last pass:")
    page.screenshot(path=str(IMAGES / "ui_ops.png"), full_page=True)


def check_tree_reacts_to_a_crash(page: Page) -> None:
    show(page, "supervision")
    node = page.locator('[data-path="root/symbols/BTCUSDT/feed"]')
    expect(node).to_have_attribute("data-status", "running", timeout=15_000)
    before = int(node.locator(".restarts").get_attribute("data-restarts") or "0")
    expect(node.locator(".mailbox")).to_have_attribute("data-mailbox", re.compile(r"^\d+$"))
    node.locator("button.danger").click()  # POST /admin/faults {"kind": "crash"}
    expect(node.locator(".restarts")).to_have_attribute("data-restarts", str(before + 1), timeout=10_000)
    expect(node.locator(".restarts")).to_have_class(re.compile(r"\bhot\b"))
    expect(node.locator(".failure")).to_contain_text("InjectedFault at ")
    expect(node).to_have_attribute("data-status", "running", timeout=10_000)
    page.screenshot(path=str(IMAGES / "ui_ops_tree.png"), full_page=True)


def tab_to(page: Page, element_id: str) -> None:
    """Press Tab until ``element_id`` has the focus (keyboard reachable) and check its focus ring shows."""
    for _ in range(40):
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            break
        page.keyboard.press("Tab")
    else:
        raise AssertionError(f"#{element_id} is not reachable with Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none"), f"#{element_id} shows no focus ring"


def check_kill_switch(page: Page, admin: Account, trader_context: BrowserContext, base: str, trader: Account,
                      console: Console) -> None:  # fmt: skip
    show(page, "signals")
    banner = page.locator("#ks-banner")
    expect(banner).to_have_attribute("data-state", "ACTIVE")
    page.focus("#nav-signals")  # from the first link of the page, by keyboard only
    tab_to(page, "ks-action")
    page.keyboard.press("Enter")
    expect(page.locator("#reauth")).to_be_visible()
    assert page.evaluate("document.activeElement.id") == "reauth-reason"
    page.locator("#reauth-reason").fill("exchange incident")
    page.locator("#reauth-state").select_option("halted")
    page.locator("#reauth-password").fill(admin.password)
    assert admin.totp_secret is not None
    import pyotp

    from gateway.auth.totp import STEP_S

    far = pyotp.TOTP(admin.totp_secret).at(time.time() + 120 * STEP_S)  # well-formed, not valid now
    page.locator("#reauth-code").fill(far)
    page.locator("#reauth-submit").click()
    expect(page.locator("#reauth-message")).to_have_text(
        "Not done: re-authentication failed: the password or the authenticator code is wrong."
    )
    expect(banner).to_have_attribute("data-state", "ACTIVE")
    console.take("/admin/kill_switch", 403)  # the refusal, logged by Chromium for any 4xx answer
    assert page.locator("#reauth-password").input_value() == ""  # the secret left the form
    page.screenshot(path=str(IMAGES / "ui_reauth.png"))
    page.locator("#reauth-password").fill(admin.password)
    time.sleep(admin.wait_for_code_s())  # TOTP is wall time: this step's codes went to activation and login
    page.locator("#reauth-code").fill(admin.code())
    page.locator("#reauth-submit").click()
    expect(page.locator("#reauth")).to_be_hidden()
    expect(banner).to_have_attribute("data-state", "HALTED")
    expect(page.locator("#ks-detail")).to_contain_text(f"set by {admin.email} at ")
    expect(page.locator("#ks-detail")).to_contain_text("reason: exchange incident")
    expect(page.locator("#ks-action")).to_have_text("Release kill switch")

    other = trader_context.new_page()
    ui_login(other, base, trader)
    console.watch(other)
    seen = other.locator("#ks-banner")
    expect(seen).to_have_attribute("data-state", "HALTED", timeout=10_000)
    expect(other.locator("#ks-state")).to_have_text("Kill switch engaged: HALTED")
    expect(other.locator("#ks-detail")).to_contain_text(f"set by {admin.email}")
    expect(other.locator("#ks-detail")).to_contain_text("reason: exchange incident")
    expect(other.locator("#ks-action")).to_be_hidden()  # traders read it; only admins change it
    expect(other.locator("#nav-admin")).to_be_hidden()
    expect(other.locator("#nav-ops")).to_be_visible()
    other.screenshot(path=str(IMAGES / "ui_killswitch_trader.png"))
    show(other, "admin")  # typed into the address bar: refused in words, no admin route is asked
    refusal = other.locator("#view-admin .ops-denied")
    expect(refusal).to_have_text("Your role (trader) may not open this page.")
    show(other, "ops")
    expect(other.locator('#metrics [data-metric="trades"]')).to_have_attribute("data-value", "3")
    assert_aa_contrast(other, ["#ks-state", "#ks-detail", ".metric-label", ".metric-value", ".ops-table th"])


def check_phone(context: BrowserContext, base: str, console: Console, admin: Account) -> None:
    page = console.watch(context.new_page())
    page.goto(f"{base}/ui/#/ops")
    expect(page.locator("#app-shell")).to_be_visible(timeout=10_000)
    for view in PAGES:
        show(page, view)
        expect(page.locator("#ks-banner")).to_be_visible()
        if view == "supervision":
            expect(page.locator('[data-path="root/symbols/BTCUSDT/feed"]')).to_be_visible(timeout=10_000)
        if view == "admin":
            expect(page.locator("#users tbody tr").first).to_be_visible(timeout=10_000)
        if view == "ops":
            expect(page.locator('#metrics [data-metric="trades"]')).to_be_visible(timeout=10_000)
        no_overflow(page)
        page.screenshot(path=str(IMAGES / f"ui_{view}_phone.png"), full_page=view != "admin")
    release_on_the_phone(page, admin)
    page.close()


def release_on_the_phone(page: Page, admin: Account) -> None:
    """The admin releases the kill switch from the phone: the same re-authentication, ACTIVE for everyone."""
    expect(page.locator("#ks-action")).to_have_text("Release kill switch")
    page.locator("#ks-action").click()
    expect(page.locator("#reauth-title")).to_have_text("Release the kill switch")
    expect(page.locator("#reauth-state-row")).to_be_hidden()  # releasing has no mode to choose
    page.locator("#reauth-reason").fill("incident over")
    page.locator("#reauth-password").fill(admin.password)
    time.sleep(admin.wait_for_code_s())  # TOTP is wall time: the admin waits for the phone's next code
    page.locator("#reauth-code").fill(admin.code())
    no_overflow(page)
    page.locator("#reauth-submit").click()
    expect(page.locator("#ks-banner")).to_have_attribute("data-state", "ACTIVE")
    expect(page.locator("#ks-detail")).to_contain_text("reason: incident over")
    expect(page.locator("#ks-action")).to_have_text("Engage kill switch")


def drive(base: str, venue: str, admin: Account, token: str) -> None:
    assert sync_playwright is not None
    plain_asyncio_loop()
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            console = Console()
            context = browser.new_context(viewport=DESKTOP)
            page = context.new_page()
            ui_activate(page, base, token, admin)  # the first admin's link, in the UI
            ui_login(page, base, admin)
            console.watch(page)
            expect(page.locator("#nav-admin")).to_be_visible()
            trader = check_admin_screens(page, base, venue)
            check_metrics(page)
            check_tree_reacts_to_a_crash(page)
            for view in PAGES:  # 1366×768: nothing wider than the window
                show(page, view)
                no_overflow(page)
            trader_context = browser.new_context(viewport=DESKTOP)
            check_kill_switch(page, admin, trader_context, base, trader, console)
            phone = browser.new_context(viewport=PHONE, storage_state=context.storage_state())
            check_phone(phone, base, console, admin)
            assert console.errors == []
        finally:
            browser.close()


def test_operator_and_admin_screens_end_to_end(
    started: RunningSystem, migrated_db_url: str, venue: str
) -> None:
    ready = eventually(lambda: started.line("ready"), timeout=90, interval=0.1, message="ready line")
    base = ready["url"]
    link = eventually(lambda: first_admin_link(started), timeout=10, message="the first admin's link")
    seed_history(migrated_db_url)
    with httpx.Client(base_url=base, timeout=10) as client:
        eventually(lambda: client.get("/ready").status_code == 200, timeout=60, message="/ready 200")
    admin = Account(email="admin@localhost.localdomain", role="admin")
    drive(base, venue, admin, token_of_link(link))
