// algogrid UI — the shell: views and routing, the live stream and the timers. Vanilla JS, no build step.
// The trader screens live in their own files, loaded before this one: core.js (helpers, clocks), auth.js
// (session), tiles.js (signal tiles, filters in the URL, virtual scrolling), modal.js (levels, preview, the
// one "Place order" button: the only way an order is placed, E-01), positions.js (open and closed). The
// operator and admin views (ops, supervision tree, admin) live in ops.js and admin.js, which hear
// "algogrid:ready" and "algogrid:view".
"use strict";

let stream = null;  // the live EventSource; closed before a logout (no reconnect meets the ended session)
document.addEventListener("algogrid:leaving", () => { if (stream) stream.close(); });

function connectStream() {
  // authorised by the session cookie; the browser resends Last-Event-ID on reconnect
  const source = new EventSource("/stream", { withCredentials: true });
  stream = source;
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
  source.addEventListener("kill_switch", (event) => {  // the trading state changed (R-04): ops.js redraws
    live(true);
    document.dispatchEvent(new CustomEvent("algogrid:kill_switch", { detail: JSON.parse(event.data) }));
  });
  source.addEventListener("metrics", (event) => {  // the monitor's figures changed (G-03): ops.js re-reads
    live(true);
    document.dispatchEvent(new CustomEvent("algogrid:metrics", { detail: JSON.parse(event.data) }));
  });
}

function refreshTimes() {  // every second: ages, countdowns, stale marks and the market clock
  refreshTileTimes();
  refreshPositionTimes();
  const market = new Date(marketNow()).toISOString().slice(0, 19).replace("T", " ");
  $("clock").textContent = `${market} UTC${clock.speed !== 1 ? ` · ×${clock.speed}` : ""}`;
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
  if (view === "signals") {
    filtersFromUrl();
    layoutTiles(true);
  }
  document.dispatchEvent(new CustomEvent("algogrid:view", { detail: view }));
}

async function main() {
  await session.ready();
  initTiles();
  initModal();
  initPositions();
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") { closeModal(); cancelClose(); } });
  window.addEventListener("hashchange", route);
  document.dispatchEvent(new CustomEvent("algogrid:ready", { detail: session.user() }));
  route();
  await loadClock();
  await loadFeeds();
  connectStream();  // first: a signal stored while the lists load still arrives
  await loadPositions();
  await loadSignals();
  setInterval(async () => {  // feed liveness, marks and funding times; not while the login screen shows
    if ($("app-shell").hidden || document.body.dataset.leaving) return;
    await loadFeeds();
    refreshTileTimes();
    refreshLivePnl();
  }, 5000);
  refreshTimes();
  setInterval(refreshTimes, 1000);
}

main();
