// algogrid UI — the session: login (e-mail, password, authenticator code), account activation with TOTP
// enrolment (QR code drawn by the server as SVG), logout, and the fetch wrapper every request goes through.
// The session lives in HttpOnly cookies the page cannot read; only the CSRF token cookie is readable, and it
// is echoed in X-CSRF-Token on every state-changing request. No token is ever put in a URL or in storage.
"use strict";

const session = (() => {
  const byId = (id) => document.getElementById(id);
  let user = null;
  let refreshing = null;

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

  // fetch with the session: CSRF header on unsafe methods, one silent refresh on 401, then the login screen.
  async function authFetch(path, init = {}) {
    const method = (init.method || "GET").toUpperCase();
    const build = () => {
      const headers = new Headers(init.headers || {});
      if (method !== "GET" && method !== "HEAD") headers.set("X-CSRF-Token", csrf());
      return { ...init, headers, credentials: "same-origin" };
    };
    let response = await fetch(path, build());
    if (response.status === 401 && !path.startsWith("/auth/")) {
      if (await refresh()) response = await fetch(path, build());
      else showLogin("Your session ended: log in again.");
    }
    return response;
  }

  function show(which) {
    for (const id of ["view-login", "view-activate"]) byId(id).hidden = id !== which;
    byId("app-shell").hidden = which !== null;
  }

  function showLogin(message) {
    show("view-login");
    byId("login-message").textContent = message || "";
  }

  async function me() {
    let response = await fetch("/auth/me", { credentials: "same-origin" });
    if (response.status === 401 && await refresh()) response = await fetch("/auth/me", { credentials: "same-origin" });
    return response.ok ? response.json() : null;
  }

  function tokenFromHash() {
    const query = location.hash.split("?")[1] || "";
    return new URLSearchParams(query).get("token");
  }

  async function startActivation() {
    show("view-activate");
    const token = tokenFromHash();
    const message = byId("activate-message");
    const response = await fetch("/auth/activate/totp", { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token }) });
    if (!response.ok) { message.textContent = (await response.json()).reason; return; }
    const setup = await response.json();
    byId("totp-qr").src = "data:image/svg+xml;base64," + btoa(setup.qr_svg);
    byId("totp-secret").textContent = setup.secret;
    byId("activate-form").onsubmit = async (event) => {
      event.preventDefault();
      const body = { token, password: byId("activate-password").value, totp_code: byId("activate-code").value };
      const done = await fetch("/auth/activate", { method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      if (!done.ok) { message.textContent = (await done.json()).reason; return; }
      history.replaceState(null, "", "/ui/#/login");  // the token leaves the address bar
      showLogin("Account activated: log in with your password and a new code.");
    };
  }

  // Resolve with the user once a session exists (showing login or activation until then).
  function ready() {
    return new Promise((resolve) => {
      byId("login-form").onsubmit = async (event) => {
        event.preventDefault();
        const code = byId("login-code").value.trim();
        const body = { email: byId("login-email").value.trim(), password: byId("login-password").value };
        if (code) body.totp_code = code;
        const response = await fetch("/auth/session", { method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
        if (!response.ok) { byId("login-message").textContent = (await response.json()).reason; return; }
        byId("login-password").value = "";
        user = await me();
        if (location.hash.startsWith("#/login")) history.replaceState(null, "", "/ui/#/signals");
        enter(resolve);
      };
      byId("logout").onclick = async () => {
        await authFetch("/auth/logout", { method: "POST" });
        location.hash = "#/login";
        location.reload();
      };
      if (location.hash.startsWith("#/activate")) { startActivation(); return; }
      me().then((found) => {
        user = found;
        if (user) enter(resolve); else showLogin("");
      });
    });
  }

  function enter(resolve) {
    show(null);
    byId("who").textContent = `${user.email} · ${user.role}`;
    resolve(user);
  }

  return { authFetch, ready, refresh, user: () => user };
})();
