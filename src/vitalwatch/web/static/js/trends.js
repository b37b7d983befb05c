// The tiles' 10-minute HR and SpO2 trends: filled from the stored readings
// when the page loads (one batch request), then from the live values.

import { api } from "./api.js";

const TREND_S = 600;

export class TrendHistory {
  constructor() {
    this.data = new Map(); // session id -> [[t, hr, spo2], ...]
    this.versions = new Map();
  }

  version(sessionId) { return this.versions.get(sessionId) || 0; }

  bump(sessionId) { this.versions.set(sessionId, this.version(sessionId) + 1); }

  add(sessionId, ts, hr, spo2) {
    const t = new Date(ts).getTime() / 1000;
    const series = this.data.get(sessionId) || [];
    if (series.length && t <= series[series.length - 1][0]) return;
    series.push([t, hr, spo2]);
    while (series.length && series[0][0] < t - TREND_S) series.shift();
    this.data.set(sessionId, series);
    this.bump(sessionId);
  }

  /** Stored readings of the last 10 min, merged under what the stream already gave. */
  async load(sessionIds) {
    if (!sessionIds.length) return;
    const since = new Date(Date.now() - TREND_S * 1000).toISOString();
    const params = new URLSearchParams({ since, max_points: "300" });
    for (const id of sessionIds) params.append("session_id", id);
    params.append("metric", "hr");
    params.append("metric", "spo2");
    const { items } = await api(`/api/v1/sessions/trends?${params}`);
    const bySession = new Map();
    for (const item of items) {
      const rows = bySession.get(item.session_id) || new Map();
      item.ts.forEach((ts, i) => {
        const t = new Date(ts).getTime() / 1000;
        const row = rows.get(t) || [t, null, null];
        row[item.metric === "hr" ? 1 : 2] = item.values[i];
        rows.set(t, row);
      });
      bySession.set(item.session_id, rows);
    }
    for (const [sid, rows] of bySession) {
      const live = this.data.get(sid) || [];
      const first = live.length ? live[0][0] : Infinity;
      const stored = [...rows.values()].filter((r) => r[0] < first).sort((a, b) => a[0] - b[0]);
      this.data.set(sid, [...stored, ...live]);
      this.bump(sid);
    }
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
      ctx.lineWidth = 2;
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

  /** How many points a session's trend holds (for tests and the tile's title). */
  count(sessionId) { return (this.data.get(sessionId) || []).length; }
}
