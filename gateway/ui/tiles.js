// algogrid UI — signal tiles (G-04): one tile per signal, newest first, with the direction arrow, the levels,
// R, the calibrated probability, the age, the BE status of the position it opened, the funding countdown,
// the QUEUE badge counting down to `queued_until` (R-03 anti-churn) and a stale mark while the symbol's feed
// is quiet. Filters (symbol, direction, minimum probability) live in the URL (#/signals?symbol=…), so a
// reload or a new login restores them. Long lists are virtual: only the rows in view (plus one above and
// below) exist in the DOM; a spacer gives the scroll box its full height.
"use strict";

const signals = {
  byId: new Map(),       // signal id -> signal
  feeds: new Map(),      // symbol -> feed status (wall-time liveness, mark price, next funding time)
  shown: [],             // the filtered signals, newest first
  filters: { symbol: "", direction: "", min_probability: null },
  flashId: null,
};
const MAX_SIGNALS = 5000;  // kept in memory; the oldest go first
const TILE = { minWidth: 250, height: 232, gap: 12 };  // height: style.css .tile
const PITCH = TILE.height + TILE.gap;
const view = { cols: 0, first: -1, last: -1, count: -1, frame: 0 };

// --------------------------------------------------------------------------------------- filters in the URL
function readFilters() {
  const query = new URLSearchParams(location.hash.split("?")[1] || "");
  const symbol = (query.get("symbol") || "").toUpperCase();
  const direction = query.get("direction");
  const p = Number(query.get("min_probability"));
  return {
    symbol: /^[A-Z0-9]{3,20}$/.test(symbol) ? symbol : "",
    direction: direction === "long" || direction === "short" ? direction : "",
    min_probability: query.get("min_probability") !== null && p >= 0 && p <= 1 ? p : null,
  };
}

function writeFilters() {
  const f = signals.filters;
  const query = new URLSearchParams();
  if (f.symbol) query.set("symbol", f.symbol);
  if (f.direction) query.set("direction", f.direction);
  if (f.min_probability !== null) query.set("min_probability", String(f.min_probability));
  const text = query.toString();
  const hash = `#/signals${text ? `?${text}` : ""}`;
  history.replaceState(null, "", `/ui/${hash}`);
  $("nav-signals").setAttribute("href", hash);  // back from another view with the same filters
}

function ensureSymbolOption(symbol) {
  const select = $("filter-symbol");
  if (!symbol || [...select.options].some((o) => o.value === symbol)) return;
  select.append(el("option", { value: symbol, text: symbol }));
}

function showFilters() {
  const f = signals.filters;
  ensureSymbolOption(f.symbol);
  $("filter-symbol").value = f.symbol;
  $("filter-direction").value = f.direction;
  $("filter-min-p").value = f.min_probability === null ? "" : String(Math.round(f.min_probability * 100));
}

function filtersFromInputs() {
  const raw = $("filter-min-p").value.trim();
  const p = Number(raw);
  signals.filters = {
    symbol: $("filter-symbol").value,
    direction: $("filter-direction").value,
    min_probability: raw !== "" && p >= 0 && p <= 100 ? p / 100 : null,
  };
  writeFilters();
  applyFilters();
}

function matches(s) {
  const f = signals.filters;
  return (!f.symbol || s.symbol === f.symbol) && (!f.direction || s.side === f.direction)
    && (f.min_probability === null || s.probability >= f.min_probability - 1e-9);
}

function newestFirst(a, b) {
  return Date.parse(b.created_at) - Date.parse(a.created_at) || (a.id < b.id ? 1 : -1);
}

function applyFilters() {
  signals.shown = [...signals.byId.values()].filter(matches).sort(newestFirst);
  $("tiles").scrollTop = Math.min($("tiles").scrollTop, signals.shown.length * PITCH);
  $("signal-count").textContent = `${signals.shown.length} of ${signals.byId.size} signals`;
  $("tiles-empty").hidden = signals.shown.length > 0;
  layoutTiles(true);
}

function filtersFromUrl() {  // a link, back/forward or a typed URL: the address decides
  const next = readFilters();
  if (JSON.stringify(next) === JSON.stringify(signals.filters)) return;
  signals.filters = next;
  showFilters();
  writeFilters();
  applyFilters();
}

