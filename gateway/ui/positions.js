// algogrid UI — positions (G-01, E-03, E-05, E-06, R-05, R-06): the open ones with their fill ratio, a live
// PnL from the feed's mark price, the break-even state, the time to the next funding and a close button
// that asks for the reason; the closed ones with realised PnL, fees, funding and slippage in basis points.
// Changes arrive over SSE (`position` events) and are never allowed to move a closed position back to open.
"use strict";

const positions = { byId: new Map(), closing: null };

function positionOfSignal(signalId) {
  let found = null;
  for (const p of positions.byId.values()) {
    if (p.signal_id === signalId && (!found || Date.parse(p.opened_at) > Date.parse(found.opened_at))) found = p;
  }
  return found;
}

function acceptPosition(position) {
  const current = positions.byId.get(position.id);
  if (current && current.status === "closed" && position.status !== "closed") return;  // never regress
  const merged = current ? { ...current } : {};
  for (const [key, value] of Object.entries(position)) {
    // a stream event does not carry the stored slippage: keep what the list read
    if (value !== null || !key.startsWith("slippage_")) merged[key] = value;
  }
  positions.byId.set(position.id, merged);
}

// A change from the stream, a click's answer or a close: show it; a fresh close is read back from the
// store once, for the figures only it keeps (slippage).
function positionArrived(position) {
  const before = positions.byId.get(position.id);
  acceptPosition(position);
  renderPositions();
  refreshBe();
  if (position.status === "closed" && (!before || before.status !== "closed")) readBack(position.id);
}

async function readBack(positionId) {
  try {
    const detail = await getJSON(`/positions/${encodeURIComponent(positionId)}`);
    if (detail.position.status === "closed") { acceptPosition(detail.position); renderPositions(); }
  } catch (err) {
    if (err.status !== 401) console.warn("position read-back failed", err.message);
  }
}

async function loadPositions() {
  try {
    const [open, closed] = await Promise.all([getJSON("/positions?status=open&limit=200"),
      getJSON("/positions?status=closed&limit=200")]);
    for (const position of [...open.items, ...closed.items]) acceptPosition(position);
  } catch (err) {
    if (err.status !== 401) console.warn("positions unavailable", err.message);
  }
  renderPositions();
}

// ------------------------------------------------------------------------------------------------ words
function livePnl(p) {  // USD from the mark price; null until both are known
  const feed = signals.feeds.get(p.symbol);
  if (!feed || !feed.mark_price || !p.avg_entry_price || Number(p.executed_size) === 0) return null;
  const move = Number(feed.mark_price) - Number(p.avg_entry_price);
  return move * Number(p.executed_size) * (p.side === "long" ? 1 : -1);
}

function fundingIn(symbol) {
  const feed = signals.feeds.get(symbol);
  return (feed && feed.next_funding_time && countdown(feed.next_funding_time)) || "—";
}

function bps(value) { return value === null || value === undefined ? "—" : Number(value).toFixed(1); }

const RESULT_WORDS = { closed: "closed", failed_underfill: "underfilled", error: "error" };
const REASON_WORDS = { manual: "manual", time_exit: "time exit", funding: "funding", tp: "take profit",
  sl: "stop loss" };

function pnlCell(value, attrs = {}) {
  const n = value === null || value === undefined ? null : Number(value);
  return el("td", { ...attrs, class: `num ${n > 0 ? "gain" : n < 0 ? "loss" : ""}`,
    text: n === null ? "—" : signedMoney(n) });
}

function openRow(p) {
  const pnl = livePnl(p);
  const trader = session.canTrade();
  return el("tr", { "data-position-id": p.id, "data-signal-id": p.signal_id, "data-status": p.status, class: "open",
    title: p.message || "" },
    el("td", { text: p.symbol }), el("td", { class: `side ${p.side}`, text: p.side }),
    el("td", { class: "pstatus", text: p.status.replace("_", " ") }),
    el("td", { class: "num", text: `${percent(p.fill_ratio)} · ${p.executed_size} / ${p.requested_size}` }),
    el("td", { class: "num", text: p.avg_entry_price ?? "—" }),
    el("td", { class: "num mark", text: (signals.feeds.get(p.symbol) || {}).mark_price ?? "—" }),
    pnlCell(pnl, { "data-field": "pnl", title: "unrealised, at the mark price" }),
    el("td", { class: p.be_moved ? "be-moved" : "dim", text: p.be_moved ? "at entry" : "not yet" }),
    el("td", { class: "num funding-in", "data-funding": p.symbol, text: fundingIn(p.symbol) }),
    el("td", { class: "age", "data-at": p.opened_at, text: age(p.opened_at) }),
    el("td", {}, trader && p.status !== "closing"
      ? el("button", { class: "danger", "aria-label": `close ${p.symbol} ${p.side}`, text: "close",
        onclick: (e) => askClose(p.id, e.currentTarget) }) : null));
}

