// algogrid UI — the operator screens, vanilla JS without a build step:
// * the kill-switch banner on every page: state (ACTIVE / REDUCING / HALTED), who, why and when; an
//   admin engages or releases it after re-authenticating with password and authenticator code (U-05);
// * Ops: performance (WR, PF, MaxDD, net expectancy, median slippage vs modelled), the forward-validation
//   phase ("X/30 days", S-07), calibration runs (S-05) and reconciliation findings (C-01..C-04);
// * Supervision: the live tree with status colours, restarts, last failure and mailbox depth, and a crash
//   button per actor for admins when the gateway runs with fault injection (DESIGN §4).
// Each screen asks only the routes its viewer's role may call (the access matrix), so nothing is refused.
// admin.js builds on the small kit this file exports as `ops`.
"use strict";

const ops = (() => {
  const byId = (id) => document.getElementById(id);
  const TRADER = new Set(["trader", "admin"]);
  const st = { user: null, faults: false, view: null, timer: null, reauthEnable: true, started: false };

  // ---------------------------------------------------------------------------------------------- kit
  function h(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value == null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) if (child != null) node.append(child);
    return node;
  }

  // Answer {ok, status, body}; the body is parsed JSON or null, never thrown away.
  async function send(method, path, body) {
    const init = { method };
    if (body !== undefined) {
      init.headers = { "Content-Type": "application/json" };
      init.body = JSON.stringify(body);
    }
    const response = await session.authFetch(path, init);
    let parsed = null;
    try { parsed = await response.json(); } catch (_) { /* 202/204: no body */ }
    return { ok: response.ok, status: response.status, body: parsed };
  }

  async function read(path) {
    const answer = await send("GET", path);
    if (!answer.ok) throw new Error(reasonOf(answer));
    return answer.body;
  }

  // A refusal in plain words: the server's reason, or what the status means.
  function reasonOf(answer) {
    if (answer.body && answer.body.reason) return answer.body.reason;
    return { 403: "your role may not do this", 503: "the engine did not answer in time" }[answer.status]
      || `the server answered ${answer.status}`;
  }

  function when(iso) {
    if (!iso) return "—";
    return `${new Date(iso).toISOString().slice(0, 16).replace("T", " ")} UTC`;
  }

  function table(node, head, rows) {
    node.replaceChildren(h("thead", {}, h("tr", {}, ...head.map((t) => h("th", { scope: "col", text: t })))),
      h("tbody", {}, ...rows));
  }

  function isAdmin() { return Boolean(st.user && st.user.role === "admin"); }

  // ------------------------------------------------------------------------------------------- banner
  async function refreshBanner() {
    let ks;
    try { ks = await read("/admin/kill_switch"); } catch (err) {
      byId("ks-state").textContent = "trading state unknown";
      byId("ks-detail").textContent = err.message;
      return;
    }
    const banner = byId("ks-banner");
    banner.dataset.state = ks.state;
    banner.className = `ks-banner ks-${ks.state.toLowerCase()}`;
    byId("ks-state").textContent = ks.state === "ACTIVE" ? "Trading ACTIVE" : `Kill switch engaged: ${ks.state}`;
    const who = ks.changed_by_email || ks.changed_by;
    const why = ks.reason ? ` · reason: ${ks.reason}` : "";
    byId("ks-detail").textContent = `set by ${who} at ${when(ks.changed_at)}${why}`;
    const action = byId("ks-action");
    action.hidden = !isAdmin();
    action.textContent = ks.kill_switch ? "Release kill switch" : "Engage kill switch";
    action.className = `ops-btn ${ks.kill_switch ? "" : "danger-aa"}`;
    action.dataset.enable = ks.kill_switch ? "false" : "true";
  }

  function openReauth() {
    st.reauthEnable = byId("ks-action").dataset.enable !== "false";
    byId("reauth-title").textContent = st.reauthEnable ? "Engage the kill switch" : "Release the kill switch";
    byId("reauth-what").textContent = st.reauthEnable
      ? "New signals and orders are blocked until an admin releases it. Confirm it is you."
      : "Trading returns to ACTIVE. Confirm it is you.";
    byId("reauth-state-row").hidden = !st.reauthEnable;
    for (const id of ["reauth-reason", "reauth-password", "reauth-code"]) byId(id).value = "";
    byId("reauth-message").textContent = "";
    byId("reauth").hidden = false;
    byId("reauth-reason").focus();
  }

  function closeReauth() {
    byId("reauth-password").value = "";
    byId("reauth-code").value = "";
    byId("reauth").hidden = true;
    byId("ks-action").focus();
  }

  async function submitReauth(event) {
    event.preventDefault();
    const submit = byId("reauth-submit");
    submit.disabled = true;
    const body = {
      enabled: st.reauthEnable, reason: byId("reauth-reason").value.trim(), state: byId("reauth-state").value,
      password: byId("reauth-password").value, totp_code: byId("reauth-code").value.trim(),
    };
    byId("reauth-password").value = "";  // a secret stays in the page no longer than one request
    byId("reauth-code").value = "";
    try {
      const answer = await send("POST", "/admin/kill_switch", body);
      if (!answer.ok) {
        byId("reauth-message").textContent = `Not done: ${reasonOf(answer)}.`;
        byId("reauth-password").focus();
        return;
      }
      closeReauth();
      await refreshBanner();
    } finally {
      submit.disabled = false;
    }
  }

  // ---------------------------------------------------------------------------------------------- ops
  const METRICS = [
    ["win_rate", "Win rate", (v) => `${(Number(v) * 100).toFixed(1)} %`],
    ["profit_factor", "Profit factor", (v) => Number(v).toFixed(2)],
    ["max_drawdown_pct", "Max drawdown", (v) => `${Number(v).toFixed(2)} %`],
    ["net_expectancy_r", "Net expectancy", (v) => `${Number(v).toFixed(3)} R`],
    ["median_slippage_bps", "Median slippage", (v) => `${Number(v).toFixed(2)} bps`],
    ["median_modelled_slippage_bps", "Modelled slippage", (v) => `${Number(v).toFixed(2)} bps`],
    ["trades", "Closed trades", (v) => String(v)],
  ];

  function metric(key, label, text, raw, note) {
    return h("div", { class: "metric", "data-metric": key, "data-value": raw == null ? "" : String(raw) },
      h("span", { class: "metric-label", text: label }), h("span", { class: "metric-value", text }),
      note ? h("span", { class: "metric-note dim", text: note }) : null);
  }

  function renderMetrics(status) {
    byId("metrics-window").textContent = `last ${status.window_days} days`;
    const cards = METRICS.map(([key, label, fmt]) => {
      const raw = status[key];
      return metric(key, label, raw == null ? "—" : fmt(raw), raw,
        key === "median_slippage_bps" ? `${status.slippage_fills} fills` : null);
    });
    byId("metrics").replaceChildren(...cards);
  }

  function renderForward(fw) {
    const shown = Math.min(fw.days, fw.min_days);
    const bar = h("progress", { id: "forward-progress", max: String(fw.min_days), value: String(shown),
      "aria-label": `forward validation ${fw.progress}` });
    const m = fw.metrics;
    const wr = m && m.win_rate != null ? `${(Number(m.win_rate) * 100).toFixed(1)} %` : "—";
    const line = m ? `${m.trades} simulated trades · WR ${wr}`
      + ` · PF ${m.profit_factor == null ? "—" : Number(m.profit_factor).toFixed(2)}`
      + ` · slippage ${m.actual_slippage_bps ?? "—"} vs ${m.modelled_slippage_bps ?? "—"} bps modelled` : "";
    const started = fw.started_at ? `started ${when(fw.started_at)}`
      : "No forward phase has run yet: it starts with algogrid run and forward.enabled.";
    byId("forward").replaceChildren(...[
      h("div", { class: "forward-head" }, h("strong", { id: "forward-text", text: fw.progress }), bar,
        h("span", { class: `pill fw-${fw.status}`, text: fw.status })),
      h("div", { class: "dim", text: started }),
      line ? h("div", { text: line }) : null,
      fw.reasons.length ? h("ul", { class: "reasons" }, ...fw.reasons.map((r) => h("li", { text: r }))) : null,
    ].filter(Boolean));  // replaceChildren would write a null as the text "null"
  }

  function renderCalibration(page) {
    const rows = page.items.map((run) => h("tr", { "data-version": String(run.version) },
      h("td", {}, `v${run.version}`, run.version === page.active_version
        ? h("span", { class: "pill fw-passed", text: "in force" }) : null),
      h("td", { text: run.status }), h("td", { text: `${run.start_date} → ${run.end_date}` }),
      h("td", { text: `${run.progress_days}/${run.total_days} days` }), h("td", { text: when(run.started_at) }),
      h("td", { text: when(run.finished_at) }), h("td", { text: run.triggered_by || "—" })));
    if (!rows.length) rows.push(h("tr", {}, h("td", { colspan: "7", class: "dim", text: "no calibration run yet" })));
    table(byId("calibration"), ["Version", "Status", "Data", "Progress", "Started", "Finished", "By"], rows);
  }

  function renderReconciliation(rec) {
    const last = rec.passes[0];
    const hold = rec.hold ? "New exposure is held until the findings are clean or acknowledged."
      : "New exposure is allowed.";
    byId("recon-summary").textContent = `${hold} Last pass: ${last ? when(last.started_at) : "none yet"}`
      + ` · every ${Math.round(rec.interval_s)} s · lock: ${rec.lock_holder || "free"}`;
    const open = rec.open_findings;
    const rows = open.map((f) => h("tr", { "data-finding": String(f.id ?? f.key), class: `sev-${f.severity}` },
      h("td", { text: f.severity }), h("td", { text: f.kind }), h("td", { text: f.symbol || "—" }),
      h("td", { text: when(f.since) }),
      h("td", { class: "details", text: Object.entries(f.details).map(([k, v]) => `${k}: ${v}`).join(", ") }),
      h("td", {}, f.acknowledged ? "acknowledged" : isAdmin() && f.id != null
        ? h("button", { class: "ops-btn", type: "button", onclick: () => acknowledge([f.id]),
          text: "Acknowledge" }) : "open")));
    if (!rows.length) rows.push(h("tr", {}, h("td", { colspan: "6", class: "dim", text: "no open findings" })));
    table(byId("recon-findings"), ["Severity", "Kind", "Symbol", "Since", "Details", ""], rows);
  }

  async function acknowledge(ids) {
    const answer = await send("POST", "/admin/reconciliation/acknowledge", { ids });
    byId("recon-message").textContent = answer.ok
      ? `Acknowledged ${answer.body.acknowledged.length} finding(s).` : `Not acknowledged: ${reasonOf(answer)}.`;
    refreshOps();
  }

  async function refreshOps() {
    const jobs = [
      ["/admin/status", renderMetrics, "metrics"], ["/admin/forward", renderForward, "forward"],
      ["/admin/calibration/runs?limit=10", renderCalibration, "calibration"],
      ["/admin/reconciliation/status", renderReconciliation, "recon-summary"],
    ];
    await Promise.all(jobs.map(async ([path, render, where]) => {
      try { render(await read(path)); } catch (err) {
        byId(where).replaceChildren(h("span", { class: "dim", text: `unavailable: ${err.message}` }));
      }
    }));
    byId("ops-updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  }

  async function refreshMetrics() {  // SSE "metrics": redraw the cards now rather than at the next poll
    if (st.view !== "ops" || !TRADER.has(st.user.role) || document.hidden) return;
    try { renderMetrics(await read("/admin/status")); } catch (_) { /* the poll shows why on its turn */ }
  }

  // -------------------------------------------------------------------------------------- supervision
  function treeNode(node) {
    const name = node.path.split("/").pop();
    const failure = node.last_failure;
    const title = failure ? `last failure: ${failure.type}: ${failure.message} at ${failure.at}` : "no failure";
    const leaf = !node.children || node.children.length === 0;
    const crash = st.faults && isAdmin() && leaf
      ? h("button", { class: "danger", type: "button", "aria-label": `crash ${node.path}`,
        onclick: (e) => { e.stopPropagation(); crashActor(node.path); }, text: "crash" })
      : null;
    const box = h("div", { class: `node st-${node.status} ${failure ? "has-failure" : ""}`, "data-path": node.path,
      "data-status": node.status, title },
      h("span", { class: `dot s-${node.status}`, "aria-hidden": "true" }),
      h("span", { class: "name", text: name }),
      h("span", { class: "kind", text: node.kind }),
      h("span", { class: "nstatus", text: node.status }),
      node.uptime_s != null ? h("span", { class: "dim", text: `up ${Math.round(node.uptime_s)}s` }) : null,
      node.mailbox != null ? h("span", { class: "mailbox", title: "mailbox depth", "data-mailbox": String(node.mailbox),
        text: `✉ ${node.mailbox}` }) : null,
      failure ? h("span", { class: "failure", text: `${failure.type} at ${when(failure.at)}` }) : null,
      h("span", { class: `restarts ${node.restarts > 0 ? "hot" : ""}`, title: "restarts",
        "data-restarts": String(node.restarts), text: `↻ ${node.restarts}` }),
      crash);
    const kids = (node.children || []).map(treeNode);
    return h("li", {}, box, kids.length ? h("ul", {}, ...kids) : null);
  }

  async function refreshTree() {
    try {
      const tree = await read("/admin/supervision");
      byId("tree").replaceChildren(h("ul", {}, treeNode(tree)));
      byId("tree-updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      byId("tree-updated").textContent = `tree unavailable (${err.message})`;
    }
  }

  async function crashActor(path) {
    const answer = await send("POST", "/admin/faults", { path, kind: "crash" });
    byId("tree-message").textContent = answer.ok ? `Crash injected into ${path}.`
      : `Fault refused: ${reasonOf(answer)}.`;
    refreshTree();
  }

  // ------------------------------------------------------------------------------------------- routing
  // Polling periods (ms) and who may see each view; a hidden tab skips its turns, so open tabs stay within
  // the gateway's IP limit.
  const ADMIN = new Set(["admin"]);
  const REFRESH = { ops: [refreshOps, 10000, TRADER], supervision: [refreshTree, 1500, ADMIN],
    admin: [() => {}, 0, ADMIN] };

  function denied(view) {  // a page typed into the address bar that the role may not open says so
    const section = byId(`view-${view}`);
    if (!section.querySelector(".ops-denied")) {
      section.prepend(h("p", { class: "ops-message bad ops-denied", role: "alert",
        text: `Your role (${st.user.role}) may not open this page.` }));
    }
  }
  const BANNER_MS = 5000;
  // a hidden tab, a signed-out page (the login screen over the shell) or one logging out skips its turn:
  // no request without a session, so no 401 in the console after a logout
  const whenShown = (job) => () => {
    if (!document.hidden && !byId("app-shell").hidden && !document.body.dataset.leaving) job();
  };

  function onView(view) {
    st.view = view;
    clearInterval(st.timer);
    st.timer = null;
    const job = REFRESH[view];
    if (!job || !st.user) return;
    if (!job[2].has(st.user.role)) { denied(view); return; }
    if (!job[1]) return;  // admin.js draws its own view
    job[0]();
    st.timer = setInterval(whenShown(job[0]), job[1]);
  }

  async function start(user) {
    if (st.started || !user) return;
    st.started = true;
    st.user = user;
    byId("nav-ops").hidden = !TRADER.has(user.role);
    byId("nav-supervision").hidden = !isAdmin();
    byId("nav-admin").hidden = !isAdmin();
    if (isAdmin()) {
      try {
        const doc = await (await fetch("/openapi.json", { credentials: "same-origin" })).json();
        st.faults = Boolean(doc.paths["/admin/faults"]);
      } catch (_) { st.faults = false; }
    }
    byId("ks-action").addEventListener("click", openReauth);
    byId("reauth-form").addEventListener("submit", submitReauth);
    byId("reauth-cancel").addEventListener("click", closeReauth);
    byId("reauth").addEventListener("keydown", (e) => { if (e.key === "Escape") closeReauth(); });
    await refreshBanner();
    setInterval(whenShown(refreshBanner), BANNER_MS);
    document.addEventListener("visibilitychange", () => { if (!document.hidden) refreshBanner(); });
    document.addEventListener("algogrid:kill_switch", () => refreshBanner());  // SSE: a change, at once
    document.addEventListener("algogrid:metrics", refreshMetrics);  // SSE: the monitor's figures changed
    if (st.view) onView(st.view);
    document.dispatchEvent(new CustomEvent("algogrid:ops-ready", { detail: user }));
  }

  document.addEventListener("algogrid:ready", (e) => start(e.detail));
  document.addEventListener("algogrid:view", (e) => onView(e.detail));

  return { h, send, read, reasonOf, when, table, isAdmin, user: () => st.user };
})();
