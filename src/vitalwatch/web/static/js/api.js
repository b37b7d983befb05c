// REST calls with the staff token; errors come back readable for a nurse.

import { readableError, readableMessage } from "./format.js";

const TOKEN_KEY = "vitalwatch.token";
const USER_KEY = "vitalwatch.user";

export const session = {
  get token() { return sessionStorage.getItem(TOKEN_KEY); },
  get user() { return JSON.parse(sessionStorage.getItem(USER_KEY) || "null"); },
  save(token, user) {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(USER_KEY, JSON.stringify(user));
  },
  clear() { sessionStorage.removeItem(TOKEN_KEY); sessionStorage.removeItem(USER_KEY); },
};

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
