// The session record: pre-dose checklist, doses, observations, discharge readiness
// and sign-off, with links to the report, its PDF and the REMS form.

import { api } from "./api.js";
import { esc, PROTOCOLS } from "./format.js";
import { $, inputTime, pathId, showError, startPage, time } from "./page.js";

const id = pathId(1);
const ROUTES = { "esketamine-in": ["esketamine", "intranasal"], "ketamine-iv": ["ketamine", "iv_infusion"], "ketamine-im": ["ketamine", "im"] };
let session = null;
let checklist = null;

function renderHead() {
  const p = session.patient;
  $("#rec-title").textContent = `${session.room || `Session ${id}`} · ${p.display_name || p.ref}`;
  document.title = `${$("#rec-title").textContent} · VitalWatch`;
  $("#rec-facts").textContent = [`${PROTOCOLS[session.protocol] || session.protocol}`, `ref ${p.ref}`,
    `started ${time(session.started_at)}`, session.first_dose_at ? `first dose ${time(session.first_dose_at)}` : "no dose yet",
    session.status === "ended" ? `ended ${time(session.ended_at)}${session.ended_early ? " (before the observation time was over)" : ""}` : "active"].join(" · ");
  const links = [
    `<a href="/sessions/${id}/report">Session report</a>`,
    `<a href="/sessions/${id}/report" data-pdf>PDF</a>`,
    session.protocol === "esketamine-in" ? `<a href="/sessions/${id}/rems">REMS monitoring form</a>` : "",
    `<a href="/patients/${p.id}">Patient series</a>`,
  ];
  $("#rec-links").innerHTML = links.join("");
}

// the medications the REMS form asks about, answered on the checklist item
const MEDICATIONS = [["benzodiazepines", "Benzodiazepines"], ["sedative_hypnotics", "Non-benzodiazepine sedative hypnotics"],
  ["psychostimulants", "Psychostimulants"], ["maois", "MAOIs"]];

let medsSaving = Promise.resolve();
let medsAnswers = null; // this page's answers once it has given one

function medications(i) {
  const given = medsAnswers ?? i.medications ?? {};
  const dis = session.status !== "active" ? "disabled" : "";
  return `<div class="row meds" data-meds="${esc(i.key)}">${MEDICATIONS.map(([key, label]) => {
    const v = key in given ? (given[key] ? "yes" : "no") : "";
    return `<label>${esc(label)} <select data-med="${key}" ${dis}><option value="">not asked</option>
      <option value="yes" ${v === "yes" ? "selected" : ""}>taking</option><option value="no" ${v === "no" ? "selected" : ""}>not taking</option></select></label>`;
  }).join("")}</div>`;
}

function renderChecklist() {
  $("#checklist").innerHTML = checklist.items.map((i) => {
    const by = i.by ? `<span class="by">${esc(i.by)} at ${time(i.at)}</span>` : "";
    if (i.kind === "check") {
      return `<li class="${i.satisfied ? "ok" : ""}"><label class="item"><input type="checkbox" data-key="${esc(i.key)}" ${i.done ? "checked" : ""}
        ${session.status !== "active" ? "disabled" : ""}> ${esc(i.label)}</label>${by}
        ${i.key === "concomitant_medications" ? medications(i) : ""}</li>`;
    }
    const decide = i.satisfied || !i.bp || session.status !== "active" ? "" : `<form class="row gate" data-gate="${esc(i.key)}">
      <label>Decision <select name="decision"><option value="proceed">Proceed with dosing</option><option value="defer">Defer dosing</option></select></label>
      <label>Clinician <input name="clinician" required maxlength="120"></label>
      <label class="grow">Reason <input name="reason" required maxlength="1000"></label>
      <button type="submit">Record decision</button></form>`;
    return `<li class="${i.satisfied ? "ok" : ""}"><strong>${esc(i.label)}</strong><span data-testid="gate-status">${esc(i.status)}</span>${by}${decide}</li>`;
  }).join("");
  const incomplete = !checklist.complete && session.status === "active";
  $("#override-box").hidden = !incomplete;
  $("#override-missing").textContent = incomplete ? `Checklist incomplete: ${checklist.missing.join("; ")}` : "";
  $("#dose-form").override_reason.required = incomplete;
}

// the dose form's own words for each route (never "iv_infusion")
const ROUTE_WORDS = Object.fromEntries([...document.querySelectorAll("#dose-form select[name=route] option")]
  .map((o) => [o.value, o.textContent]));

