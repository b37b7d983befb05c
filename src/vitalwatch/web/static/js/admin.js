// The administration page (admin role): staff accounts, monitors, the audit log.
// Everything is built with textContent (no HTML from data), so no stored value
// can become markup.

import { api, onSignIn, session, ApiError } from "./api.js";
import { dateTime } from "./format.js";

const $ = (sel) => document.querySelector(sel);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "dataset") Object.assign(node.dataset, v);
    else if (k in node) node[k] = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(c ?? ""));
  return node;
}

function button(label, onClick, cls = "") {
  const b = el("button", { type: "button", className: cls }, label);
  b.addEventListener("click", () => onClick().catch(showError));
  return b;
}

function when(iso) { return iso ? dateTime(iso) : "—"; }

function showError(err) {
  $("#error").textContent = err instanceof ApiError || err instanceof Error ? err.message : String(err);
}

function notice(text) {
  const n = $("#notice");
  n.textContent = text;
  n.hidden = !text;
  $("#error").textContent = "";
}

// -- staff accounts -------------------------------------------------------------------

let passwordFor = null;
let profileFor = null;
const PROFILE = ["given_name", "family_name", "credentials", "phone", "email"];

function signature(u) {
  const name = [u.given_name, u.family_name].filter(Boolean).join(" ");
  if (!name) return "— (user name only)";
  return u.credentials ? `${name}, ${u.credentials}` : name;
}

// fields left empty are sent as null: cleared
function formValues(form, names) {
  return Object.fromEntries(names.map((n) => [n, form[n].value.trim() || null]));
}

async function loadUsers() {
  const users = await api("/api/v1/users");
  const me = session.user?.name;
  $("#users").replaceChildren(...users.map((u) => {
    const self = u.username === me;
    const actions = el("td", { className: "actions" });
    if (!self) {
      actions.append(
        button(u.active ? "Disable" : "Enable", async () => {
          await api(`/api/v1/users/${u.id}`, { method: "PATCH", body: { active: !u.active } });
          notice(`${u.username} ${u.active ? "disabled: signed out everywhere" : "enabled"}`);
          await loadUsers();
        }, u.active ? "danger" : ""),
        button(u.role === "admin" ? "Make nurse" : "Make admin", async () => {
          await api(`/api/v1/users/${u.id}`, { method: "PATCH", body: { role: u.role === "admin" ? "nurse" : "admin" } });
          notice(`${u.username} is now ${u.role === "admin" ? "nurse" : "admin"} (signed out everywhere)`);
          await loadUsers();
        }),
      );
    }
    actions.append(
      button("Edit profile", async () => {
        profileFor = u;
        $("#profile-user").textContent = u.username;
        for (const n of PROFILE) $("#profile-form")[n].value = u[n] || "";
        $("#profile-form").hidden = false;
        $("#profile-form").given_name.focus();
      }),
      button("Reset password", async () => {
        passwordFor = u;
        $("#password-user").textContent = u.username;
        $("#password-form").hidden = false;
        $("#password-form").password.focus();
      }),
      button("Sign out everywhere", async () => {
        await api(`/api/v1/users/${u.id}/sign-out`, { method: "POST" });
        if (self) { signOut(); return; }
        notice(`${u.username} signed out everywhere`);
      }),
    );
    return el("tr", { className: u.active ? "" : "inactive", dataset: { user: u.username } },
      el("td", {}, u.username), el("td", { dataset: { cell: "signature" } }, signature(u)),
      el("td", {}, u.phone || ""), el("td", {}, u.email || ""), el("td", {}, u.role),
      el("td", {}, u.active ? "active" : "disabled"), el("td", {}, when(u.created_at)), actions);
  }));
}

$("#user-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = ev.target;
  try {
    await api("/api/v1/users", { method: "POST", body: { username: f.username.value, role: f.role.value, password: f.password.value } });
    notice(`created ${f.role.value} ${f.username.value}`);
    f.reset();
    await loadUsers();
  } catch (err) { showError(err); }
});

