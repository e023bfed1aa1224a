// algogrid UI — vanilla JS, no build step. Views: signal tiles and positions (SSE-driven); the operator and
// admin views (ops, supervision tree, admin) live in ops.js and admin.js. The signal modal shows the pre-trade preview and the one "Place order" button: the only
// way an order is placed (manual only, E-01); the outcome is told in plain words.
//
// Two time bases. Signal ages are MARKET time: created_at is market time, and in simulation the market runs
// `speed` times faster than the wall clock. The gateway reports {market_time, wall_time, speed} at GET /time
// and in every SSE heartbeat; between reports market now is extrapolated with the browser's monotonic clock.
// Feed staleness is WALL time: feeds stamp last_event_at on the engine's wall clock, so it is compared with
// the server's wall now (extrapolated the same way, immune to a skewed browser clock).
"use strict";

const state = {
  latest: new Map(),     // symbol -> latest signal
  feeds: new Map(),      // symbol -> feed status
  order: [],             // symbols in display order
  modalSignal: null,
  positions: new Map(),  // position id -> position
  placing: false,
};

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
  try { syncClock(await getJSON("/time")); } catch (err) { console.warn("market time unavailable", err); }
}

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

async function getJSON(path, init) {
  const response = await session.authFetch(path, init);
  if (!response.ok) {
    let reason = response.statusText;
    try { reason = (await response.json()).reason || reason; } catch (_) { /* not JSON */ }
    throw new Error(`${response.status}: ${reason}`);
  }
  return response.status === 202 ? null : response.json();
}

