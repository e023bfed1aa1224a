// algogrid UI — the shell: views and routing, the live stream, the timers, and the supervision tree.
// Vanilla JS, no build step. The trader screens live in their own files, loaded before this one:
// core.js (helpers, clocks), auth.js (session), tiles.js (signal tiles, filters in the URL, virtual
// scrolling), modal.js (levels, preview, the one "Place order" button), positions.js (open and closed).
"use strict";

const state = {
  faults: false,         // POST /admin/faults available (dev mode)
  treeTimer: null,
};

function connectStream() {
  // authorised by the session cookie; the browser resends Last-Event-ID on reconnect
  const source = new EventSource("/stream", { withCredentials: true });
  const pill = $("stream-state");
  const live = (on) => {
    pill.textContent = on ? "stream: live" : "stream: reconnecting";
    pill.className = `pill ${on ? "pill-on" : "pill-off"}`;
  };
  // Each (re)connection reads the lists again after subscribing: whatever was stored while no stream was
  // listening (the first page load, a reconnect past the replay) is picked up; ids make it idempotent.
  source.addEventListener("open", () => { live(true); loadSignals(); loadPositions(); });
  source.addEventListener("error", () => live(false));
  source.addEventListener("session_ended", async () => {  // expired or revoked: refresh, then reconnect
    source.close();
    live(false);
    if (await session.refresh()) connectStream(); else session.ended();
  });
  source.addEventListener("heartbeat", (event) => {
    live(true);
    try { syncClock(JSON.parse(event.data)); } catch (_) { /* an old gateway: no market time */ }
  });
  source.addEventListener("position", (event) => {
    live(true);
    positionArrived(JSON.parse(event.data));
  });
  source.addEventListener("signal", (event) => {
    live(true);
    signalArrived(JSON.parse(event.data));
  });
}

function refreshTimes() {  // every second: ages, countdowns, stale marks and the market clock
  refreshTileTimes();
  refreshPositionTimes();
  const market = new Date(marketNow()).toISOString().slice(0, 19).replace("T", " ");
  $("clock").textContent = `${market} UTC${clock.speed !== 1 ? ` · ×${clock.speed}` : ""}`;
}

// ----------------------------------------------------------------------------------------- supervision
function treeNode(node) {
  const name = node.path.split("/").pop();
  const failure = node.last_failure;
  const title = failure ? `last failure: ${failure.type}: ${failure.message} at ${failure.at}` : "no failure";
  const restarts = el("span", { class: `restarts ${node.restarts > 0 ? "hot" : ""}`, "data-restarts": String(node.restarts),
    text: `↻ ${node.restarts}` });
  const crash = state.faults && (!node.children || node.children.length === 0)
    ? el("button", { class: "danger", title: `crash ${node.path}`, onclick: (e) => { e.stopPropagation(); crashActor(node.path); }, text: "crash" })
    : null;
  const box = el("div", { class: `node ${failure ? "has-failure" : ""}`, "data-path": node.path, title },
    el("span", { class: `dot s-${node.status}` }),
    el("span", { class: "name", text: name }),
    el("span", { class: "kind", text: node.kind }),
    el("span", { class: "dim", text: node.status }),
    node.uptime_s != null ? el("span", { class: "dim", text: `up ${Math.round(node.uptime_s)}s` }) : null,
    restarts, crash);
  const kids = (node.children || []).map(treeNode);
  return el("li", {}, box, kids.length ? el("ul", {}, ...kids) : null);
}

async function refreshTree() {
  try {
    const tree = await getJSON("/admin/supervision");
    $("tree").replaceChildren(el("ul", {}, treeNode(tree)));
    $("tree-updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (err) {
    $("tree-updated").textContent = `tree unavailable (${err.message})`;
  }
}

async function crashActor(path) {
  try {
    await getJSON("/admin/faults", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ path, kind: "crash" }) });
  } catch (err) {
    alert(`fault refused: ${err.message}`);
  }
  refreshTree();
}

// ------------------------------------------------------------------------------------------------- views
function route() {
  const view = location.hash.startsWith("#/supervision") ? "supervision" : "signals";
  $("view-signals").hidden = view !== "signals";
  $("view-supervision").hidden = view !== "supervision";
  $("nav-signals").classList.toggle("active", view === "signals");
  $("nav-supervision").classList.toggle("active", view === "supervision");
  clearInterval(state.treeTimer);
  if (view === "supervision") {
    refreshTree();
    state.treeTimer = setInterval(refreshTree, 1000);
  } else {
    filtersFromUrl();
    layoutTiles(true);
  }
}

async function main() {
  await session.ready();
  initTiles();
  initModal();
  initPositions();
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") { closeModal(); cancelClose(); } });
  window.addEventListener("hashchange", route);
  try {
    const doc = await (await fetch("/openapi.json")).json();
    state.faults = Boolean(doc.paths["/admin/faults"]);
  } catch (_) { state.faults = false; }
  $("nav-supervision").hidden = session.user().role !== "admin";
  route();
  await loadClock();
  await loadFeeds();
  connectStream();  // first: a signal stored while the lists load still arrives
  await loadPositions();
  await loadSignals();
  setInterval(async () => {  // feed liveness, marks and funding times; not while the login screen shows
    if ($("app-shell").hidden) return;
    await loadFeeds();
    refreshTileTimes();
    refreshLivePnl();
  }, 5000);
  refreshTimes();
  setInterval(refreshTimes, 1000);
}

main();