function initFilters() {
  signals.filters = readFilters();
  showFilters();
  if (location.hash.startsWith("#/signals")) writeFilters();
  for (const id of ["filter-symbol", "filter-direction"]) $(id).addEventListener("change", filtersFromInputs);
  $("filter-min-p").addEventListener("input", filtersFromInputs);
  $("signal-filters").addEventListener("submit", (e) => { e.preventDefault(); filtersFromInputs(); });
  $("filter-clear").addEventListener("click", () => {
    signals.filters = { symbol: "", direction: "", min_probability: null };
    showFilters();
    writeFilters();
    applyFilters();
  });
}

// ---------------------------------------------------------------------------------------------- feeds
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

async function loadFeeds() {
  try {
    const feeds = await getJSON("/symbols");
    for (const feed of feeds) { signals.feeds.set(feed.symbol, feed); ensureSymbolOption(feed.symbol); }
  } catch (err) {
    if (err.status !== 401) console.warn("feed status unavailable", err.message);
  }
}

// ---------------------------------------------------------------------------------------------- tiles
function beStatus(signalId) {  // the break-even state of the position this signal opened (R-05)
  const position = positionOfSignal(signalId);
  if (!position) return { key: "none", text: "BE —", title: "no position from this signal" };
  if (position.be_moved) return { key: "moved", text: "BE ✓", title: "stop moved to the entry (break-even)" };
  if (OPEN_STATUSES.has(position.status)) return { key: "waiting", text: "BE …", title: "break-even not reached yet" };
  return { key: "none", text: "BE —", title: "the position closed before break-even" };
}

function fundingText(symbol) {
  const feed = signals.feeds.get(symbol);
  const left = feed && feed.next_funding_time ? countdown(feed.next_funding_time) : null;
  return left ? `funding ${left}` : "funding —";
}

function queueText(until) {
  const left = countdown(until);
  return left ? `QUEUE ${left}` : "QUEUE over";
}

function tile(s) {
  const feed = signals.feeds.get(s.symbol);
  const long = s.side === "long";
  const pct = `${Math.round(s.probability * 100)}%`;
  const row = (label, value, cls) => [el("dt", { text: label }), el("dd", { class: cls || "", text: value })];
  const be = beStatus(s.id);
  const queued = s.status === "queued" && s.queued_until
    ? el("span", { class: "badge queue", "data-until": s.queued_until,
      title: `anti-churn: queued until ${s.queued_until} (market time)`, text: queueText(s.queued_until) })
    : null;
  const status = s.status !== "new" && s.status !== "queued"
    ? el("span", { class: "badge plain", text: s.status.toUpperCase() }) : null;
  const stale = el("span", { class: "badge stale", title: staleTitle(feed), text: "STALE DATA",
    hidden: !isStale(feed) });
  const open = () => openModal(s.id);
  return el("article", { class: `tile${signals.flashId === s.id ? " flash" : ""}`, "data-symbol": s.symbol,
    "data-signal-id": s.id, tabindex: "0", "aria-label": `${s.symbol} ${s.side}, probability ${pct}`,
    onclick: open, onkeydown: (e) => tileKey(e, s.id, open) },
    el("div", { class: "tile-head" },
      el("span", { class: `arrow ${s.side}`, "aria-hidden": "true", text: long ? "▲" : "▼" }),
      el("span", { class: "sym", text: s.symbol }),
      el("span", { class: `side ${s.side}`, text: s.side }),
      el("span", { class: "prob", title: "calibrated probability (p_win)", text: pct })),
    el("dl", { class: "lv" },
      ...row("Entry", s.entry), ...row("TP1", s.tp1, "tp"), ...row("TP2", s.tp2, "tp"),
      ...row("TP3", s.tp3, "tp"), ...row("SL", s.sl, "sl"), ...row("R", s.risk_r ?? "—")),
    el("div", { class: "tile-foot" },
      el("span", { class: "age", "data-at": s.created_at, title: "age in market time", text: age(s.created_at) }),
      el("span", { class: `be be-${be.key}`, "data-be": be.key, title: be.title, text: be.text }),
      el("span", { class: "funding", "data-funding": s.symbol, title: "next funding (market time)",
        text: fundingText(s.symbol) })),
    el("div", { class: "tile-foot" }, queued, status, stale));
}