function age(iso) {  // in market time
  const s = Math.max(0, (marketNow() - Date.parse(iso)) / 1000);
  if (s < 60) return `${Math.floor(s)}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

// ------------------------------------------------------------------------------------------ signal tiles
function ensureSymbol(symbol) {
  if (!state.order.includes(symbol)) state.order.push(symbol);
}

function isStale(feed) {  // wall time: last_event_at is on the engine's wall clock
  if (!feed) return false;
  if (!feed.available || !feed.last_event_at) return feed.stale;
  return (wallNow() - Date.parse(feed.last_event_at)) / 1000 > feed.stale_after_s;
}

function staleTitle(feed) {
  if (!feed) return "";
  if (feed.reason) return feed.reason;
  const quiet = Math.round((wallNow() - Date.parse(feed.last_event_at)) / 1000);
  return `no market data for ${quiet} s (wall time; stale after ${feed.stale_after_s} s)`;
}

function tile(symbol) {
  const signal = state.latest.get(symbol);
  const feed = state.feeds.get(symbol);
  const staleBadge = el("span", { class: "badge stale", title: staleTitle(feed), text: "STALE DATA" });
  staleBadge.hidden = !isStale(feed);
  if (!signal) {
    return el("article", { class: "tile empty", "data-symbol": symbol },
      el("div", { class: "tile-head" }, el("span", { class: "sym", text: symbol }), staleBadge),
      el("div", { class: "dim", text: "no signal yet" }));
  }
  const long = signal.side === "long";
  const row = (label, value, cls) => [el("dt", { text: label }), el("dd", { class: cls || "", text: value })];
  const queued = signal.status === "queued"
    ? el("span", { class: "badge queue", title: `queued until ${signal.queued_until}`, text: "QUEUE" }) : null;
  return el("article", { class: "tile", "data-symbol": symbol, "data-signal-id": signal.id, tabindex: "0",
    onclick: () => openModal(signal.id), onkeydown: (e) => { if (e.key === "Enter") openModal(signal.id); } },
    el("div", { class: "tile-head" },
      el("span", { class: `arrow ${signal.side}`, text: long ? "▲" : "▼" }),
      el("span", { class: "sym", text: symbol }),
      el("span", { class: `side ${signal.side}`, text: signal.side }),
      el("span", { class: "prob", title: "probability (p_win)", text: `${Math.round(signal.probability * 100)}%` })),
    el("dl", { class: "lv" },
      ...row("Entry", signal.entry), ...row("TP1", signal.tp1, "tp"), ...row("TP2", signal.tp2, "tp"),
      ...row("TP3", signal.tp3, "tp"), ...row("SL", signal.sl, "sl")),
    el("div", { class: "tile-foot" },
      el("span", { class: "age", "data-at": signal.created_at, text: age(signal.created_at) }), queued, staleBadge));
}

function refreshTimes() {  // ages and stale marks in place, without rebuilding the tiles
  for (const node of document.querySelectorAll(".age[data-at]")) node.textContent = age(node.dataset.at);
  for (const node of document.querySelectorAll("#tiles [data-symbol]")) {
    const feed = state.feeds.get(node.dataset.symbol);
    const badge = node.querySelector(".badge.stale");
    if (badge) { badge.hidden = !isStale(feed); badge.title = staleTitle(feed); }
  }
  const market = new Date(marketNow()).toISOString().slice(0, 19).replace("T", " ");
  $("clock").textContent = `${market} UTC${clock.speed !== 1 ? ` · ×${clock.speed}` : ""}`;
}

function renderTiles(flashSymbol) {
  const grid = $("tiles");
  grid.replaceChildren(...state.order.map((symbol) => tile(symbol)));
  $("signal-count").textContent = `${state.latest.size} of ${state.order.length} symbols with a signal`;
  if (flashSymbol) {
    const node = grid.querySelector(`[data-symbol="${flashSymbol}"]`);
    if (node) node.classList.add("flash");
  }
  refreshTimes();
}

function acceptSignal(signal) {
  ensureSymbol(signal.symbol);
  const current = state.latest.get(signal.symbol);
  if (!current || Date.parse(signal.created_at) >= Date.parse(current.created_at)) {
    state.latest.set(signal.symbol, signal);
  }
}

async function loadSignals() {
  const page = await getJSON("/signals?limit=500");
  for (const signal of page.items.slice().reverse()) acceptSignal(signal);
}

async function loadFeeds() {
  try {
    const feeds = await getJSON("/symbols");
    for (const feed of feeds) { ensureSymbol(feed.symbol); state.feeds.set(feed.symbol, feed); }
  } catch (err) {
    console.warn("feed status unavailable", err);
  }
}

function connectStream() {
  // authorised by the session cookie; the browser resends Last-Event-ID on reconnect
  const source = new EventSource("/stream", { withCredentials: true });
  const pill = $("stream-state");
  const live = (on) => {
    pill.textContent = on ? "stream: live" : "stream: reconnecting";
    pill.className = `pill ${on ? "pill-on" : "pill-off"}`;
  };
  source.addEventListener("open", () => live(true));
  source.addEventListener("error", () => live(false));
  source.addEventListener("session_ended", async () => {  // expired or revoked: refresh, then reconnect
    source.close();
    live(false);
    if (await session.refresh()) connectStream(); else location.reload();
  });
  source.addEventListener("heartbeat", (event) => {
    live(true);
    try { syncClock(JSON.parse(event.data)); } catch (_) { /* an old gateway: no market time */ }
  });
  source.addEventListener("position", (event) => {
    live(true);
    acceptPosition(JSON.parse(event.data));
    renderPositions();
  });
  source.addEventListener("signal", (event) => {
    live(true);
    const signal = JSON.parse(event.data);
    acceptSignal(signal);
    renderTiles(signal.symbol);
  });
  source.addEventListener("kill_switch", (event) => {  // the trading state changed (R-04): ops.js redraws
    live(true);
    document.dispatchEvent(new CustomEvent("algogrid:kill_switch", { detail: JSON.parse(event.data) }));
  });
}

// ------------------------------------------------------------------------------------------------ modal
async function openModal(signalId) {
  const levels = await getJSON(`/signals/${encodeURIComponent(signalId)}/levels`);
  state.modalSignal = levels;
  $("modal-title").textContent = `${levels.symbol} · ${levels.side.toUpperCase()}`;
  const rows = [["Entry", levels.entry], ["TP1", levels.tp1], ["TP2", levels.tp2], ["TP3", levels.tp3],
    ["SL", levels.sl], ["Risk (R)", levels.risk_r ?? "—"]];
  $("modal-levels").replaceChildren(...rows.map(([k, v]) => el("tr", {}, el("td", { class: "dim", text: k }),
    el("td", { text: String(v) }))));
  $("copy-text").textContent = levels.text;
  $("copy-done").hidden = true;
  $("order-outcome").hidden = true;
  $("modal").hidden = false;
  $("copy-levels").focus();
  await loadPreview(levels.id);
}

function closeModal() { $("modal").hidden = true; state.modalSignal = null; }

// ---------------------------------------------------------------------------------- preview and order
const money = (text) => Number(text).toFixed(2);  // display only: the wire keeps exact decimals
const r = (text) => String(Number(Number(text).toFixed(2)));
async function loadPreview(signalId) {
  const button = $("place-order");
  button.disabled = true;
  $("preview-table").replaceChildren();
  $("preview-verdict").textContent = "asking the risk manager…";
  $("preview-verdict").className = "verdict";
  try {
    const p = await getJSON(`/signals/${encodeURIComponent(signalId)}/preview`);
    if (!state.modalSignal || state.modalSignal.id !== signalId) return;
    const base = p.symbol.replace(/USDT$/, "");
    const rows = [["Quantity", `${p.quantity} ${base}`], ["Notional", `${p.notional_usd} USD`],
      ["Fee estimate", `${money(p.fee_estimate_usd)} USD`],
      ["Risk", `${money(p.risk_usd)} USD · ${r(p.risk_r)} R`],
      ["Heat after", `${r(p.heat_after_r)} R · ${money(p.heat_after_usd)} USD`],
      ["Per-base usage after", `${p.base_usage_after} of ${p.base_limit} on ${base} ${p.side}`]];
    $("preview-table").replaceChildren(...rows.map(([k, v]) => el("tr", {}, el("td", { class: "dim", text: k }),
      el("td", { "data-field": k, text: v }))));
    const approve = p.verdict === "allowed";
    $("preview-verdict").textContent = approve ? "Risk check: allowed." : `Risk check: denied — ${p.reason}`;
    $("preview-verdict").className = `verdict ${approve ? "ok" : "bad"}`;
    button.disabled = !approve;
  } catch (err) {
    $("preview-verdict").textContent = `Preview unavailable (${err.message}).`;
    $("preview-verdict").className = "verdict bad";
  }
}

const OUTCOME_WORDS = {
  filled: "Filled",
  partial: "Partly filled; the filled part is kept and protected",
  underfill: "Too little filled; the rest was cancelled and what filled is being closed",
  expired: "Not filled: the price moved away before the order could fill",
  rejected: "Rejected by the exchange",
};

async function placeOrder() {
  if (!state.modalSignal || state.placing) return;
  const signalId = state.modalSignal.id;
  const box = $("order-outcome");
  state.placing = true;
  $("place-order").disabled = true;
  box.hidden = false;
  box.className = "outcome";
  box.textContent = "Placing the order…";
  try {
    const response = await session.authFetch("/positions/open", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ signal_id: signalId }) });
    const body = await response.json();
    if (!response.ok) {
      box.className = "outcome bad";
      box.dataset.status = "refused";
      box.textContent = `Not placed: ${body.reason}`;
      return;
    }
    const words = OUTCOME_WORDS[body.order.status] || body.order.status;
    const fill = `${Math.round(Number(body.order.fill_ratio) * 100)}% filled`;
    const price = body.order.avg_price ? ` at ${body.order.avg_price}` : "";
    box.className = `outcome ${body.order.status === "filled" || body.order.status === "partial" ? "ok" : "bad"}`;
    box.dataset.status = body.order.status;
    box.textContent = `${words} (${fill}${price}). ${body.message}`;
    if (body.position) { acceptPosition(body.position); renderPositions(); }
  } catch (err) {
    box.className = "outcome bad";
    box.dataset.status = "error";
    box.textContent = `The order's outcome is unknown (${err.message}); see the positions list.`;
  } finally {
    state.placing = false;
  }
}