$("#password-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = ev.target;
  try {
    await api(`/api/v1/users/${passwordFor.id}/password`, { method: "POST", body: { password: f.password.value } });
    notice(`new password set for ${passwordFor.username} (signed out everywhere)`);
    f.reset();
    f.hidden = true;
  } catch (err) { showError(err); }
});
$("#profile-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = ev.target;
  try {
    const u = await api(`/api/v1/users/${profileFor.id}`, { method: "PATCH", body: formValues(f, PROFILE) });
    notice(`profile of ${u.username} saved: ${signature(u)}`);
    f.hidden = true;
    await loadUsers();
  } catch (err) { showError(err); }
});
$("#profile-cancel").addEventListener("click", () => { $("#profile-form").hidden = true; });

$("#password-cancel").addEventListener("click", () => { $("#password-form").reset(); $("#password-form").hidden = true; });

// -- clinic -----------------------------------------------------------------------------

const CLINIC = ["name", "address1", "address2", "city", "state", "zip", "phone"];

async function loadClinic() {
  const c = await api("/api/v1/clinic");
  const f = $("#clinic-form");
  for (const n of CLINIC) f[n].value = c[n] || "";
  f.vitals_interval_min.value = c.vitals_interval_min;
  $("#clinic-zone").textContent = c.time_zone;
  // in the clinic's zone, named, as on the records
  const saved = c.updated_at && new Date(c.updated_at).toLocaleString(undefined, { timeZone: c.time_zone, timeZoneName: "short" });
  $("#clinic-updated").textContent = c.updated_at ? `Last saved by ${c.updated_by} (${saved})` : "Not saved yet";
}

$("#clinic-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = ev.target;
  try {
    await api("/api/v1/clinic", { method: "PUT", body: { ...formValues(f, CLINIC), vitals_interval_min: Number(f.vitals_interval_min.value) } });
    notice("clinic profile saved");
    await loadClinic();
  } catch (err) { showError(err); }
});

// -- monitors ---------------------------------------------------------------------------

function showToken(device) {
  $("#token-device").textContent = device.name;
  $("#token-value").textContent = device.token;
  $("#token-box").hidden = false;
}
$("#token-done").addEventListener("click", () => { $("#token-value").textContent = ""; $("#token-box").hidden = true; });

async function loadDevices() {
  const retired = $("#show-retired").checked;
  const devices = await api("/api/v1/devices", { params: { include_retired: retired ? "true" : undefined } });
  $("#devices").replaceChildren(...devices.map((d) => {
    const name = el("input", { value: d.name, maxLength: 120, ariaLabel: `Name of monitor ${d.id}`, disabled: d.retired });
    const actions = el("td", { className: "actions" });
    if (!d.retired) {
      actions.append(
        button("Rename", async () => {
          await api(`/api/v1/devices/${d.id}`, { method: "PATCH", body: { name: name.value } });
          notice(`monitor ${d.id} renamed to ${name.value}`);
          await loadDevices();
        }),
        button("New token", async () => {
          if (!confirm(`Give ${d.name} a new token? The old one stops working at once.`)) return;
          showToken(await api(`/api/v1/devices/${d.id}/rotate`, { method: "POST" }));
          notice(`${d.name}: new token issued, the old one is refused`);
        }),
        button("Retire", async () => {
          const where = d.session_id ? ` It is in session ${d.session_id} and will leave it.` : "";
          if (!confirm(`Retire ${d.name} for good?${where}`)) return;
          await api(`/api/v1/devices/${d.id}/retire`, { method: "POST" });
          notice(`${d.name} retired`);
          await loadDevices();
        }, "danger"),
      );
    }
    // HL7 identifiers are shown here; their editor belongs to the HL7 work.
    const hl7 = el("td", { dataset: { slot: "hl7" } }, (d.hl7_ids || []).join(", ") || "—");
    return el("tr", { className: d.retired ? "inactive" : "", dataset: { device: String(d.id) } },
      el("td", {}, String(d.id)), el("td", {}, name), el("td", {}, d.model || ""),
      el("td", {}, d.session_id ? `session ${d.session_id}` : "free"), el("td", {}, when(d.last_seen)),
      hl7, el("td", {}, d.retired ? `retired ${when(d.retired_at)}` : "in service"), actions);
  }));
}

