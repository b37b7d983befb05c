// Vitals typed in by a nurse: a small form to mount on a tile, in the session
// view or on a page of its own (/manual?session=ID).
//
//   import { mountManualEntry } from "./manual-entry.js";
//   const form = mountManualEntry(element, { sessionId, startedAt, onSaved });
//
// BP in one field ("120/80"), HR, SpO2, RR and the time (empty: now; "10:15":
// today at 10:15, back to the session's start). Type a value, Tab to the next
// field, Enter saves. The service stores and evaluates it like a monitor's
// reading; an impossible value is refused with the device's wording, shown at
// its field. A wrong entry can be struck out (kept in the record, marked).

import { api, ApiError } from "./api.js";
import { clinicDay, fromInput } from "./clinic-time.js";
import { clock, esc } from "./format.js";

const FIELDS = [
  { key: "bp", label: "BP", unit: "mmHg", placeholder: "120/80", size: 7 },
  { key: "hr", label: "HR", unit: "/min", placeholder: "72", size: 3 },
  { key: "spo2", label: "SpO2", unit: "%", placeholder: "97", size: 3 },
  { key: "rr", label: "RR", unit: "/min", placeholder: "14", size: 3 },
  { key: "time", label: "Time", unit: "", placeholder: "now", size: 5 },
];

/** "120/80", "120 80", "120-80" -> {sbp, dbp}; "" -> null; otherwise an Error. */
export function parseBp(text) {
  const t = text.trim();
  if (!t) return null;
  const m = t.match(/^(\d{2,3}(?:\.\d)?)\s*[/\s-]\s*(\d{2,3}(?:\.\d)?)$/);
  if (!m) throw new Error("BP as systolic/diastolic, e.g. 120/80");
  return { sbp: Number(m[1]), dbp: Number(m[2]) };
}

/** A number field: "" -> null; otherwise the number, or an Error. */
export function parseNumber(text, label) {
  const t = text.trim().replace(",", ".");
  if (!t) return null;
  if (!/^\d+(\.\d+)?$/.test(t)) throw new Error(`${label}: a number, please`);
  return Number(t);
}

/** "" -> null (now); "HH:MM" -> that clinic time today (yesterday when it would be ahead). */
export function parseTime(text, now = new Date()) {
  const t = text.trim();
  if (!t) return null;
  const m = t.match(/^(\d{1,2})[:.h]?(\d{2})$/);
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) throw new Error("Time as HH:MM, e.g. 10:15");
  const on = (day) => fromInput(`${day}T${m[1].padStart(2, "0")}:${m[2]}`);
  const at = on(clinicDay(now));
  return at.getTime() > now.getTime() + 60_000 ? on(clinicDay(now, -1)) : at;
}

function describe(e) {
  const parts = [];
  if (e.sbp !== null && e.dbp !== null) parts.push(`BP ${e.sbp}/${e.dbp}`);
  if (e.hr !== null) parts.push(`HR ${e.hr}`);
  if (e.spo2 !== null) parts.push(`SpO2 ${e.spo2}%`);
  if (e.rr !== null) parts.push(`RR ${e.rr}`);
  return parts.join(" · ");
}

