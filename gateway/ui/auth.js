// algogrid UI — the session: login (e-mail, password, authenticator code), account activation with TOTP
// enrolment (QR code drawn by the server as SVG), forgotten password (a one-time link by mail) and its
// reset, logout, and the fetch wrapper every request goes through.
//
// The session lives in HttpOnly cookies the page cannot read; only the CSRF token cookie is readable, and it
// is echoed in X-CSRF-Token on every state-changing request. No session token is ever put in a URL or in
// storage. One-time tokens (activation, reset) arrive in the link's fragment and leave the address bar as
// soon as they are used.
//
// An ended session (expired, revoked, cookies gone) shows the login screen WITHOUT touching the address: the
// page's filters live in the URL, so after the login the same URL is loaded again, filters and all.
"use strict";

const session = (() => {
  const byId = (id) => document.getElementById(id);
  const VIEWS = ["view-login", "view-activate", "view-forgot", "view-reset"];
  let user = null;
  let started = false;  // the app has run once in this page: a later login reloads it at the same URL
  let refreshing = null;
  let leaving = false;  // logging out

  function csrf() {
    const found = document.cookie.split("; ").find((c) => c.startsWith("algogrid_csrf="));
    return found ? decodeURIComponent(found.slice("algogrid_csrf=".length)) : "";
  }

  async function refresh() {
    if (!refreshing) {
      refreshing = fetch("/auth/refresh", { method: "POST", credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf() } }).then((r) => r.ok).finally(() => { refreshing = null; });
    }
    return refreshing;
  }

  const inflight = new Set();  // requests not answered yet: a logout waits for them

  // fetch with the session: CSRF header on unsafe methods, one silent refresh on 401, then the login screen.
  async function authFetch(path, init = {}) {
    const pending = send(path, init);
    inflight.add(pending);
    try { return await pending; } finally { inflight.delete(pending); }
  }

  async function send(path, init) {
    const method = (init.method || "GET").toUpperCase();
    const build = () => {
      const headers = new Headers(init.headers || {});
      if (method !== "GET" && method !== "HEAD") headers.set("X-CSRF-Token", csrf());
      return { ...init, headers, credentials: "same-origin" };
    };
    let response = await fetch(path, build());
    if (response.status === 401 && !path.startsWith("/auth/")) {
      if (await refresh()) response = await fetch(path, build());
      else ended();
    }
    return response;
  }

  function ended() {
    if (leaving || !byId("view-login").hidden) return;
    showLogin("Your session ended: log in again to continue where you were.");
  }

  function show(which) {
    for (const id of VIEWS) byId(id).hidden = id !== which;
    byId("app-shell").hidden = which !== null;
    for (const id of ["modal", "close-dialog"]) { const node = byId(id); if (node) node.hidden = true; }
    const first = which && byId(which).querySelector("input:not([type=hidden])");
    if (first) first.focus();
  }

  function showLogin(message) {
    show("view-login");
    byId("login-message").textContent = message || "";
  }

  async function me() {
    if (!csrf()) return null;  // no session cookie at all: the login screen, without a 401 round trip
    let response = await fetch("/auth/me", { credentials: "same-origin" });
    if (response.status === 401 && await refresh()) response = await fetch("/auth/me", { credentials: "same-origin" });
    return response.ok ? response.json() : null;
  }

  function hashRoute() { return location.hash.split("?")[0]; }

  function tokenFromHash() {
    const query = location.hash.split("?")[1] || "";
    return new URLSearchParams(query).get("token");
  }

  async function reason(response) {
    try { return (await response.json()).reason || response.statusText; } catch (_) { return response.statusText; }
  }

  function postJSON(path, body) {
    return fetch(path, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  }

  function leaveOneTimeLink(message) {  // the token leaves the address bar and the history entry
    history.replaceState(null, "", "/ui/#/login");
    showLogin(message);
  }

  async function startActivation() {
    show("view-activate");
    const token = tokenFromHash();
    const message = byId("activate-message");
    const response = await postJSON("/auth/activate/totp", { token });
    if (!response.ok) { message.textContent = await reason(response); return; }
    const setup = await response.json();
    byId("totp-qr").src = "data:image/svg+xml;base64," + btoa(setup.qr_svg);
    byId("totp-secret").textContent = setup.secret;
    byId("activate-form").onsubmit = async (event) => {
      event.preventDefault();
      const body = { token, password: byId("activate-password").value, totp_code: byId("activate-code").value };
      const done = await postJSON("/auth/activate", body);
      if (!done.ok) { message.textContent = await reason(done); return; }
      byId("activate-password").value = "";
      leaveOneTimeLink("Account activated: log in with your password and a new code.");
    };
  }

  function startForgot() {
    show("view-forgot");
    byId("forgot-message").textContent = "";
    byId("forgot-form").onsubmit = async (event) => {
      event.preventDefault();
      const response = await postJSON("/auth/password/forgot", { email: byId("forgot-email").value.trim() });
      byId("forgot-message").textContent = response.ok
        ? "If an active account has this e-mail, a reset link is on its way. It works once, for one hour."
        : await reason(response);
    };
  }

  function startReset() {
    show("view-reset");
    const token = tokenFromHash();
    byId("reset-message").textContent = "";
    byId("reset-form").onsubmit = async (event) => {
      event.preventDefault();
      const response = await postJSON("/auth/password/reset", { token, password: byId("reset-password").value });
      if (!response.ok) { byId("reset-message").textContent = await reason(response); return; }
      byId("reset-password").value = "";
      leaveOneTimeLink("Password changed: log in with the new password and a code.");
    };
  }

  // The auth screens a hash asks for (links in mails, "Forgot your password?", "Back to log in").
  function authRoute() {
    const route = hashRoute();
    if (route === "#/activate") { startActivation(); return true; }
    if (route === "#/reset") { startReset(); return true; }
    if (route === "#/forgot") { startForgot(); return true; }
    if (route === "#/login") { showLogin(byId("login-message").textContent); return true; }
    return false;
  }

  // Resolve with the user once a session exists (showing login, activation or reset until then).
  function ready() {
    return new Promise((resolve) => {
      byId("login-form").onsubmit = async (event) => {
        event.preventDefault();
        const code = byId("login-code").value.trim();
        const body = { email: byId("login-email").value.trim(), password: byId("login-password").value };
        if (code) body.totp_code = code;
        const response = await postJSON("/auth/session", body);
        if (!response.ok) { byId("login-message").textContent = await reason(response); return; }
        byId("login-password").value = "";
        byId("login-code").value = "";
        if (VIEWS.some((v) => hashRoute() === `#/${v.slice(5)}`)) history.replaceState(null, "", "/ui/#/signals");
        if (started) { location.reload(); return; }  // same URL: the filters come back with the page
        user = await me();
        enter(resolve);
      };
      byId("logout").onclick = async () => {
        leaving = true;
        document.body.dataset.leaving = "true";  // the timers skip their turns: no new request from here on
        document.dispatchEvent(new CustomEvent("algogrid:leaving"));  // the live stream closes
        await Promise.allSettled([...inflight]);  // what is in flight ends with the session it began with
        await authFetch("/auth/logout", { method: "POST" });
        location.hash = "#/login";
        location.reload();
      };
      window.addEventListener("hashchange", () => { if (byId("app-shell").hidden) authRoute(); });
      if (hashRoute() === "#/activate" || hashRoute() === "#/reset" || hashRoute() === "#/forgot") {
        authRoute();
        return;
      }
      me().then((found) => {
        user = found;
        if (user) enter(resolve); else showLogin("");
      });
    });
  }

  function enter(resolve) {
    started = true;
    show(null);
    byId("who").textContent = `${user.email} · ${user.role}`;
    document.body.dataset.role = user.role;
    resolve(user);
  }

  const canTrade = () => Boolean(user) && (user.role === "trader" || user.role === "admin");

  return { authFetch, ready, refresh, ended, canTrade, user: () => user };
})();
