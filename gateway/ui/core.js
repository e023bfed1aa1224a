// algogrid UI — what every screen shares: element helpers, the JSON fetch through the session, the two
// clocks, and how times and money are written. Loaded first; defines globals only (no work at load time).
//
// Two time bases. Signal ages, queue ends and funding times are MARKET time: in simulation the market runs
// `speed` times faster than the wall clock. The gateway reports {market_time, wall_time, speed} at GET /time
// and in every SSE heartbeat; between reports market now is extrapolated with the browser's monotonic clock.
// Feed staleness is WALL time: feeds stamp last_event_at on the engine's wall clock, so it is compared with
// the server's wall now (extrapolated the same way, immune to a skewed browser clock).
"use strict";

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

async function getJSON(path, init) {
  const response = await session.authFetch(path, init);
  if (!response.ok) {
    let reason = response.statusText;
    try { reason = (await response.json()).reason || reason; } catch (_) { /* not JSON */ }
    const error = new Error(`${response.status}: ${reason}`);
    error.status = response.status;
    error.reason = reason;
    throw error;
  }
  return response.status === 202 || response.status === 204 ? null : response.json();
}

// ------------------------------------------------------------------------------------------------ clocks
// The last clock report from the gateway: market and wall epoch ms, speed, and performance.now() when read.
const clock = { market: null, wall: null, speed: 1, readAt: 0 };

function syncClock(report) {
  if (!report || !report.market_time || !report.wall_time) return;
  clock.market = Date.parse(report.market_time);
  clock.wall = Date.parse(report.wall_time);
  clock.speed = Number(report.speed);
  clock.readAt = performance.now();
}

function marketNow() {  // ms; the browser's clock until the gateway has reported
  if (clock.market === null) return Date.now();
  return clock.market + (performance.now() - clock.readAt) * clock.speed;
}

function wallNow() {  // the server's wall clock, ms
  if (clock.wall === null) return Date.now();
  return clock.wall + (performance.now() - clock.readAt);
}

async function loadClock() {
  try { syncClock(await getJSON("/time")); } catch (err) { console.warn("market time unavailable", err.message); }
}

// ------------------------------------------------------------------------------------------------ words
function age(iso) {  // in market time
  const s = Math.max(0, (marketNow() - Date.parse(iso)) / 1000);
  if (s < 60) return `${Math.floor(s)}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

// "1:02:03" or "02:03" until the market-time instant `iso`; null once it has passed.
function countdown(iso) {
  const s = Math.floor((Date.parse(iso) - marketNow()) / 1000);
  if (!(s >= 0)) return null;
  const two = (n) => String(n).padStart(2, "0");
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return h > 0 ? `${h}:${two(m)}:${two(sec)}` : `${two(m)}:${two(sec)}`;
}

const money = (text) => (text === null || text === undefined ? "—" : Number(text).toFixed(2));
const signedMoney = (n) => `${n > 0 ? "+" : ""}${n.toFixed(2)}`;
const percent = (ratio) => `${Math.round(Number(ratio) * 100)}%`;

const OPEN_STATUSES = new Set(["opening", "open", "partial_accepted", "closing"]);