function closedRow(p) {
  const result = RESULT_WORDS[p.status] || p.status;
  const exit = p.avg_exit_price ? `${p.avg_entry_price ?? "—"} → ${p.avg_exit_price}` : (p.avg_entry_price ?? "—");
  return el("tr", { "data-position-id": p.id, "data-status": p.status, class: "closed", title: p.message || "" },
    el("td", { text: p.symbol }), el("td", { class: `side ${p.side}`, text: p.side }),
    el("td", { class: "pstatus", text: result }),
    el("td", { class: "num", text: exit }),
    pnlCell(p.pnl_usd, { "data-field": "pnl" }),
    el("td", { class: "num", "data-field": "fees", text: money(p.fees_usd) }),
    el("td", { class: "num", "data-field": "funding", text: money(p.funding_usd) }),
    el("td", { class: "num", "data-field": "slippage",
      text: `${bps(p.slippage_entry_bps)} / ${bps(p.slippage_exit_bps)}`, title: "entry / exit, basis points" }),
    el("td", { text: REASON_WORDS[p.close_reason] || p.close_reason || "—" }),
    el("td", { class: "age", "data-at": p.closed_at || p.opened_at, text: age(p.closed_at || p.opened_at) }));
}

function renderPositions() {
  const all = [...positions.byId.values()];
  const open = all.filter((p) => OPEN_STATUSES.has(p.status))
    .sort((a, b) => Date.parse(b.opened_at) - Date.parse(a.opened_at));
  const closed = all.filter((p) => !OPEN_STATUSES.has(p.status))
    .sort((a, b) => Date.parse(b.closed_at || b.opened_at) - Date.parse(a.closed_at || a.opened_at));
  $("position-count").textContent = `${open.length} open, ${closed.length} closed`;
  $("closed-count").textContent = `${closed.length} closed`;
  $("position-rows").replaceChildren(...(open.length ? open.map(openRow)
    : [el("tr", {}, el("td", { colspan: "11", class: "dim", text: "No open position." }))]));
  $("closed-rows").replaceChildren(...(closed.length ? closed.map(closedRow)
    : [el("tr", {}, el("td", { colspan: "10", class: "dim", text: "No closed position yet." }))]));
}

function refreshPositionTimes() {
  for (const node of document.querySelectorAll(".positions .funding-in[data-funding]")) {
    node.textContent = fundingIn(node.dataset.funding);
  }
  for (const node of document.querySelectorAll(".positions .age[data-at]")) node.textContent = age(node.dataset.at);
}

function refreshLivePnl() {  // the feed's mark moved: the open rows' mark and PnL cells, in place
  for (const row of document.querySelectorAll("#position-rows tr[data-position-id]")) {
    const p = positions.byId.get(row.dataset.positionId);
    if (!p) continue;
    const pnl = livePnl(p);
    const cell = row.querySelector('[data-field="pnl"]');
    cell.textContent = pnl === null ? "—" : signedMoney(pnl);
    cell.className = `num ${pnl > 0 ? "gain" : pnl < 0 ? "loss" : ""}`;
    row.querySelector(".mark").textContent = (signals.feeds.get(p.symbol) || {}).mark_price ?? "—";
  }
}

// ------------------------------------------------------------------------------------------------ close
function askClose(positionId, opener) {
  const p = positions.byId.get(positionId);
  if (!p) return;
  positions.closing = { id: positionId, opener };
  $("close-what").textContent = `${p.symbol} ${p.side}, ${p.executed_size} at ${p.avg_entry_price ?? "—"}.`;
  $("close-reason").value = "manual";
  $("close-outcome").hidden = true;
  $("close-confirm").disabled = false;
  $("close-dialog").hidden = false;
  $("close-reason").focus();
}

function cancelClose() {
  if ($("close-dialog").hidden) return;
  $("close-dialog").hidden = true;
  const opener = positions.closing && positions.closing.opener;
  positions.closing = null;
  focusOpener(opener);
}

async function confirmClose(event) {
  event.preventDefault();
  if (!positions.closing) return;
  const { id } = positions.closing;
  const box = $("close-outcome");
  $("close-confirm").disabled = true;
  box.hidden = false;
  box.className = "outcome";
  box.textContent = "Closing…";
  try {
    const result = await getJSON(`/positions/${encodeURIComponent(id)}/close`, { method: "POST",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify({ reason: $("close-reason").value }) });
    if (result.position) positionArrived(result.position);
    box.className = "outcome ok";
    box.textContent = result.message || `Close ${result.status}.`;
    $("close-dialog").hidden = true;
    positions.closing = null;
  } catch (err) {
    box.className = "outcome bad";
    box.textContent = `Not closed: ${err.reason || err.message}`;
    $("close-confirm").disabled = false;
  }
}

function initPositions() {
  $("close-form").addEventListener("submit", confirmClose);
  $("close-cancel").addEventListener("click", cancelClose);
  $("close-dialog").addEventListener("click", (e) => { if (e.target === $("close-dialog")) cancelClose(); });
  $("close-dialog").addEventListener("keydown", (e) => trapFocus(e, $("close-dialog")));
}
