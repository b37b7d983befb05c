// The REMS Patient Monitoring Form in the form's order: pre-filled from the record,
// gaps marked for the nurse, saved, printed, and marked submitted.

import { api } from "./api.js";
import { esc } from "./format.js";
import { download } from "./download.js";
import { $, pathId, showError, startPage } from "./page.js";

const id = pathId(1);
let form = null;

function input(f, closed) {
  const v = f.value ?? "";
  const dis = closed ? "disabled" : "";
  if (f.kind === "choice") {
    return `<select name="${f.key}" ${dis}><option value="">—</option>${f.options.map((o) =>
      `<option ${o === v ? "selected" : ""}>${esc(o)}</option>`).join("")}</select>`;
  }
  const type = f.kind === "number" ? "number" : f.kind === "date" ? "date" : "text";
  return `<input name="${f.key}" type="${type}" value="${esc(v)}" ${dis} ${type === "number" ? 'min="0" step="1"' : ""}>`;
}

// where the value comes from: the record (and what it said when staff changed it)
function source(f) {
  if (!f.source) return "";
  const text = f.value === f.prefilled || !f.answered
    ? `from the record: ${f.source}`
    : `entered by staff; the record said ${f.prefilled} (${f.source})`;
  return `<div class="rems-source">${esc(text)}</div>`;
}

function render() {
  const closed = form.status === "submitted";
  const status = closed
    ? `Marked submitted on the REMS portal by ${form.submitted_by} at ${form.submitted_at_text}.`
    : `Draft · due ${form.due_date} (${form.days_left >= 0 ? `${form.days_left} days left` : `${-form.days_left} days overdue`})`
      + (form.gaps.length ? ` · ${form.gaps.length} to complete` : " · complete");
  $("#rems-status").textContent = status;
  $("#rems-zone").textContent = `Every time on this form is in the clinic's time zone, ${form.time_zone}.`;
  const sections = [];
  for (const f of form.fields) {
    if (!sections.length || sections.at(-1).name !== f.section) sections.push({ name: f.section, fields: [] });
    sections.at(-1).fields.push(f);
  }
  $("#rems-form").innerHTML = sections.map((s) => `<section class="rems-section"><h2>${esc(s.name)}</h2>
    ${s.fields.map((f) => `<div class="rems-field ${f.gap ? "gap" : ""}" ${f.needed ? "" : "hidden"} data-field="${f.key}">
      <label class="rems-label" for="f-${f.key}">${esc(f.label)}${f.required ? "" : ' <span class="muted">(optional)</span>'}</label>
      <div>${input(f, closed).replace(`name="${f.key}"`, `name="${f.key}" id="f-${f.key}"`)}
      ${source(f)}
      ${f.suggestion ? `<div class="rems-suggestion" data-testid="suggest-${f.key}">Computed suggestion: <strong>${esc(f.suggestion)}</strong> (${esc(f.suggestion_basis)}). The clinician answers.</div>` : ""}</div></div>`).join("")}</section>`).join("");
  $("#rems-alarms").innerHTML = form.alarms.map((a) => `<li>${esc(a)}</li>`).join("") || "<li>No alarms</li>";
  $("#rems-save").hidden = closed;
  $("#rems-submitted").hidden = closed;
}

function answers() {
  const out = {};
  for (const f of form.fields) {
    const el = $(`[name="${f.key}"]`, $("#rems-form"));
    if (!el) continue;
    const raw = el.value;
    const value = raw === "" ? null : f.kind === "number" ? Number(raw) : raw;
    if (value !== (f.value ?? null) || (value !== null && !f.answered)) out[f.key] = value;
  }
  return out;
}

function downloadPdf() {
  return download(`/api/v1/sessions/${id}/rems-form.pdf`, `session-${id}-rems-form.pdf`);
}

async function load() {
  form = await api(`/api/v1/sessions/${id}/rems-form`);
  render();
}

startPage(async () => {
  $("#back").href = `/sessions/${id}/record`;
  $("#print").addEventListener("click", () => window.print());
  $("#pdf").addEventListener("click", () => downloadPdf().catch((err) => showError(err)));
  $("#rems-form").addEventListener("change", () => {
    // a choice that opens another question (other dose, serious adverse events)
    const dose = $("[name=dose]", $("#rems-form"));
    const sae = $("[name=serious_adverse_events]", $("#rems-form"));
    $('[data-field="dose_other_mg"]').hidden = !(dose && dose.value === "other");
    $('[data-field="serious_adverse_events_detail"]').hidden = !(sae && sae.value === "yes");
  });
  $("#rems-save").addEventListener("click", async () => {
    showError(null, "#rems-error");
    try {
      form = await api(`/api/v1/sessions/${id}/rems-form`, { method: "PUT", body: { answers: answers() } });
      render();
    } catch (err) { showError(err, "#rems-error"); }
  });
  $("#rems-submitted").addEventListener("click", async () => {
    showError(null, "#rems-error");
    try {
      form = await api(`/api/v1/sessions/${id}/rems-form`, { method: "PUT", body: { answers: answers() } });
      form = await api(`/api/v1/sessions/${id}/rems-form/submitted`, { method: "POST" });
      render();
    } catch (err) { showError(err, "#rems-error"); }
  });
  await load();
});