function doseText(d) {
  const amount = d.amount != null ? `${d.amount} ${d.unit}` : "amount not recorded";
  const total = d.unit === "mg/kg" && d.total_mg ? ` (${d.total_mg} mg)` : "";
  return `${d.drug || "drug not recorded"} ${amount}${total}, ${ROUTE_WORDS[d.route] || d.route || "route not recorded"}${d.lot_number ? `, lot ${d.lot_number}` : ""}`;
}

function renderDoses(events) {
  const doses = events.filter((e) => e.kind === "dose");
  $("#doses").innerHTML = doses.map((e) => {
    const d = e.dose || {};
    const flag = d.checklist_complete === false
      ? `<div class="flagged">Checklist incomplete (${esc(d.checklist_missing.join("; "))}) · override: ${esc(d.override_reason || "no reason given")}</div>` : "";
    const infusion = d.route === "iv_infusion"
      ? (d.infusion_stop ? ` · infusion ${time(d.infusion_start)}–${time(d.infusion_stop)}`
        : ` · infusion running since ${time(d.infusion_start)} <button type="button" data-stop="${e.id}">Stop infusion</button>`) : "";
    return `<li><strong>${time(e.ts)}</strong> ${esc(doseText(d))}${infusion}${flag}</li>`;
  }).join("") || "<li class='muted'>No dose yet</li>";
}

function renderObservations(list) {
  const yes = (o) => ["nausea", "vomiting", "respiratory_depression"].filter((k) => o[k]).map((k) => k.replace("_", " ")).join(", ");
  $("#observations").innerHTML = list.slice().reverse().map((o) => `<tr><td>${time(o.ts)}</td><td>${o.moass ?? ""}</td>
    <td>${esc(o.dissociation || "")}${o.cadss != null ? ` (CADSS ${o.cadss})` : ""}</td><td>${esc(yes(o))}</td><td>${esc(o.note || "")}</td><td>${esc(o.created_by || "")}</td></tr>`).join("")
    || "<tr><td colspan='6' class='muted'>No observations yet</td></tr>";
}

function renderReadiness() {
  const r = session.readiness;
  const crit = (ok, text) => `<li class="${ok ? "met" : ""}">${esc(text)}</li>`;
  const banner = r.signed_off_at
    ? `<p class="ready-banner ready" data-testid="ready-banner">Signed off at ${time(r.signed_off_at)} by ${esc(r.signed_off_by)} · left with ${esc(r.left_with)}</p>`
    : `<p class="ready-banner ${r.ready ? "ready" : ""}" data-testid="ready-banner">${r.ready ? "Ready for discharge" : "Not ready for discharge"}</p>`;
  const items = r.applies ? [
    crit(r.observation_met, `Observation time${r.observation_until ? ` (until ${time(r.observation_until)})` : ""}`),
    crit(r.vitals_near_baseline, "BP and HR near baseline"),
    r.bp_checkpoints_met === null ? "" : crit(r.bp_checkpoints_met, "BP before dosing and about 40 min after"),
    crit(r.no_recent_alarm, "No alarm now or in the last minutes"),
    crit(r.sedation_ok, `MOAA/S 5${r.last_moass != null ? ` (last ${r.last_moass} at ${time(r.last_moass_at)})` : ""}`),
  ].join("") : "";
  const firsts = [r.stable_at ? `Clinically ready (without the observation time) at ${time(r.stable_at)}` : "",
    r.first_ready_at ? `All criteria met without a break from ${time(r.first_ready_at)}` : ""].filter(Boolean).join(" · ");
  $("#readiness").innerHTML = `${banner}<ul class="criteria">${items}</ul>
    ${r.reasons.length && !r.signed_off_at ? `<p class="muted">${esc(r.reasons.join("; "))}</p>` : ""}
    ${firsts ? `<p>${esc(firsts)}</p>` : ""}${r.override_reason ? `<p class="flagged">Signed off before ready: ${esc(r.override_reason)}</p>` : ""}`;
  $("#signoff-form").hidden = Boolean(r.signed_off_at);
  $("#signoff-override").hidden = r.ready;
  $("#signoff-bp").hidden = !r.bp_overdue || Boolean(r.signed_off_at);
  $("#signoff-bp-question").textContent = r.bp_overdue
    ? `The newest BP was at ${time(r.last_bp_at)}: take one, or say why none is needed` : "";
  $("#obs-due").hidden = !r.observation_due;
  $("#obs-due").textContent = r.observation_due ? "Observation due" : "";
}

