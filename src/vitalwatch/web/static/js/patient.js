// A patient's course: every session in one table and a chart across the course.

import { api } from "./api.js";
import { timeRange } from "./charts.js";
import { baselineText, dateOnly, esc, PROTOCOLS } from "./format.js";
import { $, pathId, startPage } from "./page.js";

const id = pathId(1);
/** The course's time axis: a tick a day or more apart, each the clinic's day in its
 *  locale ("08/12/2026"), not uPlot's "12am 12/5/26" in the browser's zone. */
const DAY_STEPS = [1, 2, 7, 14, 30, 91, 365].map((d) => d * 86400);
const days = (u, splits) => splits.map((v) => dateOnly(new Date(v * 1000)));

const n = (v) => (v === null || v === undefined ? "–" : Math.round(v));

//: each line with its own dash and marker, so the legend reads in black-and-white print
const LINES = [["baseline_sbp", "Baseline SBP (mmHg)", "#888", [2, 3]], ["peak_sbp", "Peak SBP (mmHg)", "#bc4c00", []],
  ["peak_dbp", "Peak DBP (mmHg)", "#e08040", [8, 4]], ["peak_hr", "Peak HR (/min)", "#1a7f37", [4, 2, 1, 2]],
  ["lowest_spo2", "Lowest SpO2 (%)", "#0969da", [1, 2]]];

function legend() {
  // an SVG swatch per line (printed: browsers drop the coloured backgrounds uPlot uses)
  const swatch = (stroke, dash) => `<svg width="34" height="10" aria-hidden="true"><line x1="1" y1="5" x2="33" y2="5"
    stroke="${stroke}" stroke-width="2" stroke-dasharray="${dash.join(" ")}"/><circle cx="17" cy="5" r="3" fill="${stroke}"/></svg>`;
  $("#pt-legend").innerHTML = LINES.map(([, label, stroke, dash]) => `<li>${swatch(stroke, dash)} ${esc(label)}</li>`).join("")
    + "<li>Each point: one session, after its first dose; peaks from the readings in force (struck readings left out)</li>";
}

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
    axes: [{ stroke: "#8b9bb0", grid: { stroke: "#263241" }, space: 80, incrs: DAY_STEPS, values: days },
      { stroke: "#8b9bb0", grid: { stroke: "#263241" } }],
    legend: { show: false },
    series: [{}, ...LINES.map(([, label, stroke, dash]) => ({ label, stroke, dash, width: 1.5, points: { show: true, size: 6 } }))],
  };
  opts.hooks = { draw: [(u) => { holder.dataset.xSpan = String(Math.round(u.scales.x.max - u.scales.x.min)); }] };
  const data = [x, ...LINES.map(([key]) => col(key))];
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
      <td>${baselineText({ sbp: s.baseline_sbp, dbp: s.baseline_dbp, hr: s.baseline_hr }, ["hr"]) || "–"}</td><td>${n(s.peak_sbp)}/${n(s.peak_dbp)}</td>
      <td>${n(s.peak_hr)}</td><td>${n(s.lowest_spo2)}</td><td>${s.lowest_moass ?? "–"}</td><td>${esc(alarms)}</td>
      <td>${s.stable_min != null ? `${s.stable_min} min` : "not reached"}${s.ready_min != null ? ` (all criteria ${s.ready_min} min)` : ""}</td>
      <td><a href="/sessions/${s.session_id}/record">Record</a> · <a href="/sessions/${s.session_id}/report">Report</a></td></tr>`;
  }).join("") || "<tr><td colspan='11' class='muted'>No sessions</td></tr>";
  chart(body.sessions);
  legend();
});
