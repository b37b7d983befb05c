// A patient's course: every session in one table and a chart across the course.

import { api } from "./api.js";
import { timeRange } from "./charts.js";
import { dateOnly, esc, PROTOCOLS } from "./format.js";
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
    // one session is a week's axis around it, not three years of nothing
    width: Math.min(1100, holder.clientWidth || 900), height: 260, scales: { x: { time: true, range: timeRange(x, 7 * 86400) } },
    axes: [{ stroke: "#8b9bb0", grid: { stroke: "#263241" } }, { stroke: "#8b9bb0", grid: { stroke: "#263241" } }],
    series: [{}, ...[["baseline_sbp", "Baseline SBP", "#888"], ["peak_sbp", "Peak SBP", "#ff8c42"],
      ["peak_dbp", "Peak DBP", "#ffb380"], ["peak_hr", "Peak HR", "#35c46a"], ["lowest_spo2", "Lowest SpO2", "#3fd0ff"]]
      .map(([, label, stroke]) => ({ label, stroke, width: 1.5, points: { show: true, size: 6 } }))],
  };
  opts.hooks = { draw: [(u) => { holder.dataset.xSpan = String(Math.round(u.scales.x.max - u.scales.x.min)); }] };
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
    const when = dateOnly(s.first_dose_at || s.started_at);
    return `<tr><td>${when}</td><td>${esc(PROTOCOLS[s.protocol] || s.protocol)}</td><td>${esc(s.dose || "")}</td>
      <td>${n(s.baseline_sbp)}/${n(s.baseline_dbp)} · ${n(s.baseline_hr)}</td><td>${n(s.peak_sbp)}/${n(s.peak_dbp)}</td>
      <td>${n(s.peak_hr)}</td><td>${n(s.lowest_spo2)}</td><td>${s.lowest_moass ?? "–"}</td><td>${esc(alarms)}</td>
      <td>${s.ready_min != null ? `${s.ready_min} min` : "–"}${s.stable_min != null ? ` (stable ${s.stable_min} min)` : ""}</td>
      <td><a href="/sessions/${s.session_id}/record">Record</a> · <a href="/sessions/${s.session_id}/report">Report</a></td></tr>`;
  }).join("") || "<tr><td colspan='11' class='muted'>No sessions</td></tr>";
  chart(body.sessions);
});
