// REST calls with the staff token; errors come back readable for a nurse.
//
// The sign-in is kept in the browser's localStorage for this origin, so a
// session page opened in a new tab is signed in like the tab it came from.
// The token is the same short-lived, revocable one (the service refuses it
// after "sign out everywhere", a password change or its expiry, and a 401
// clears it); signing out in one tab clears it, and every other tab of the
// browser hears that (the `storage` event) and signs out too.

import { readableError, readableMessage } from "./format.js";

const TOKEN_KEY = "vitalwatch.token";
const USER_KEY = "vitalwatch.user";
const store = window.localStorage;

export const session = {
  get token() { return store.getItem(TOKEN_KEY); },
  get user() { return JSON.parse(store.getItem(USER_KEY) || "null"); },
  save(token, user) {
    store.setItem(TOKEN_KEY, token);
    store.setItem(USER_KEY, JSON.stringify(user));
  },
  clear() { store.removeItem(TOKEN_KEY); store.removeItem(USER_KEY); },
};

// another tab signed out (or signed in as someone else): this one follows
window.addEventListener("storage", (ev) => {
  if (ev.key !== TOKEN_KEY && ev.key !== null) return;
  if (!ev.newValue || ev.oldValue) window.dispatchEvent(new Event("vitalwatch:logout"));
});

export class ApiError extends Error {
  constructor(status, detail) {
    super(describe(detail) || `Request failed (${status})`);
    this.status = status;
    this.detail = detail;
  }
  /** 422 details as {"hr.high": "message in words"} keyed by the field path after "body". */
  fields() {
    const out = {};
    if (Array.isArray(this.detail)) {
      for (const e of this.detail) out[(e.loc || []).slice(1).join(".")] = readableError(e.loc, e.msg);
    }
    return out;
  }
}

function describe(detail) {
  if (typeof detail === "string") return readableMessage(detail);
  if (Array.isArray(detail)) return detail.map((e) => readableError(e.loc, e.msg)).join("; ");
  return "";
}

export async function login(username, password) {
  const body = new URLSearchParams({ username, password });
  const r = await fetch("/api/v1/auth/token", { method: "POST", body });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new ApiError(r.status, data.detail);
  session.save(data.access_token, { name: username, role: data.role });
  return data;
}

/** The sign-in form of a page (#login-form with #username, #password and
 * #login-error): signs in, forgets the typed password, then `then()`; a refusal
 * is shown in words. */
export function onSignIn(then) {
  const $ = (sel) => document.querySelector(sel);
  $("#login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("#login-error").textContent = "";
    try {
      await login($("#username").value, $("#password").value);
      $("#password").value = "";
      await then();
    } catch (err) { $("#login-error").textContent = err.message; }
  });
}

export async function api(path, { method = "GET", body, params } = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null) url.searchParams.set(k, v);
  }
  const headers = { Authorization: `Bearer ${session.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let r;
  try {
    r = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new ApiError(0, "No answer from the service (network)");
  }
  if (r.status === 401) {
    session.clear();
    window.dispatchEvent(new Event("vitalwatch:logout"));
  }
  const data = r.status === 204 ? null : await r.json().catch(() => null);
  if (!r.ok) throw new ApiError(r.status, data && data.detail);
  return data;
}