export function mountManualEntry(container, { sessionId, startedAt = null, onSaved = null, readOnly = false } = {}) {
  const root = document.createElement("form");
  root.className = "manual-entry";
  root.noValidate = true;
  root.dataset.testid = "manual-entry";
  root.innerHTML = `
    <div class="row">
      ${FIELDS.map((f) => `
        <label class="manual-field">${esc(f.label)}${f.unit ? ` <span class="muted">${esc(f.unit)}</span>` : ""}
          <input name="${f.key}" size="${f.size}" placeholder="${esc(f.placeholder)}"
            inputmode="${f.key === "bp" || f.key === "time" ? "text" : "decimal"}" autocomplete="off"
            data-testid="manual-${f.key}">
          <span class="error" data-testid="manual-error-${f.key}"></span>
        </label>`).join("")}
      <button type="submit" class="primary" data-testid="manual-submit">Save</button>
    </div>
    <p class="muted" role="status" data-testid="manual-status"></p>
    <ol class="manual-list" data-testid="manual-list"></ol>`;
  container.append(root);
  const input = (key) => root.querySelector(`[name="${key}"]`);
  const errorAt = (key) => root.querySelector(`[data-testid="manual-error-${key}"]`);
  const status = root.querySelector('[data-testid="manual-status"]');
  const list = root.querySelector('[data-testid="manual-list"]');

  function clearErrors() {
    for (const f of FIELDS) errorAt(f.key).textContent = "";
  }

  function collect() {
    const body = {};
    const problems = {};
    const take = (key, fn) => {
      try { return fn(); } catch (err) { problems[key] = err.message; return null; }
    };
    const bp = take("bp", () => parseBp(input("bp").value));
    if (bp) Object.assign(body, bp);
    for (const key of ["hr", "spo2", "rr"]) {
      const label = FIELDS.find((f) => f.key === key).label;
      const v = take(key, () => parseNumber(input(key).value, label));
      if (v !== null) body[key] = v;
    }
    const at = take("time", () => parseTime(input("time").value));
    if (at) {
      if (startedAt && at < new Date(startedAt)) problems.time = `Not before the session's start (${clock(startedAt)})`;
      body.ts = at.toISOString();
    }
    if (!Object.keys(problems).length && !["sbp", "hr", "spo2", "rr"].some((k) => k in body)) {
      problems.bp = "Type at least one value";
    }
    return { body, problems };
  }

  async function save(event) {
    event.preventDefault();
    clearErrors();
    const { body, problems } = collect();
    for (const [key, msg] of Object.entries(problems)) errorAt(key).textContent = msg;
    if (Object.keys(problems).length) return;
    status.textContent = "Saving…";
    try {
      const saved = await api(`/api/v1/sessions/${sessionId}/readings`, { method: "POST", body });
      root.reset();
      status.textContent = `Saved: ${describe(saved)} at ${clock(saved.ts)}`;
      input("bp").focus();
      await refresh();
      if (onSaved) onSaved(saved);
    } catch (err) {
      status.textContent = "";
      if (err instanceof ApiError && err.status === 422) {
        for (const [path, msg] of Object.entries(err.fields())) {
          const key = path === "sbp" || path === "dbp" || path === "map" ? "bp" : path === "ts" ? "time" : path;
          errorAt(FIELDS.some((f) => f.key === key) ? key : "bp").textContent = msg;
        }
      } else {
        status.textContent = err.message || String(err);
      }
    }
  }

  async function strike(id, reason) {
    try {
      await api(`/api/v1/sessions/${sessionId}/manual-readings/${id}/strike`, { method: "POST", body: { reason } });
      status.textContent = "Struck out (kept in the record)";
      await refresh();
    } catch (err) {
      status.textContent = err.message || String(err);
    }
  }

  async function refresh() {
    let entries = [];
    try {
      entries = await api(`/api/v1/sessions/${sessionId}/manual-readings`);
    } catch (err) {
      status.textContent = err.message || String(err);
      return;
    }
    list.innerHTML = entries.slice(-8).reverse().map((e) => `
      <li class="${e.struck ? "struck" : ""}" data-testid="manual-entry-${e.id}">
        <span>${esc(clock(e.ts))} ${esc(describe(e))} <span class="muted">typed in by ${esc(e.entered_by)}</span></span>
        ${e.struck
          ? `<span class="muted">struck by ${esc(e.struck_by)}: ${esc(e.strike_reason)}</span>`
          : readOnly ? "" : `<button type="button" data-strike="${e.id}" data-testid="strike-${e.id}">Strike out</button>`}
      </li>`).join("");
  }

  list.addEventListener("click", (event) => {
    const button = event.target.closest("[data-strike]");
    if (!button) return;
    const id = button.dataset.strike;
    const li = button.closest("li");
    li.querySelector(".strike-form")?.remove();
    const form = document.createElement("span");
    form.className = "strike-form";
    form.innerHTML = `<input placeholder="why (e.g. typo)" data-testid="strike-reason" size="18">
      <button type="button" class="danger" data-testid="strike-confirm">Strike</button>`;
    li.append(form);
    const reason = form.querySelector("input");
    reason.focus();
    const go = () => { if (reason.value.trim()) strike(id, reason.value.trim()); };
    form.querySelector("button").addEventListener("click", go);
    reason.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); go(); } });
  });
  root.addEventListener("submit", save);
  refresh();
  return { root, refresh, destroy: () => root.remove(), focus: () => input("bp").focus() };
}
