// The alarm-load report for the clinical lead: a date range and a protocol,
// the totals, alarms per patient-hour by day (a uPlot bar chart), a table per
// grouping (rule with its conditions, protocol, day), the limit changes nurses
// made, and each as CSV. Not a station page: it shows no live alarms.

import { ApiError, api, login, session } from "./api.js";
import { h } from "./dom.js";
import { dateTime, protocolLabel } from "./format.js";

const $ = (sel) => document.querySelector(sel);
const pad = (n) => String(n).padStart(2, "0");
const dash = "–";

const count = (v) => (v === null || v === undefined ? dash : String(v));
const hours = (v) => (v === null ? dash : v < 10 ? v.toFixed(2) : v.toFixed(1));
const rate = (v) => (v === null ? dash : v >= 100 ? v.toFixed(0) : v.toFixed(2));

/** Seconds as a nurse reads them: "4.2 s", "1 min 05 s". */
export function seconds(v) {
  if (v === null || v === undefined) return dash;
  if (v < 60) return `${v.toFixed(1)} s`;
  const s = Math.round(v);
  return `${Math.floor(s / 60)} min ${pad(s % 60)} s`;
}

const COLUMNS = [
  ["sessions", "Sessions", count],
  ["monitored_hours", "Patient-hours monitored", hours],
  ["alarms", "Alarms", count],
  ["alarms_per_patient_hour", "Alarms per patient-hour", rate],
  ["acknowledged", "Acknowledged", count],
  ["ack_median_s", "Time to acknowledge, median", seconds],
  ["ack_p90_s", "90th percentile", seconds],
  ["unanswered", "Never acknowledged", count],
  ["escalated", "Escalated", count],
  ["nuisance", "Cleared ≤ 30 s untouched", count],
  ["open", "Still open", count],
];
const GROUP_TITLE = { rule: "Rule", protocol: "Protocol", day: "Day" };
/** The newest limit changes listed at first; a button shows the rest. */
const SHOWN_CHANGES = 30;