// -------------------------------------------------------------------------------------------- positions
function acceptPosition(position) {
  const current = state.positions.get(position.id);
  if (current && current.status === "closed" && position.status !== "closed") return;  // never regress
  state.positions.set(position.id, position);
}

async function loadPositions() {
  try {
    const page = await getJSON("/positions?limit=200");
    for (const position of page.items) acceptPosition(position);
  } catch (err) {
    console.warn("positions unavailable", err);
  }
}

async function closePosition(positionId) {
  try {
    const result = await getJSON(`/positions/${encodeURIComponent(positionId)}/close`, { method: "POST",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify({ reason: "manual" }) });
    if (result.position) { acceptPosition(result.position); renderPositions(); }
  } catch (err) {
    alert(`close refused: ${err.message}`);
  }
}

const OPEN_STATUSES = new Set(["opening", "open", "partial_accepted", "closing"]);

function renderPositions() {
  const all = [...state.positions.values()].sort((a, b) => Date.parse(b.opened_at) - Date.parse(a.opened_at));
  const open = all.filter((p) => OPEN_STATUSES.has(p.status));
  $("position-count").textContent = `${open.length} open, ${all.length - open.length} closed`;
  $("position-rows").replaceChildren(...all.map((p) => el("tr", { "data-position-id": p.id, "data-status": p.status,
    class: OPEN_STATUSES.has(p.status) ? "open" : "closed", title: p.message || "" },
    el("td", { text: p.symbol }), el("td", { class: `side ${p.side}`, text: p.side }),
    el("td", { class: "pstatus", text: p.status.replace("_", " ") }),
    el("td", { text: `${p.executed_size} / ${p.requested_size}` }),
    el("td", { text: `${Math.round(Number(p.fill_ratio) * 100)}%` }),
    el("td", { text: p.avg_entry_price ?? "—" }),
    el("td", { text: p.pnl_usd ?? "—" }),
    el("td", { class: "age", "data-at": p.opened_at, text: age(p.opened_at) }),
    el("td", {}, OPEN_STATUSES.has(p.status) && p.status !== "closing"
      ? el("button", { class: "danger", onclick: () => closePosition(p.id), text: "close" }) : null))));
}

