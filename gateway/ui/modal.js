// algogrid UI — the signal modal (G-04, E-01, E-02): the levels and R, "Copy levels" with the exact text
// `Entry: X, TP1: Y, TP2: Z, TP3: W, SL: V`, the pre-trade preview (quantity, R, heat after, per-base usage,
// the risk verdict) and the ONE button that places an order: a person's click is the only way an order is
// ever placed (manual only). Traders and admins see it; a viewer sees the levels only. The outcome is told
// in plain words: filled, partly filled, underfilled, expired or rejected, and why.
"use strict";

const modal = { signal: null, placing: false, opener: null };

async function openModal(signalId) {
  modal.opener = document.activeElement;
  let levels;
  try {
    levels = await getJSON(`/signals/${encodeURIComponent(signalId)}/levels`);
  } catch (err) {
    if (err.status !== 401) console.warn("levels unavailable", err.message);
    return;
  }
  const signal = signals.byId.get(signalId) || {};
  modal.signal = levels;
  $("modal-title").textContent = `${levels.symbol} · ${levels.side.toUpperCase()}`;
  const rows = [["Entry", levels.entry], ["TP1", levels.tp1], ["TP2", levels.tp2], ["TP3", levels.tp3],
    ["SL", levels.sl], ["Risk (R)", levels.risk_r ?? "—"]];
  if (signal.probability !== undefined) rows.push(["Probability", `${Math.round(signal.probability * 100)}%`]);
  $("modal-levels").replaceChildren(...rows.map(([k, v]) => el("tr", {}, el("td", { class: "dim", text: k }),
    el("td", { text: String(v) }))));
  $("copy-text").textContent = levels.text;
  $("copy-done").hidden = true;
  $("order-outcome").hidden = true;
  const trader = session.canTrade();
  const note = placeNote(signal, trader);
  $("modal-note").hidden = !note;
  $("modal-note").textContent = note || "";
  $("preview").hidden = !trader;
  $("place-row").hidden = !trader;  // a viewer sees no place button at all
  $("modal").hidden = false;
  $("copy-levels").focus();
  if (trader) await loadPreview(levels.id, signal.status === undefined || signal.status === "new");
}

function placeNote(signal, trader) {
  if (!trader) return "You can read and copy the levels; placing orders is for traders.";
  if (signal.status === "queued") {
    return `Queued by the anti-churn rule until ${signal.queued_until} (market time): it cannot be placed.`;
  }
  if (signal.status && signal.status !== "new") return `This signal is ${signal.status}: only a new signal can be placed.`;
  return null;
}

function closeModal() {
  if ($("modal").hidden) return;
  $("modal").hidden = true;
  modal.signal = null;
  focusOpener(modal.opener);
}

// Give the focus back to what opened a dialog; a tile re-drawn meanwhile is found again by its signal.
function focusOpener(opener) {
  if (!opener) return;
  if (document.contains(opener)) { opener.focus(); return; }
  const id = opener.dataset && opener.dataset.signalId;
  const again = id && document.querySelector(`#tiles-window [data-signal-id="${id}"]`);
  if (again) again.focus();
}

// Tab and Shift+Tab stay inside an open dialog.
function trapFocus(event, box) {
  if (event.key !== "Tab") return;
  const items = [...box.querySelectorAll("button, select, input, [tabindex='0']")]
    .filter((n) => !n.disabled && n.offsetParent !== null);
  if (items.length === 0) return;
  const first = items[0], last = items[items.length - 1];
  if (event.shiftKey && document.activeElement === first) { event.preventDefault(); last.focus(); }
  else if (!event.shiftKey && document.activeElement === last) { event.preventDefault(); first.focus(); }
}

// ---------------------------------------------------------------------------------- preview and order
const rText = (text) => String(Number(Number(text).toFixed(2)));

async function loadPreview(signalId, placeable) {
  const button = $("place-order");
  button.disabled = true;
  $("preview-table").replaceChildren();
  $("preview-verdict").textContent = "asking the risk manager…";
  $("preview-verdict").className = "verdict";
  try {
    const p = await getJSON(`/signals/${encodeURIComponent(signalId)}/preview`);
    if (!modal.signal || modal.signal.id !== signalId) return;
    const base = p.symbol.replace(/USDT$/, "");
    const rows = [["Quantity", `${p.quantity} ${base}`], ["Notional", `${p.notional_usd} USD`],
      ["Fee estimate", `${money(p.fee_estimate_usd)} USD`],
      ["Risk", `${money(p.risk_usd)} USD · ${rText(p.risk_r)} R`],
      ["Heat after", `${rText(p.heat_after_r)} R · ${money(p.heat_after_usd)} USD`],
      ["Per-base usage after", `${p.base_usage_after} of ${p.base_limit} on ${base} ${p.side}`]];
    $("preview-table").replaceChildren(...rows.map(([k, v]) => el("tr", {}, el("td", { class: "dim", text: k }),
      el("td", { "data-field": k, text: v }))));
    const approve = p.verdict === "allowed";
    $("preview-verdict").textContent = approve ? "Risk check: allowed." : `Risk check: denied — ${p.reason}`;
    $("preview-verdict").className = `verdict ${approve ? "ok" : "bad"}`;
    button.disabled = !approve || !placeable;
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
  if (!modal.signal || modal.placing) return;
  const signalId = modal.signal.id;
  const box = $("order-outcome");
  modal.placing = true;
  $("place-order").disabled = true;
  box.hidden = false;
  box.className = "outcome";
  box.textContent = "Placing the order…";
  try {
    const response = await session.authFetch("/positions/open", { method: "POST",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify({ signal_id: signalId }) });
    const body = await response.json();
    if (!response.ok) {
      box.className = "outcome bad";
      box.dataset.status = "refused";
      box.textContent = `Not placed: ${body.reason}`;
      return;
    }
    const words = OUTCOME_WORDS[body.order.status] || body.order.status;
    const fill = `${percent(body.order.fill_ratio)} filled`;
    const price = body.order.avg_price ? ` at ${body.order.avg_price}` : "";
    box.className = `outcome ${body.order.status === "filled" || body.order.status === "partial" ? "ok" : "bad"}`;
    box.dataset.status = body.order.status;
    box.textContent = `${words} (${fill}${price}). ${body.message}`;
    if (body.position) {
      positionArrived(body.position);
      const placed = signals.byId.get(signalId);  // the tile says so until the list is read again
      if (placed) { acceptSignal({ ...placed, status: "placed" }); applyFilters(); }
    }
  } catch (err) {
    box.className = "outcome bad";
    box.dataset.status = "error";
    box.textContent = `The order's outcome is unknown (${err.message}); see the positions list.`;
  } finally {
    modal.placing = false;
  }
}

async function copyLevels() {
  if (!modal.signal) return;
  const text = modal.signal.text;
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

function initModal() {
  $("modal-close").addEventListener("click", closeModal);
  $("modal").addEventListener("click", (e) => { if (e.target === $("modal")) closeModal(); });
  $("modal").addEventListener("keydown", (e) => trapFocus(e, $("modal")));
  $("copy-levels").addEventListener("click", copyLevels);
  $("place-order").addEventListener("click", placeOrder);
}
