// Shared by the record pages: sign in (js/api.js), the navigation bar (or, on
// a page a nurse charts on, the station's frame with the live ward), small helpers.

import { login, session } from "./api.js";
import { startWardPage } from "./chrome.js";
import { fromInput } from "./clinic-time.js";
import { ZONE, ZONE_NOTE, clock, esc, dateTime as clinicDateTime } from "./format.js";

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

/** The numeric id in the page's path: /sessions/12/record -> 12 (position from the start). */
export function pathId(index = 1) {
  return Number(location.pathname.split("/").filter(Boolean)[index]);
}

export function time(iso) {
  return clock(iso, false);
}

export const dateTime = clinicDateTime; // the clinic's locale (js/format.js)

/** A datetime-local input's value, read as the clinic's time, as RFC 3339 UTC
 *  (empty: undefined, meaning "now"). */
export function inputTime(value) {
  return fromInput(value)?.toISOString();
}

function nav() {
  const user = session.user;
  return `<header class="topbar"><strong class="brand"><a href="/">VitalWatch</a></strong>
    <a href="/">Central station</a><a href="/patients">Patients</a><a href="/rems/due">REMS forms due</a>
    <span class="spacer"></span><span class="muted" data-testid="clinic-zone">${esc(ZONE_NOTE)}</span>
    <span class="muted">${esc(user?.name ?? "")} (${esc(user?.role ?? "")})</span>
    <button type="button" id="page-logout">Sign out</button></header>`;
}

/** Sign in if needed, then draw the bar and call `start()`; a 401 brings the form back.
 *  `ward`: the page keeps the ward on screen (ward strip, sound, connection
 *  banner: js/chrome.js), `currentId` the session it is about. */
export function startPage(start, { ward = false, currentId = null } = {}) {
  const root = $("#page");
  const show = async () => {
    if (ward) startWardPage($("#page-nav"), { currentId });
    else {
      $("#page-nav").innerHTML = nav();
      $("#page-logout").addEventListener("click", () => { session.clear(); location.reload(); });
    }
    root.hidden = false;
    $("#page-login").hidden = true;
    for (const el of $$("[data-zone]")) el.textContent = ZONE; // a typed time is the clinic's
    try { await start(); } catch (err) { showError(err); }
  };
  window.addEventListener("vitalwatch:logout", () => location.reload());
  if (session.token) { show(); return; }
  const form = $("#page-login");
  form.hidden = false;
  form.innerHTML = `<div class="card"><h1>VitalWatch</h1><p class="muted">Sign in</p>
    <label>User name <input id="username" autocomplete="username" required></label>
    <label>Password <input id="password" type="password" autocomplete="current-password" required></label>
    <button type="submit" class="primary">Sign in</button><p class="error" id="login-error" role="alert"></p></div>`;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await login($("#username").value, $("#password").value);
      show();
    } catch (err) { $("#login-error").textContent = err.message; }
  });
}

export function showError(err, where = "#page-error") {
  const box = $(where);
  if (box) box.textContent = err ? (err.message || String(err)) : "";
  if (err) console.warn(err);
}

/** Fetch a non-JSON staff resource (report HTML, PDF) with the token. */
export async function fetchWithToken(path) {
  const r = await fetch(path, { headers: { Authorization: `Bearer ${session.token}` } });
  if (!r.ok) {
    const body = await r.json().catch(() => ({}));
    throw new Error(typeof body.detail === "string" ? body.detail : `Request failed (${r.status})`);
  }
  return r;
}