$("#device-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = ev.target;
  try {
    const device = await api("/api/v1/devices", { method: "POST", body: { name: f.name.value, model: f.model.value || null } });
    showToken(device);
    f.reset();
    await loadDevices();
  } catch (err) { showError(err); }
});
$("#show-retired").addEventListener("change", () => loadDevices().catch(showError));

// -- audit log --------------------------------------------------------------------------

let oldest = null;

function auditParams() {
  const f = $("#audit-form");
  const iso = (v) => (v ? new Date(v).toISOString() : undefined);
  return {
    actor: f.actor.value || undefined,
    action: f.action.value || undefined,
    session_id: f.session_id.value || undefined,
    since: iso(f.since.value),
    until: iso(f.until.value),
  };
}

async function loadAudit(more = false) {
  const params = { ...auditParams(), limit: 100, before_id: more ? oldest : undefined };
  const rows = await api("/api/v1/audit", { params });
  const body = $("#audit");
  const items = rows.map((r) => el("tr", { dataset: { action: r.action } },
    el("td", {}, when(r.ts)), el("td", {}, r.actor_name || r.actor_type),
    el("td", {}, r.action), el("td", {}, r.entity_id === null ? r.entity : `${r.entity} ${r.entity_id}`),
    el("td", { className: "detail" }, r.detail ? JSON.stringify(r.detail) : "")));
  if (more) body.append(...items); else body.replaceChildren(...items);
  if (rows.length) oldest = rows[rows.length - 1].id;
  $("#audit-more").hidden = rows.length < 100;
}

$("#audit-form").addEventListener("submit", (ev) => { ev.preventDefault(); loadAudit().catch(showError); });
$("#audit-more").addEventListener("click", () => loadAudit(true).catch(showError));
$("#audit-csv").addEventListener("click", async () => {
  try {
    const url = new URL("/api/v1/audit.csv", location.origin);
    for (const [k, v] of Object.entries(auditParams())) if (v !== undefined) url.searchParams.set(k, v);
    const r = await fetch(url, { headers: { Authorization: `Bearer ${session.token}` } });
    if (!r.ok) throw new ApiError(r.status, (await r.json().catch(() => ({}))).detail);
    const link = el("a", { href: URL.createObjectURL(await r.blob()), download: "vitalwatch-audit.csv" });
    document.body.append(link);
    link.click();
    link.remove();
  } catch (err) { showError(err); }
});

// -- page -------------------------------------------------------------------------------

const loaders = { users: loadUsers, clinic: loadClinic, devices: loadDevices, audit: () => loadAudit() };

function showTab(name) {
  for (const b of document.querySelectorAll("[data-tab]")) b.setAttribute("aria-pressed", String(b.dataset.tab === name));
  for (const key of Object.keys(loaders)) $(`#tab-${key}`).hidden = key !== name;
  loaders[name]().catch(showError);
}
for (const b of document.querySelectorAll("[data-tab]")) b.addEventListener("click", () => showTab(b.dataset.tab));

function showView(name) {
  for (const v of ["login", "forbidden", "app"]) $(`#${v}-view`).hidden = v !== name;
}

async function start() {
  let me;
  try { me = await api("/api/v1/auth/me"); } catch (err) { showView("login"); return; }
  if (me.role !== "admin") {
    $("#forbidden-who").textContent = `${me.username} (${me.role})`;
    showView("forbidden");
    return;
  }
  $("#whoami").textContent = `${me.username} (admin)`;
  showView("app");
  showTab("users");
}

function signOut() {
  session.clear();
  showView("login");
}

onSignIn(start);
$("#logout").addEventListener("click", signOut);
$("#forbidden-signout").addEventListener("click", signOut);
window.addEventListener("vitalwatch:logout", () => showView("login"));

if (session.token) start(); else showView("login");