function tileKey(event, signalId, open) {
  if (event.key === "Enter" || event.key === " ") { event.preventDefault(); open(); return; }
  const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: view.cols, ArrowUp: -view.cols }[event.key];
  if (!step) return;
  event.preventDefault();
  const index = signals.shown.findIndex((s) => s.id === signalId) + step;
  if (index < 0 || index >= signals.shown.length) return;
  const box = $("tiles");
  const top = Math.floor(index / view.cols) * PITCH;
  if (top < box.scrollTop) box.scrollTop = top;
  else if (top + TILE.height > box.scrollTop + box.clientHeight) box.scrollTop = top + TILE.height - box.clientHeight;
  layoutTiles(false);
  const next = $("tiles-window").querySelector(`[data-signal-id="${signals.shown[index].id}"]`);
  if (next) next.focus();
}

// Render the rows in view (virtual scrolling); `force` rebuilds them even when the range is unchanged.
function layoutTiles(force) {
  const box = $("tiles");
  const win = $("tiles-window");
  const cols = Math.max(1, Math.floor((box.clientWidth + TILE.gap) / (TILE.minWidth + TILE.gap)));
  const rows = Math.ceil(signals.shown.length / cols);
  const first = Math.max(0, Math.floor(box.scrollTop / PITCH) - 1);
  const last = Math.min(rows - 1, Math.ceil((box.scrollTop + box.clientHeight) / PITCH));
  if (!force && cols === view.cols && first === view.first && last === view.last) return;
  Object.assign(view, { cols, first, last, count: signals.shown.length });
  $("tiles-spacer").style.height = `${Math.max(0, rows * PITCH - TILE.gap)}px`;
  win.style.transform = `translateY(${first * PITCH}px)`;
  win.style.gridTemplateColumns = `repeat(${cols}, minmax(0, 1fr))`;
  const focused = document.activeElement && document.activeElement.closest
    ? document.activeElement.closest("#tiles-window [data-signal-id]") : null;
  const keep = focused ? focused.dataset.signalId : null;
  win.replaceChildren(...signals.shown.slice(first * cols, (last + 1) * cols).map(tile));
  if (keep) { const again = win.querySelector(`[data-signal-id="${keep}"]`); if (again) again.focus(); }
}

function scheduleLayout() {
  if (view.frame) return;
  view.frame = requestAnimationFrame(() => { view.frame = 0; layoutTiles(false); });
}

// Ages, countdowns and stale marks in place, without rebuilding the tiles.
function refreshTileTimes() {
  for (const node of document.querySelectorAll("#tiles .age[data-at]")) node.textContent = age(node.dataset.at);
  for (const node of document.querySelectorAll("#tiles .badge.queue[data-until]")) {
    node.textContent = queueText(node.dataset.until);
  }
  for (const node of document.querySelectorAll("#tiles .funding[data-funding]")) {
    node.textContent = fundingText(node.dataset.funding);
  }
  for (const node of document.querySelectorAll("#tiles [data-symbol]")) {
    const feed = signals.feeds.get(node.dataset.symbol);
    const badge = node.querySelector(".badge.stale");
    if (badge) { badge.hidden = !isStale(feed); badge.title = staleTitle(feed); }
  }
}

function refreshBe() {  // a position changed: the BE marks of the tiles in view follow
  for (const node of document.querySelectorAll("#tiles-window [data-signal-id]")) {
    const be = beStatus(node.dataset.signalId);
    const mark = node.querySelector(".be");
    if (mark && mark.dataset.be !== be.key) {
      Object.assign(mark, { textContent: be.text, title: be.title, className: `be be-${be.key}` });
      mark.dataset.be = be.key;
    }
  }
}

// ---------------------------------------------------------------------------------------------- data
function acceptSignal(signal) {
  const current = signals.byId.get(signal.id);
  signals.byId.set(signal.id, current ? { ...current, ...signal } : signal);
  if (signals.byId.size > MAX_SIGNALS) {
    const oldest = [...signals.byId.values()].sort(newestFirst).slice(MAX_SIGNALS);
    for (const s of oldest) signals.byId.delete(s.id);
  }
}

function signalArrived(signal) {  // from the stream: flash the new tile once
  acceptSignal(signal);
  signals.flashId = signal.id;
  applyFilters();
  signals.flashId = null;
}

async function loadSignals() {
  try {
    const page = await getJSON("/signals?limit=500");
    for (const signal of page.items) acceptSignal(signal);
  } catch (err) {
    if (err.status !== 401) console.warn("signals unavailable", err.message);
  }
  applyFilters();
}

function initTiles() {
  initFilters();
  $("tiles").addEventListener("scroll", scheduleLayout, { passive: true });
  new ResizeObserver(scheduleLayout).observe($("tiles"));
}