function localDay(d) {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function lastDays(n) {
  const until = new Date();
  const since = new Date(until.getFullYear(), until.getMonth(), until.getDate() - (n - 1));
  return { since: localDay(since), until: localDay(until) };
}

function params(form) {
  const p = { since: form.since.value, until: form.until.value };
  if (form.protocol.value) p.protocol = form.protocol.value;
  return p;
}

/** Every rule row has the range's monitored time: the rule table leaves it to the totals. */
const RANGE_WIDE = new Set(["sessions", "monitored_hours"]);

function columnsOf(groupBy) {
  return groupBy === "rule" ? COLUMNS.filter(([key]) => !RANGE_WIDE.has(key)) : COLUMNS;
}

function figureRow(row, columns, cls) {
  const attrs = { class: cls, dataset: { rule: row.rule || "", condition: row.condition || "", day: row.day || "", protocol: row.protocol || "" } };
  return h("tr", attrs,
    h("td", { class: "text" }, row.label),
    ...columns.map(([key, , fmt]) => h("td", { dataset: { key, value: row[key] === null ? "" : String(row[key]) },
      class: key === "nuisance" && row.nuisance > 0 ? "warn" : "" }, fmt(row[key]))));
}

function table(el, groupBy, report) {
  const columns = columnsOf(groupBy);
  const head = h("tr", {}, h("th", { class: "text" }, GROUP_TITLE[groupBy]), ...columns.map(([, title]) => h("th", {}, title)));
  const rows = report.rows.map((r) => figureRow(r, columns, r.condition ? "condition" : ""));
  const empty = report.rows.length ? [] : [h("tr", {}, h("td", { class: "text muted", colspan: String(columns.length + 1) }, "No alarms and no monitored sessions in this range."))];
  el.replaceChildren(h("thead", {}, head), h("tbody", {}, ...rows, ...empty, figureRow(report.totals, columns, "total")));
}

function totals(el, t) {
  const figure = (key, value, label) => h("div", { class: "figure", "data-testid": `total-${key}` }, h("b", {}, value), h("span", {}, label));
  el.replaceChildren(
    figure("alarms", count(t.alarms), "alarms"),
    figure("rate", rate(t.alarms_per_patient_hour), "alarms per patient-hour"),
    figure("hours", hours(t.monitored_hours), `patient-hours monitored (${t.sessions} sessions)`),
    figure("ack", `${seconds(t.ack_median_s)} / ${seconds(t.ack_p90_s)}`, "time to acknowledge, median / 90th percentile"),
    figure("unanswered", count(t.unanswered), "never acknowledged"),
    figure("escalated", count(t.escalated), "escalated to secondary notification"),
    figure("nuisance", count(t.nuisance), "cleared within 30 s, untouched"));
}

let chart = null;

function dayChart(el, report) {
  const days = report.rows.map((r) => r.day);
  const x = days.map((_, i) => i);
  const y = report.rows.map((r) => r.alarms_per_patient_hour);
  if (chart) chart.destroy();
  const opts = {
    width: Math.max(320, el.clientWidth || 800),
    height: 220,
    legend: { show: false },
    cursor: { show: false },
    scales: { x: { time: false, range: [-0.5, Math.max(days.length - 0.5, 0.5)] }, y: { range: (u, lo, hi) => [0, Math.max(1, hi || 0) * 1.15] } },
    axes: [
      { stroke: "#8b9bb0", grid: { show: false }, splits: () => x, values: (u, splits) => splits.map((i) => (days[i] ? days[i].slice(5) : "")) },
      { stroke: "#8b9bb0", grid: { stroke: "#263241" }, label: "alarms / patient-hour" },
    ],
    series: [{}, { label: "Alarms per patient-hour", fill: "#1f6feb", stroke: "#1f6feb", paths: window.uPlot.paths.bars({ size: [0.7, 60] }), points: { show: false } }],
  };
  chart = new window.uPlot(opts, [x, y], el);
  el.dataset.days = String(days.length);
}

function change(c) {
  const what = c.changes.length ? c.changes.map((i) => i.label).join("; ") : "no limit changed";
  const off = [
    ...c.switched_off.map((l) => `alarm off: ${l}`),
    ...c.switched_on.map((l) => `alarm back on: ${l}`),
  ].join("; ");
  return h("tr", { dataset: { session: String(c.session_id) } },
    h("td", { class: "text" }, dateTime(c.at)),
    h("td", { class: "text" }, c.user || "unknown"),
    h("td", { class: "text" }, c.room || `Session ${c.session_id}`),
    h("td", { class: "text" }, protocolLabel(c.protocol)),
    h("td", { class: "text" }, what),
    h("td", { class: "text" }, c.reason || (c.switched_off.length ? "no reason given" : "")),
    h("td", { class: "text" }, off));
}

function limitChanges(report) {
  const th = (t) => h("th", { class: "text" }, t);
  $("[data-testid=limit-summary]").replaceChildren(
    h("thead", {}, h("tr", {}, th("Limit"), h("th", {}, "Changes"), h("th", {}, "Raised"), h("th", {}, "Lowered"), h("th", {}, "Removed (alarm off)"), h("th", {}, "Set where none"))),
    h("tbody", {}, ...report.summary.map((s) => h("tr", { dataset: { limit: `${s.metric}.${s.limit}` } },
      h("td", { class: "text" }, s.label), h("td", {}, String(s.changes)), h("td", {}, String(s.raised)),
      h("td", {}, String(s.lowered)), h("td", { class: s.removed ? "warn" : "" }, String(s.removed)), h("td", {}, String(s.added))))));
  const n = report.changes.length;
  const body = h("tbody", {}, ...report.changes.slice(0, SHOWN_CHANGES).map(change));
  const more = n > SHOWN_CHANGES
    ? h("button", { type: "button", "data-testid": "changes-all", onclick: (ev) => {
      body.replaceChildren(...report.changes.map(change));
      ev.target.remove();
    } }, `Show all ${n}`)
    : null;
  $("#changes-count").replaceChildren(n
    ? `${n} change${n > 1 ? "s" : ""} of alarm limits${report.truncated ? " (the newest; narrow the range for all)" : ""}, newest first. `
    : "No alarm limit was changed in this range.", ...(more ? [more] : []));
  $("[data-testid=limit-changes]").replaceChildren(
    h("thead", {}, h("tr", {}, th("When"), th("Who"), th("Room"), th("Protocol"), th("Change"), th("Reason"), th("Alarm off / on"))),
    body);
}

async function show(form) {
  $("#load-error").textContent = "";
  const p = params(form);
  history.replaceState(null, "", `?${new URLSearchParams(p)}`);
  try {
    const [byRule, byProtocol, byDay, changes] = await Promise.all([
      api("/api/v1/reports/alarm-load", { params: { ...p, group_by: "rule" } }),
      api("/api/v1/reports/alarm-load", { params: { ...p, group_by: "protocol" } }),
      api("/api/v1/reports/alarm-load", { params: { ...p, group_by: "day" } }),
      api("/api/v1/reports/limit-changes", { params: p }),
    ]);
    $("#load-zone").textContent = `Days from midnight to midnight, ${byDay.timezone}. Made ${dateTime(byDay.generated_at)}.`;
    totals($("[data-testid=totals]"), byDay.totals);
    table($("[data-testid=table-rule]"), "rule", byRule);
    table($("[data-testid=table-protocol]"), "protocol", byProtocol);
    table($("[data-testid=table-day]"), "day", byDay);
    dayChart($("#day-chart"), byDay);
    limitChanges(changes);
    document.body.dataset.loaded = `${p.since}/${p.until}/${p.protocol || ""}`;
  } catch (err) {
    $("#load-error").textContent = err instanceof ApiError || err instanceof Error ? err.message : String(err);
  }
}

async function download(form, which) {
  const p = params(form);
  const [path, name] = which === "limits"
    ? ["/api/v1/reports/limit-changes.csv", `limit-changes-${p.since}-${p.until}.csv`]
    : ["/api/v1/reports/alarm-load.csv", `alarm-load-${p.since}-${p.until}-${which}.csv`];
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(which === "limits" ? p : { ...p, group_by: which })) url.searchParams.set(k, v);
  try {
    const r = await fetch(url, { headers: { Authorization: `Bearer ${session.token}` } });
    if (!r.ok) throw new ApiError(r.status, (await r.json().catch(() => ({}))).detail);
    const link = h("a", { href: URL.createObjectURL(await r.blob()), download: name });
    document.body.append(link);
    link.click();
    link.remove();
  } catch (err) { $("#load-error").textContent = err.message; }
}

