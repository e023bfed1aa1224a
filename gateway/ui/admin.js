// algogrid UI — the admin screens (U-01, U-06..U-08, U-11, O-02), vanilla JS without a build step:
// * users: create (one-time activation link), change role, deactivate or reactivate, reset 2FA;
// * Bybit API keys: add, rotate (a new key turns the old one inactive), deactivate. The secret is sent once,
//   cleared from the form at once and never shown back (the server answers only the key's last characters);
// * settings: edit, review the difference, then PATCH /config (validated and audited server side);
// * the audit log with filters (actor, action prefix, time range) and pages.
// Built on the kit of ops.js; loaded for admins only (the access matrix refuses everyone else).
"use strict";

(() => {
  const { h, send, read, reasonOf, when, table } = ops;
  const byId = (id) => document.getElementById(id);
  const st = { users: [], config: null, pending: null, rotateFrom: null, wired: false,
    audit: { offset: 0, limit: 25, next: null } };

  function say(id, text, good) {
    const box = byId(id);
    box.className = `ops-message ${good ? "ok" : "bad"}`;
    box.replaceChildren(...(Array.isArray(text) ? text : [text]));
  }

  // ---------------------------------------------------------------------------------------------- users
  async function loadUsers() {
    st.users = (await read("/users")).items;
    const me = ops.user().id;
    const rows = st.users.map((u) => {
      const role = h("select", { "aria-label": `role of ${u.email}`, class: "user-role",
        onchange: (e) => patchUser(u, { role: e.target.value }, `${u.email} is now ${e.target.value}.`) },
      ...["viewer", "trader", "admin"].map((r) => h("option", { value: r, selected: r === u.role, text: r })));
      const toggle = h("button", { class: `ops-btn ${u.is_active ? "danger-aa" : ""}`, type: "button",
        "data-action": u.is_active ? "deactivate" : "reactivate", disabled: u.id === me,
        onclick: () => patchUser(u, { is_active: !u.is_active },
          `${u.email} is ${u.is_active ? "deactivated: their sessions ended" : "active again"}.`),
        text: u.is_active ? "Deactivate" : "Reactivate" });
      const reset = h("button", { class: "ops-btn", type: "button", "data-action": "reset", disabled: u.id === me,
        onclick: () => patchUser(u, { reset: true }, `${u.email} must set up password and 2FA again.`),
        text: "Reset 2FA" });
      return h("tr", { "data-user-id": u.id, "data-email": u.email, "data-active": String(u.is_active) },
        h("td", { text: u.email }), h("td", {}, role),
        h("td", { class: "ustatus", text: !u.is_active ? "inactive" : u.activated ? "active" : "awaiting activation" }),
        h("td", { text: u.totp_enabled ? "on" : "off" }), h("td", { text: when(u.last_login_at) }),
        h("td", { class: "actions" }, toggle, reset));
    });
    table(byId("users"), ["E-mail", "Role", "Status", "2FA", "Last login", "Actions"], rows);
  }

  function linkNote(text, link) {
    return link ? [`${text} One-time link to pass on (valid 48 h): `, h("code", { class: "link", text: link })] : text;
  }

  async function patchUser(user, change, done) {
    const answer = await send("PATCH", `/users/${encodeURIComponent(user.id)}`, change);
    if (answer.ok) say("user-message", linkNote(done, answer.body && answer.body.activation_link), true);
    else say("user-message", `Not changed: ${reasonOf(answer)}.`, false);
    await loadUsers();
  }

  async function createUser(event) {
    event.preventDefault();
    const email = byId("user-email").value.trim();
    const answer = await send("POST", "/users", { email, role: byId("user-role").value });
    if (!answer.ok) { say("user-message", `Not created: ${reasonOf(answer)}.`, false); return; }
    byId("user-email").value = "";
    say("user-message", linkNote(`Created ${email}.`, answer.body.activation_link), true);
    await loadUsers();
  }

  // ----------------------------------------------------------------------------------------- API keys
  async function loadKeys() {
    const items = (await read("/api-keys")).items;
    const emails = new Map(st.users.map((u) => [u.id, u.email]));
    const rows = items.map((k) => h("tr",
      { "data-key-id": k.id, "data-label": k.label, "data-active": String(k.is_active) },
      h("td", { text: k.label }), h("td", { text: emails.get(k.user_id) || k.user_id }),
      h("td", { text: k.environment }), h("td", { class: "mono", text: k.api_key_hint }),
      h("td", { text: k.is_active ? "active" : "inactive" }), h("td", { text: when(k.created_at) }),
      h("td", { text: when(k.last_used_at) }),
      h("td", { class: "actions" }, k.is_active ? h("button", { class: "ops-btn", type: "button",
        "data-action": "rotate", onclick: () => startRotation(k), text: "Rotate" }) : null,
      k.is_active ? h("button", { class: "ops-btn danger-aa", type: "button", "data-action": "deactivate",
        onclick: () => deactivateKey(k), text: "Deactivate" }) : null)));
    if (!rows.length) rows.push(h("tr", {}, h("td", { colspan: "8", class: "dim", text: "no API keys yet" })));
    table(byId("keys"), ["Label", "Owner", "Venue", "Key", "Status", "Added", "Last used", "Actions"], rows);
  }

  function startRotation(key) {
    st.rotateFrom = key.id;
    byId("key-label").value = `${key.label}-rotated`;
    byId("key-env").value = key.environment;
    byId("key-submit").textContent = `Rotate ${key.label}`;
    byId("key-cancel-rotate").hidden = false;
    byId("key-key").focus();
  }

  function endRotation() {
    st.rotateFrom = null;
    byId("key-submit").textContent = "Add key";
    byId("key-cancel-rotate").hidden = true;
  }

  async function addKey(event) {
    event.preventDefault();
    const body = { label: byId("key-label").value.trim(), api_key: byId("key-key").value.trim(),
      api_secret: byId("key-secret").value, environment: byId("key-env").value };
    if (st.rotateFrom) body.rotate_from = st.rotateFrom;
    byId("key-secret").value = "";  // the secret leaves the page with this one request
    byId("key-key").value = "";
    const answer = await send("POST", "/api-keys", body);
    body.api_secret = null;
    if (!answer.ok) {
      say("key-message", `Not added: ${reasonOf(answer)}. Enter the key and secret again.`, false);
      return;
    }
    byId("key-label").value = "";
    say("key-message", `${st.rotateFrom ? "Rotated to" : "Added"} ${answer.body.label} (${answer.body.api_key_hint}); `
      + "the secret is encrypted and never shown again.", true);
    endRotation();
    await loadKeys();
  }

  async function deactivateKey(key) {
    const answer = await send("DELETE", `/api-keys/${encodeURIComponent(key.id)}`);
    say("key-message", answer.ok ? `${key.label} is inactive.` : `Not changed: ${reasonOf(answer)}.`, answer.ok);
    await loadKeys();
  }

  // ----------------------------------------------------------------------------------------- settings
  // A stored override differing from the running value is named under the field: hot keys run it already,
  // the others take it at the next start (the answer of PATCH /config says which).
  function field(section, key, value, stored) {
    const id = `cfg-${section}-${key}`;
    const common = { id, "data-section": section, "data-key": key, "data-type": typeof value };
    const input = typeof value === "boolean" ? h("input", { ...common, type: "checkbox", checked: value })
      : h("input", { ...common, value: String(value), inputmode: typeof value === "number" ? "decimal" : null });
    const saved = stored !== undefined && String(stored) !== String(value)
      ? h("span", { class: "cfg-saved", id: `${id}-saved`, text: `saved: ${stored}` }) : null;
    return h("div", { class: "cfg-field" }, h("label", { for: id, text: key }), input, saved);
  }

  async function loadSettings() {
    st.config = await read("/config");
    const parts = st.config.editable.map((section) => {
      const values = st.config.sections[section];
      const stored = st.config.overrides[section] || {};
      const simple = Object.entries(values).filter(([, v]) => v !== null && typeof v !== "object");
      return h("fieldset", { class: "cfg-section" }, h("legend", { text: section }),
        ...simple.map(([k, v]) => field(section, k, v, stored[k])));
    });
    byId("settings").replaceChildren(...parts);
    byId("settings-review").hidden = true;
  }

  function reviewSettings(event) {
    event.preventDefault();
    const changes = {};
    const rows = [];
    for (const input of byId("settings").querySelectorAll("input[data-key]")) {
      const { section, key, type } = input.dataset;
      const before = st.config.sections[section][key];
      let after;
      if (type === "boolean") after = input.checked;
      else if (type === "number") {
        after = Number(input.value);
        if (input.value.trim() === "" || Number.isNaN(after)) {
          say("settings-message", `${section}.${key} must be a number.`, false);
          input.focus();
          return;
        }
      } else after = input.value;
      if (String(after) === String(before)) continue;
      (changes[section] ||= {})[key] = after;
      rows.push(h("tr", { "data-change": `${section}.${key}` }, h("td", { text: `${section}.${key}` }),
        h("td", { class: "old", text: String(before) }), h("td", { class: "new", text: String(after) })));
    }
    if (!rows.length) {
      say("settings-message", "Nothing changed.", false);
      byId("settings-review").hidden = true;
      return;
    }
    st.pending = changes;
    table(byId("config-diff"), ["Setting", "Now", "After"], rows);
    byId("settings-review").hidden = false;
    say("settings-message", "Review the changes, then apply.", true);
    byId("settings-apply").focus();
  }

  async function applySettings() {
    if (!st.pending) return;
    const answer = await send("PATCH", "/config", st.pending);
    st.pending = null;
    if (!answer.ok) { say("settings-message", `Not applied: ${reasonOf(answer)}.`, false); return; }
    const now = answer.body.applied_now.length ? ` Applied now: ${answer.body.applied_now.join(", ")}.` : "";
    const later = answer.body.restart_required.length
      ? ` At the next start: ${answer.body.restart_required.join(", ")}.` : "";
    await loadSettings();
    say("settings-message", `Saved and audited.${now}${later}`, true);
    loadAudit();
  }

  // ---------------------------------------------------------------------------------------- audit log
  async function loadAudit() {
    const a = st.audit;
    const query = new URLSearchParams({ limit: String(a.limit), offset: String(a.offset) });
    const actor = byId("audit-actor").value.trim();
    const action = byId("audit-action").value.trim();
    if (actor) query.set("actor", actor);
    if (action) query.set("action", action);
    for (const [name, id] of [["since", "audit-since"], ["until", "audit-until"]]) {
      const value = byId(id).value;
      if (value) query.set(name, new Date(value).toISOString());  // the browser's local time, sent as UTC
    }
    const answer = await send("GET", `/admin/audit?${query}`);
    if (!answer.ok) { say("audit-message", `Cannot filter: ${reasonOf(answer)}.`, false); return; }
    byId("audit-message").textContent = "";
    const page = answer.body;
    a.next = page.next_offset;
    const rows = page.items.map((r) => h("tr", { "data-audit-id": String(r.id), "data-action": r.action },
      h("td", { text: when(r.at) }), h("td", { class: "actor", text: r.actor_email || r.actor }),
      h("td", { class: "action", text: r.action }),
      h("td", { text: r.target_type ? `${r.target_type}${r.target_id ? ":" + r.target_id : ""}` : "—" }),
      h("td", { class: "details mono", text: JSON.stringify(r.details) }), h("td", { text: r.ip || "—" })));
    if (!rows.length) rows.push(h("tr", {}, h("td", { colspan: "6", class: "dim", text: "no matching entries" })));
    table(byId("audit"), ["When", "Actor", "Action", "Target", "Details", "From"], rows);
    byId("audit-prev").disabled = a.offset === 0;
    byId("audit-next").disabled = a.next == null;
    byId("audit-page").textContent = page.items.length
      ? `entries ${a.offset + 1}–${a.offset + page.items.length}` : "";
  }

  // ------------------------------------------------------------------------------------------- wiring
  function wire() {
    if (st.wired) return;
    st.wired = true;
    byId("user-form").addEventListener("submit", createUser);
    byId("key-form").addEventListener("submit", addKey);
    byId("key-cancel-rotate").addEventListener("click", () => { endRotation(); byId("key-label").value = ""; });
    byId("settings-form").addEventListener("submit", reviewSettings);
    byId("settings-apply").addEventListener("click", applySettings);
    byId("settings-discard").addEventListener("click", () => { st.pending = null; loadSettings(); });
    byId("audit-form").addEventListener("submit", (e) => { e.preventDefault(); st.audit.offset = 0; loadAudit(); });
    byId("audit-prev").addEventListener("click", () => {
      st.audit.offset = Math.max(0, st.audit.offset - st.audit.limit); loadAudit();
    });
    byId("audit-next").addEventListener("click", () => {
      if (st.audit.next != null) { st.audit.offset = st.audit.next; loadAudit(); }
    });
  }

  async function show() {
    if (!ops.isAdmin()) return;
    wire();
    // users first: the keys table names each key's owner by e-mail
    const parts = [["user", loadUsers], ["key", loadKeys], ["settings", loadSettings], ["audit", loadAudit]];
    for (const [where, load] of parts) {
      try { await load(); } catch (err) { say(`${where}-message`, `Unavailable: ${err.message}.`, false); }
    }
  }

  // ops.js knows the user before app.js routes, so a view event always finds the role decided.
  document.addEventListener("algogrid:view", (e) => { if (e.detail === "admin") show(); });
})();