async function refresh() {
  const [s, cl, events, observations] = await Promise.all([
    api(`/api/v1/sessions/${id}`), api(`/api/v1/sessions/${id}/checklist`),
    api(`/api/v1/sessions/${id}/events`), api(`/api/v1/sessions/${id}/observations`),
  ]);
  session = s; checklist = cl;
  renderHead(); renderChecklist(); renderDoses(events); renderObservations(observations); renderReadiness();
}

function defaults() {
  const f = $("#dose-form");
  const [drug, route] = ROUTES[session.protocol] || ["", "other"];
  f.drug.value = drug; f.route.value = route;
  if (session.protocol === "esketamine-in") f.amount.value = 56;
}

async function send(where, work) {
  showError(null, where);
  try { await work(); await refresh(); return true; } catch (err) { showError(err, where); return false; }
}

function wire() {
  $("#checklist").addEventListener("change", (ev) => {
    const box = ev.target.closest("input[data-key]");
    if (box) send("#checklist-error", () => api(`/api/v1/sessions/${id}/checklist/${box.dataset.key}`, { method: "PUT", body: { done: box.checked } }));
    const sel = ev.target.closest("select[data-med]");
    if (sel) {
      const item = checklist.items.find((i) => i.key === sel.closest("[data-meds]").dataset.meds);
      // the answers as this page knows them: a refresh that lands between two choices
      // must not take back the earlier one
      medsAnswers = { ...(medsAnswers ?? item.medications ?? {}) };
      if (sel.value) medsAnswers[sel.dataset.med] = sel.value === "yes"; else delete medsAnswers[sel.dataset.med];
      const body = { medications: { ...medsAnswers } };  // the tick stays as it is
      // one save after the other, in the order chosen
      medsSaving = medsSaving.then(() => send("#checklist-error", () =>
        api(`/api/v1/sessions/${id}/checklist/${item.key}`, { method: "PUT", body })));
    }
  });
  $("#checklist").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = ev.target;
    send("#checklist-error", () => api(`/api/v1/sessions/${id}/checklist/${f.dataset.gate}`, {
      method: "PUT", body: { decision: f.decision.value, clinician: f.clinician.value, reason: f.reason.value } }));
  });
  $("#dose-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    const num = (v) => (v === "" ? undefined : Number(v));
    const body = {
      kind: "dose", ts: inputTime(f.ts.value),
      dose: { drug: f.drug.value || undefined, amount: num(f.amount.value), unit: f.unit.value,
        weight_kg: num(f.weight_kg.value), route: f.route.value, lot_number: f.lot_number.value || undefined },
      override_reason: checklist.complete ? undefined : f.override_reason.value,
    };
    if (await send("#dose-error", () => api(`/api/v1/sessions/${id}/events`, { method: "POST", body }))) {
      f.reset(); defaults();
    }
  });
  $("#doses").addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-stop]");
    if (b) send("#dose-error", () => api(`/api/v1/sessions/${id}/doses/${b.dataset.stop}/stop`, { method: "POST", body: {} }));
  });
  $("#obs-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    const moass = f.querySelector("input[name=moass]:checked");
    const body = {
      moass: moass ? Number(moass.value) : undefined, dissociation: f.dissociation.value || undefined,
      cadss: f.cadss.value === "" ? undefined : Number(f.cadss.value),
      nausea: f.nausea.checked || undefined, vomiting: f.vomiting.checked || undefined,
      respiratory_depression: f.respiratory_depression.checked || undefined, note: f.note.value || undefined,
    };
    if (await send("#obs-error", () => api(`/api/v1/sessions/${id}/observations`, { method: "POST", body }))) f.reset();
  });
  $("#signoff-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = ev.target;
    const body = { left_with: f.left_with.value, note: f.note.value || undefined,
      override_reason: session.readiness.ready ? undefined : (f.override_reason.value || undefined),
      bp_overdue_answer: session.readiness.bp_overdue ? (f.bp_overdue_answer.value || undefined) : undefined };
    send("#signoff-error", () => api(`/api/v1/sessions/${id}/discharge`, { method: "POST", body }));
  });
  $("#rec-links").addEventListener("click", (ev) => {
    if (!ev.target.closest("[data-pdf]")) return;
    ev.preventDefault();
    location.href = `/sessions/${id}/report#pdf`;
  });
}

startPage(async () => {
  wire();
  await refresh();
  defaults();
  setInterval(() => refresh().catch((err) => showError(err)), 5000);
}, { ward: true, currentId: id });
