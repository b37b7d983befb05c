// A patient's course: every session in one table and a chart across the course.

import { api } from "./api.js";
import { esc, PROTOCOLS } from "./format.js";
import { $, pathId, startPage } from "./page.js";

const id = pathId(1);
const n = (v) => (v === null || v === undefined ? "–" : Math.round(v));

function chart(sessions) {
  const dosed = sessions.filter((s) => s.first_dose_at);
  const holder = $("#pt-chart");
  holder.innerHTML = "";
  if (!dosed.length || !window.uPlot) { holder.textContent = "No dosed session yet."; return; }
  const x = dosed.map((s) => new Date(s.first_dose_at).getTime() / 1000);
  const col = (k) => dosed.map((s) => s[k]);
  const opts = {
    width: Math.min(1100, holder.clientWidth || 900), height: 260, scales: { x: { time: true } },
    series: [{}, ...[["baseline_sbp", "Baseline SBP", "#888"], ["peak_sbp", "Peak SBP", "#bc4c00"],
      ["peak_dbp", "Peak DBP", "#e08040"], ["peak_hr", "Peak HR", "#1a7f37"], ["lowest_spo2", "Lowest SpO2", "#0969da"]]
      .map(([, label, stroke]) => ({ label, stroke, width: 1.5, points: { show: true, size: 6 } }))],
  };
  const data = [x, col("baseline_sbp"), col("peak_sbp"), col("peak_dbp"), col("peak_hr"), col("lowest_spo2")];
  new window.uPlot(opts, data, holder);
}

startPage(async () => {
  const body = await api(`/api/v1/patients/${id}/series`);
  const p = body.patient;
  $("#pt-title").textContent = `${p.display_name || p.ref}`;
  $("#pt-facts").textContent = [`ref ${p.ref}`, p.date_of_birth ? `born ${p.date_of_birth}` : "", p.sex || "",
    `${body.sessions.length} session(s)`].filter(Boolean).join(" · ");
  $("#series").innerHTML = body.sessions.map((s) => {
    const alarms = Object.entries(s.alarms).map(([k, v]) => `${v} ${k}`).join(", ") || "none";
    const when = new Date(s.first_dose_at || s.started_at).toLocaleDateString();
    return `<tr><td>${when}</td><td>${esc(PROTOCOLS[s.protocol] || s.protocol)}</td><td>${esc(s.dose || "")}</td>
      <td>${n(s.baseline_sbp)}/${n(s.baseline_dbp)} · ${n(s.baseline_hr)}</td><td>${n(s.peak_sbp)}/${n(s.peak_dbp)}</td>
      <td>${n(s.peak_hr)}</td><td>${n(s.lowest_spo2)}</td><td>${s.lowest_moass ?? "–"}</td><td>${esc(alarms)}</td>
      <td>${s.ready_min != null ? `${s.ready_min} min` : "–"}${s.stable_min != null ? ` (stable ${s.stable_min} min)` : ""}</td>
      <td><a href="/sessions/${s.session_id}/record">Record</a> · <a href="/sessions/${s.session_id}/report">Report</a></td></tr>`;
  }).join("") || "<tr><td colspan='11' class='muted'>No sessions</td></tr>";
  chart(body.sessions);
});
