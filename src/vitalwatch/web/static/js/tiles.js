// Session tiles: big current values with units, trend, alarm state in colour
// AND words, stale markers, NEWS2, time since dose and observation left.

import { PROTOCOLS, PRIORITY_RANK, STALE_S, ageSeconds, duration, esc, num } from "./format.js";

const LABELS = { high: "HIGH ALARM", medium: "MEDIUM ALARM", low: "LOW ALARM" };
const TREND_S = 600;

/** Latest values of a session as {metric: {value, ts}} from a session object or vitals item. */
export function latestFrom(session, item) {
  const out = { ...(session.latest || {}) };
  if (item) {
    for (const m of ["hr", "sbp", "dbp", "map", "spo2", "rr"]) {
      if (item[m] !== undefined) out[m] = { value: item[m], ts: (item.metric_ts || {})[m] || item.ts };
    }
  }
  return out;
}

export function topPriority(alarms) {
  let best = null;
  for (const a of alarms) {
    if (!best || PRIORITY_RANK[a.priority] > PRIORITY_RANK[best]) best = a.priority;
  }
  return best;
}

// cuff blood pressure comes every 5-15 min: stale only when far older than that
const STALE_AFTER = { hr: STALE_S, spo2: STALE_S, rr: 30, bp: 20 * 60 };

/**
 * How old a value is, judged without trusting the device clock: how long the
 * dashboard has heard nothing from the session, plus how far the value lags
 * behind the session's newest value (a probe off while RR still comes).
 */
function staleness(ts, newestTs, silentFor) {
  const lag = ts && newestTs ? (new Date(newestTs) - new Date(ts)) / 1000 : Infinity;
  return Math.max(0, lag) + silentFor;
}

function vital(kind, name, value, unit, age, alarming) {
  const stale = age > STALE_AFTER[kind];
  return `<div class="vital ${kind}${stale ? " stale" : ""}${alarming ? " alarming" : ""}" data-testid="${kind}">
    <span class="name">${name}</span><span class="value">${value}</span><span class="unit">${unit}</span></div>`;
}

export function renderTile(session, latest, alarms, news2, heardAt, now = Date.now()) {
  const prio = topPriority(alarms);
  const metrics = new Set(alarms.map((a) => a.metric));
  const bp = latest.sbp ? `${num(latest.sbp.value)}/${num(latest.dbp?.value)}` : "–/–";
  const map = latest.map ? ` (${num(latest.map.value)})` : "";
  const silentFor = Math.max(0, (now - heardAt) / 1000);
  const newestTs = Object.values(latest).map((v) => v.ts).sort().pop();
  const age = (m) => staleness(latest[m]?.ts, newestTs, silentFor);
  const worst = Math.min(age("hr"), age("spo2"));
  const staleNote = Number.isFinite(worst) && worst > STALE_S
    ? `<span class="stale-marker">no data ${Math.round(worst)} s</span>` : "";
  let timing = "Not dosed yet";
  if (session.first_dose_at) {
    timing = `Dosed ${duration(ageSeconds(session.first_dose_at, now))} ago`;
    if (session.observation_until) {
      const left = -ageSeconds(session.observation_until, now);
      timing += left > 0 ? ` · observe ${duration(left)} more` : " · observation complete";
    }
  }
  const n2 = news2 ? `<span class="news2 ${news2.level === "emergency" ? "emergency" : news2.level === "urgent review" ? "urgent" : ""}"
      data-testid="news2" title="NEWS2 over ${4 - (news2.missing || []).length} of 4 measured parameters">NEWS2 ${news2.score} · ${esc(news2.level)}</span>` : `<span data-testid="news2">NEWS2 –</span>`;
  return `<article class="tile ${prio ? `prio-${prio}` : ""}" tabindex="0" data-testid="tile-${session.id}" data-session="${session.id}"
      aria-label="${esc(session.room || "")} ${prio ? LABELS[prio] : "no alarm"}">
    <div class="tile-head"><span class="room">${esc(session.room || `Session ${session.id}`)}</span>
      <span class="alarm-label" data-testid="alarm-label">${prio ? LABELS[prio] : "OK"}</span></div>
    <div class="who"><span>${esc(session.patient.display_name || session.patient.ref)}</span><span>${PROTOCOLS[session.protocol] || esc(session.protocol)}</span></div>
    <div class="vitals">
      ${vital("hr", "HR", num(latest.hr?.value), "/min", age("hr"), metrics.has("hr"))}
      ${vital("bp", "BP", bp + map, "mmHg", age("sbp"), metrics.has("sbp") || metrics.has("dbp") || metrics.has("map"))}
      ${vital("spo2", "SpO2", num(latest.spo2?.value), "%", age("spo2"), metrics.has("spo2"))}
      ${vital("rr", "RR", num(latest.rr?.value), "/min", age("rr"), metrics.has("rr"))}
    </div>
    <canvas class="spark" data-spark="${session.id}" width="320" height="34" aria-hidden="true"></canvas>
    <div class="tile-foot"><span>${timing}</span>${staleNote}${n2}</div>
  </article>`;
}

/** Keep ~10 min of HR and SpO2 per session for the tile's trend line. */
export class TrendHistory {
  constructor() { this.data = new Map(); }

  add(sessionId, ts, hr, spo2) {
    const t = new Date(ts).getTime() / 1000;
    const series = this.data.get(sessionId) || [];
    if (series.length && t <= series[series.length - 1][0]) return;
    series.push([t, hr, spo2]);
    while (series.length && series[0][0] < t - TREND_S) series.shift();
    this.data.set(sessionId, series);
  }

  draw(canvas, sessionId) {
    const series = this.data.get(sessionId) || [];
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (series.length < 2) return;
    const t0 = series[series.length - 1][0] - TREND_S;
    const x = (t) => ((t - t0) / TREND_S) * canvas.width;
    const line = (index, lo, hi, colour) => {
      ctx.strokeStyle = colour;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      let started = false;
      for (const row of series) {
        if (row[index] === undefined || row[index] === null) { started = false; continue; }
        const y = canvas.height - ((Math.min(hi, Math.max(lo, row[index])) - lo) / (hi - lo)) * canvas.height;
        if (started) ctx.lineTo(x(row[0]), y); else ctx.moveTo(x(row[0]), y);
        started = true;
      }
      ctx.stroke();
    };
    line(1, 30, 180, "#35c46a");
    line(2, 80, 100, "#3fd0ff");
  }
}
