// Admin page: secondary notification targets, the escalation chain and what was sent.
import { ApiError, api, login, session } from "./api.js";
import { dateTime } from "./format.js";

const $ = (id) => document.getElementById(id);
const KINDS = { webhook: "Signed webhook", ntfy: "ntfy push", email: "E-mail", apprise: "apprise" };
let targets = [];
let refresh = null;

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  for (const c of children) node.append(c);
  return node;
}

function when(iso) {
  return dateTime(iso);
}

function showError(where, e) {
  $(where).textContent = e instanceof ApiError || e instanceof Error ? e.message : String(e);
}

async function loadTargets() {
  targets = await api("/api/v1/notify/targets");
  const body = $("targets");
  body.replaceChildren();
  for (const t of targets) {
    const result = el("td", { className: "muted" });
    result.dataset.testid = `test-result-${t.id}`;
    const test = el("button", { type: "button", textContent: "Send test notification" });
    test.dataset.testid = `test-${t.id}`;
    test.addEventListener("click", async () => {
      test.disabled = true;
      result.textContent = "sending…";
      try {
        const r = await api(`/api/v1/notify/targets/${t.id}/test`, { method: "POST" });
        result.textContent = r.ok ? `Delivered: ${r.outcome}` : `Failed: ${r.outcome}`;
        result.className = r.ok ? "ok-text" : "error";
      } catch (e) { result.textContent = e.message; result.className = "error"; }
      test.disabled = false;
    });
    const toggle = el("button", { type: "button", textContent: t.enabled ? "Disable" : "Enable" });
    toggle.addEventListener("click", () => change(() =>
      api(`/api/v1/notify/targets/${t.id}`, { method: "PATCH", body: { enabled: !t.enabled } })));
    const remove = el("button", { type: "button", className: "danger", textContent: "Delete" });
    remove.addEventListener("click", () => {
      if (confirm(`Delete target “${t.name}”?`)) {
        change(() => api(`/api/v1/notify/targets/${t.id}`, { method: "DELETE" }));
      }
    });
    const row = el("tr", {},
      el("td", { textContent: t.name }),
      el("td", { textContent: KINDS[t.kind] || t.kind }),
      el("td", { className: "addr", textContent: t.address }),
      el("td", { textContent: t.user || "—" }),
      el("td", { textContent: t.enabled ? "enabled" : "disabled" }),
      el("td", {}, test, " ", toggle, " ", remove),
      result);
    row.dataset.testid = `target-${t.id}`;
    body.append(row);
  }
}

async function change(call) {
  $("page-error").textContent = "";
  try {
    await call();
    await loadAll();
  } catch (e) { showError("page-error", e); }
}

function stepRow(step) {
  const select = el("select", { name: "target" });
  for (const t of targets) {
    select.append(el("option", { value: String(t.id), textContent: t.name + (t.enabled ? "" : " (disabled)") }));
  }
  if (step) select.value = String(step.target_id);
  const delay = el("input", { type: "number", min: "0", max: "3600", value: String(step ? step.delay_s : 0), name: "delay" });
  const remove = el("button", { type: "button", textContent: "Remove" });
  const row = el("div", { className: "chain-step" },
    el("span", { className: "muted", textContent: "Notify" }), select,
    el("span", { className: "muted", textContent: "after" }), delay,
    el("span", { className: "muted", textContent: "s" }), remove);
  remove.addEventListener("click", () => row.remove());
  return row;
}

async function loadChain() {
  const chain = await api("/api/v1/notify/chain");
  $("chain").replaceChildren(...chain.map(stepRow));
}

async function loadOutbox() {
  const rows = await api("/api/v1/notify/outbox", { params: { limit: 50 } });
  $("outbox").replaceChildren(...rows.map((o) => el("tr", {},
    el("td", { textContent: `#${o.alarm_id} (session ${o.session_id})` }),
    el("td", { textContent: o.target_name }),
    el("td", { textContent: String(o.step) }),
    el("td", { textContent: o.state }),
    el("td", { textContent: String(o.attempts) }),
    el("td", { textContent: when(o.sent_at || o.due_at) }),
    el("td", { textContent: o.last_error || "" }))));
}

async function loadAll() {
  await loadTargets();
  await loadChain();
  await loadOutbox();
}

$("chain-add").addEventListener("click", () => {
  if (!targets.length) { $("chain-status").textContent = "Add a target first."; return; }
  $("chain").append(stepRow(null));
});

$("chain-save").addEventListener("click", async () => {
  const steps = [...$("chain").querySelectorAll(".chain-step")].map((row) => ({
    target_id: Number(row.querySelector("select").value),
    delay_s: Number(row.querySelector("input").value),
  }));
  try {
    await api("/api/v1/notify/chain", { method: "PUT", body: { steps } });
    $("chain-status").textContent = `Saved: ${steps.length} step${steps.length === 1 ? "" : "s"}.`;
    await loadChain();
  } catch (e) { $("chain-status").textContent = e.message; }
});

$("target-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = new FormData(ev.target);
  const body = { name: form.get("name"), kind: form.get("kind"), address: form.get("address") };
  for (const k of ["secret", "user"]) if (form.get(k)) body[k] = form.get(k);
  $("target-error").textContent = "";
  try {
    const created = await api("/api/v1/notify/targets", { method: "POST", body });
    ev.target.reset();
    $("new-secret").hidden = !created.secret;
    $("new-secret").querySelector(".secret-box").textContent = created.secret || "";
    await loadAll();
  } catch (e) { showError("target-error", e); }
});

async function start() {
  $("login-view").hidden = true;
  $("app-view").hidden = false;
  $("whoami").textContent = session.user ? session.user.name : "";
  if (!session.user || session.user.role !== "admin") {
    $("page-error").textContent = "This page is for administrators.";
    return;
  }
  try { await loadAll(); } catch (e) { showError("page-error", e); }
  clearInterval(refresh);
  refresh = setInterval(() => loadOutbox().catch(() => {}), 5000);
}

function showLogin() {
  clearInterval(refresh);
  $("app-view").hidden = true;
  $("login-view").hidden = false;
}

$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try {
    await login($("username").value, $("password").value);
    await start();
  } catch (e) { $("login-error").textContent = e.message; }
});
$("logout").addEventListener("click", () => { session.clear(); showLogin(); });
window.addEventListener("vitalwatch:logout", showLogin);

if (session.token) start(); else showLogin();