async function copyLevels() {
  if (!state.modalSignal) return;
  const text = state.modalSignal.text;
  try {
    await navigator.clipboard.writeText(text);
  } catch (_) {  // older browsers / insecure context: fall back to a selected textarea
    const area = el("textarea", {}, text);
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  $("copy-done").hidden = false;
}

// ------------------------------------------------------------------------------------------------- views
// The views by hash; ops.js draws ops, supervision and admin and hears "algogrid:view" to start and stop.
const VIEWS = ["signals", "ops", "supervision", "admin"];

function route() {
  const asked = location.hash.replace(/^#\//, "").split("?")[0];
  const view = VIEWS.includes(asked) ? asked : "signals";
  for (const name of VIEWS) {
    $(`view-${name}`).hidden = name !== view;
    $(`nav-${name}`).classList.toggle("active", name === view);
  }
  document.dispatchEvent(new CustomEvent("algogrid:view", { detail: view }));
}

async function main() {
  await session.ready();
  $("modal-close").addEventListener("click", closeModal);
  $("modal").addEventListener("click", (e) => { if (e.target === $("modal")) closeModal(); });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") closeModal(); });
  $("copy-levels").addEventListener("click", copyLevels);
  $("place-order").addEventListener("click", placeOrder);
  window.addEventListener("hashchange", route);
  document.dispatchEvent(new CustomEvent("algogrid:ready", { detail: session.user() }));
  route();
  await loadClock();
  await loadFeeds();
  try { await loadSignals(); } catch (err) { console.warn("signals unavailable", err); }
  renderTiles();
  await loadPositions();
  renderPositions();
  connectStream();
  setInterval(async () => { await loadFeeds(); renderTiles(); }, 5000);
  refreshTimes();
  setInterval(refreshTimes, 1000);
}

main();