/** The filters' buttons, wired once whatever the number of sign-ins. */
function wire(form) {
  form.addEventListener("submit", (ev) => { ev.preventDefault(); show(form); });
  for (const b of form.querySelectorAll("button[data-days]")) {
    b.addEventListener("click", () => {
      const r = lastDays(Number(b.dataset.days));
      form.since.value = r.since;
      form.until.value = r.until;
      show(form);
    });
  }
  for (const b of document.querySelectorAll("button[data-csv]")) b.addEventListener("click", () => download(form, b.dataset.csv));
}

let wired = false;

async function start() {
  $("#login-view").hidden = true;
  $("#app-view").hidden = false;
  $("#whoami").textContent = session.user ? `${session.user.name} (${session.user.role})` : "";
  const form = $("#filters");
  const url = new URLSearchParams(location.search);
  const week = lastDays(7);
  form.since.value = url.get("since") || week.since;
  form.until.value = url.get("until") || week.until;
  if (!wired) {
    wired = true;
    wire(form);
    try {
      const protocols = await api("/api/v1/sessions/protocols");
      form.protocol.append(...protocols.map((p) => h("option", { value: p.name }, p.label)));
    } catch (err) { $("#load-error").textContent = err.message; }
  }
  form.protocol.value = url.get("protocol") || "";
  await show(form);
}

function signIn() {
  $("#app-view").hidden = true;
  $("#login-view").hidden = false;
  $("#login-form").onsubmit = async (ev) => {
    ev.preventDefault();
    $("#login-error").textContent = "";
    try {
      await login($("#username").value, $("#password").value);
      await start();
    } catch (err) { $("#login-error").textContent = err.message; }
  };
}

window.addEventListener("vitalwatch:logout", signIn);
$("#logout").addEventListener("click", () => { session.clear(); signIn(); });
if (session.token) start(); else signIn();
