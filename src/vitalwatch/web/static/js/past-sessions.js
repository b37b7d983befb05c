// Past sessions: today by default, by room and by patient, each with its
// alarms (who acknowledged them, or that nobody did) and the way to its
// record. The ward strip and sound stay live on this page too.

import { api } from "./api.js";
import { clinicDay, fromWallClock } from "./clinic-time.js";
import { startWardPage } from "./chrome.js";
import { h } from "./dom.js";
import { PRIORITY_WORD, clock, dateTime, protocolLabel } from "./format.js";
import { requireSignIn } from "./station.js";

const $ = (sel) => document.querySelector(sel);
/** The query for the filters: a day is the clinic's midnight to midnight. */
function query(form) {
  const params = { limit: 200 };
  if (form.status.value) params.status = form.status.value;
  if (form.room.value.trim()) params.room = form.room.value.trim();
  if (form.patient.value.trim()) params.patient = form.patient.value.trim();
  if (form.day.value) {
    const [y, m, d] = form.day.value.split("-").map(Number);
    params.since = fromWallClock(y, m, d).toISOString();
    params.until = fromWallClock(y, m, d + 1).toISOString(); // Date.UTC carries the month
  }
  return params;
}

function alarmItem(a) {
  const who = a.acked_at
    ? h("span", {}, ` — acknowledged by ${a.acked_by} at ${clock(a.acked_at)}`)
    : h("span", { class: "unacked" }, a.state === "resolved" ? " — never acknowledged" : " — still open");
  return h("li", { dataset: { priority: a.priority, kind: a.kind } },
    h("b", {}, `${PRIORITY_WORD[a.priority]}${a.kind === "technical" ? " technical" : ""}`), ` ${clock(a.raised_at)} ${a.message}`, who);
}

async function row(s) {
  const alarms = await api("/api/v1/alarms", { params: { session_id: s.id, limit: 200 } });
  return h("tr", { "data-testid": `past-${s.id}` },
    h("td", {}, s.room || `Session ${s.id}`),
    h("td", {}, s.patient.display_name ? `${s.patient.display_name} (${s.patient.ref})` : s.patient.ref),
    h("td", {}, protocolLabel(s.protocol)),
    h("td", {}, dateTime(s.started_at)),
    h("td", {}, s.ended_at ? `${dateTime(s.ended_at)}${s.ended_early ? " (early)" : ""}` : "still running"),
    h("td", {}, alarms.length ? h("ul", { class: "past-alarms" }, ...alarms.map(alarmItem)) : h("span", { class: "muted" }, "none")),
    h("td", {}, h("a", { href: `/sessions/${s.id}/record`, "data-testid": `record-${s.id}` }, "Record"),
      " · ", h("a", { href: `/sessions/${s.id}`, "data-testid": `session-${s.id}` }, "Session page")));
}

async function show(form) {
  $("#past-error").textContent = "";
  try {
    const sessions = await api("/api/v1/sessions", { params: query(form) });
    const rows = await Promise.all(sessions.map(row));
    $("#past-rows").replaceChildren(...rows);
    $("#past-count").textContent = sessions.length ? `${sessions.length} session${sessions.length > 1 ? "s" : ""}` : "No session matches.";
  } catch (err) { $("#past-error").textContent = err.message; }
}

if (requireSignIn()) {
  startWardPage($("#chrome"));
  const form = $("#filters");
  const url = new URLSearchParams(location.search);
  form.day.value = url.has("day") ? url.get("day") : clinicDay();
  form.room.value = url.get("room") || "";
  form.patient.value = url.get("patient") || "";
  form.addEventListener("submit", (ev) => { ev.preventDefault(); show(form); });
  $("#today").addEventListener("click", () => { form.day.value = clinicDay(); show(form); });
  $("#any-day").addEventListener("click", () => { form.day.value = ""; show(form); });
  show(form);
}
