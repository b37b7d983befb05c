// One session in depth: whole-session trends with limits and dose markers,
// the timeline, the alarm history, limit changes and ending the session.

import { ApiError, api } from "./api.js";
import { clock, duration, esc, ageSeconds } from "./format.js";

const CHARTS = [
  { title: "Heart rate (/min)", metrics: ["hr"], colours: ["#35c46a"], limits: "hr" },
  { title: "SpO2 (%)", metrics: ["spo2"], colours: ["#3fd0ff"], limits: "spo2" },
  { title: "Blood pressure (mmHg)", metrics: ["sbp", "dbp", "map"], colours: ["#ff8c42", "#ffb380", "#c08050"], limits: "sbp" },
  { title: "Respiratory rate (/min)", metrics: ["rr"], colours: ["#e6e6e6"], limits: "rr" },
];
const LIMIT_FIELDS = ["critical_low", "low", "high", "critical_high", "for_s"];
const LIMIT_COLOURS = { critical_low: "#ff3b3b", low: "#ffd21f", high: "#ffd21f", critical_high: "#ff3b3b" };

/** Merge several metrics' series onto one time axis for uPlot. */
function align(seriesList) {
  const times = [...new Set(seriesList.flatMap((s) => s.ts))].sort();
  const index = new Map(times.map((t, i) => [t, i]));
  const columns = seriesList.map((s) => {
    const col = new Array(times.length).fill(null);
    s.ts.forEach((t, i) => { col[index.get(t)] = s.values[i]; });
    return col;
  });
  return [times.map((t) => new Date(t).getTime() / 1000), ...columns];
}

function markersPlugin(lines, events) {
  return {
    hooks: {
      draw: (u) => {
        const { ctx } = u;
        const { left, top, width, height } = u.bbox;
        ctx.save();
        ctx.lineWidth = 1;
        for (const [value, colour] of lines) {
          const y = u.valToPos(value, "y", true);
          if (y < top || y > top + height) continue;
          ctx.strokeStyle = colour;
          ctx.setLineDash([6, 4]);
          ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(left + width, y); ctx.stroke();
        }
        ctx.setLineDash([]);
        for (const ev of events) {
          const x = u.valToPos(new Date(ev.ts).getTime() / 1000, "x", true);
          if (x < left || x > left + width) continue;
          ctx.strokeStyle = ev.kind === "dose" ? "#c58bff" : "#7a8899";
          ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, top + height); ctx.stroke();
          ctx.fillStyle = ctx.strokeStyle;
          ctx.fillText(ev.kind, x + 3, top + 12);
        }
        ctx.restore();
      },
    },
  };
}

export class SessionView {
  constructor(dialog, onError) {
    this.dialog = dialog;
    this.onError = onError;
    this.plots = [];
    this.sessionId = null;
    dialog.querySelectorAll("[data-close]").forEach((b) => b.addEventListener("click", () => this.close()));
    dialog.addEventListener("close", () => this.teardown());
    dialog.querySelector("#event-form").addEventListener("submit", (e) => this.addEvent(e));
    dialog.querySelector("#thresholds-form").addEventListener("submit", (e) => this.saveLimits(e));
    dialog.querySelector("#end-session").addEventListener("click", () => this.end());
  }

  async open(sessionId) {
    this.sessionId = sessionId;
    if (!this.dialog.open) this.dialog.showModal();
    await this.refresh();
  }

  close() { this.dialog.close(); }

  teardown() {
    this.plots.forEach((p) => p.destroy());
    this.plots = [];
    this.sessionId = null;
  }

  async refresh() {
    const id = this.sessionId;
    const [session, events, alarms] = await Promise.all([
      api(`/api/v1/sessions/${id}`),
      api(`/api/v1/sessions/${id}/events`),
      api("/api/v1/alarms", { params: { session_id: id } }),
    ]);
    this.session = session;
    const $ = (sel) => this.dialog.querySelector(sel);
    $("#sv-title").textContent = `${session.room || `Session ${id}`} · ${session.patient.display_name || session.patient.ref}`;
    const baseline = Object.entries(session.baseline).filter(([, v]) => v !== null)
      .map(([k, v]) => `${k} ${Math.round(v)}`).join(", ") || "not yet";
    $("#sv-summary").innerHTML = `<span>Protocol ${esc(session.protocol)}</span>
      <span>Started ${clock(session.started_at)}</span>
      <span>${session.first_dose_at ? `First dose ${clock(session.first_dose_at)}` : "No dose yet"}</span>
      <span>Baseline: ${esc(baseline)}</span><span>Monitors: ${session.devices.map((d) => esc(d.name)).join(", ") || "none"}</span>`;
    $("#sv-events").innerHTML = events.map((e) => `<li>${clock(e.ts)} <strong>${esc(e.kind)}</strong> ${esc(e.detail || "")}</li>`).join("")
      || "<li class='muted'>No events yet</li>";
    $("#sv-alarms").innerHTML = alarms.map((a) => `<tr><td>${clock(a.raised_at)}</td><td>${a.priority}</td>
      <td>${esc(a.message)}</td><td>${a.state}${a.condition_active ? "" : " (cleared)"}</td><td>${esc(a.acked_by || "")}</td></tr>`).join("")
      || "<tr><td colspan='5' class='muted'>No alarms</td></tr>";
    const until = session.observation_until;
    $("#sv-observation").textContent = until
      ? (ageSeconds(until) < 0 ? `Observation continues until ${clock(until)} (${duration(-ageSeconds(until))} more).` : "Observation time complete.")
      : "No observation time set (no dose yet or custom protocol).";
    $("#end-session").hidden = session.status !== "active";
    this.renderLimits(session.thresholds);
    await this.renderCharts(session, events);
  }

  async renderCharts(session, events) {
    this.plots.forEach((p) => p.destroy());
    this.plots = [];
    const box = this.dialog.querySelector("#sv-charts");
    box.innerHTML = "";
    for (const chart of CHARTS) {
      const series = await Promise.all(chart.metrics.map((m) =>
        api(`/api/v1/sessions/${session.id}/readings`, { params: { metric: m, max_points: 800 } })));
      const holder = document.createElement("div");
      holder.className = "chart";
      holder.innerHTML = `<h4>${chart.title}</h4>`;
      box.appendChild(holder);
      const limits = session.thresholds[chart.limits] || {};
      const lines = Object.entries(LIMIT_COLOURS).filter(([k]) => limits[k] !== null && limits[k] !== undefined)
        .map(([k, colour]) => [limits[k], colour]);
      const opts = {
        width: Math.min(680, box.clientWidth || 680), height: 180,
        scales: { x: { time: true } },
        axes: [{ stroke: "#8b9bb0", grid: { stroke: "#263241" } }, { stroke: "#8b9bb0", grid: { stroke: "#263241" } }],
        series: [{}, ...chart.metrics.map((m, i) => ({ label: m.toUpperCase(), stroke: chart.colours[i], width: 1.5, spanGaps: m !== "hr" && m !== "spo2" ? true : false, points: { show: m === "sbp" || m === "dbp" || m === "map" } }))],
        plugins: [markersPlugin(lines, events)],
      };
      this.plots.push(new window.uPlot(opts, align(series), holder));
    }
  }

  renderLimits(thresholds) {
    const form = this.dialog.querySelector("#thresholds-form");
    const head = ["", ...LIMIT_FIELDS].map((f) => `<span class="head">${f.replace("_", " ")}</span>`).join("");
    const rows = ["hr", "sbp", "dbp", "map", "spo2", "rr"].map((m) => `<span>${m.toUpperCase()}</span>` + LIMIT_FIELDS.map((f) =>
      `<input name="${m}.${f}" type="number" step="any" aria-label="${m} ${f}" value="${thresholds[m][f] ?? ""}">`).join("")).join("");
    form.innerHTML = head + rows + '<button type="submit">Save limits</button>';
    this.limits = thresholds;
  }

  async saveLimits(ev) {
    ev.preventDefault();
    const form = ev.target;
    const patch = {};
    for (const input of form.querySelectorAll("input")) {
      input.classList.remove("invalid");
      const [m, f] = input.name.split(".");
      const value = input.value === "" ? null : Number(input.value);
      if (value !== (this.limits[m][f] ?? null)) (patch[m] ||= {})[f] = value;
    }
    const error = this.dialog.querySelector("#thresholds-error");
    error.textContent = "";
    if (!Object.keys(patch).length) return;
    try {
      await api(`/api/v1/sessions/${this.sessionId}/thresholds`, { method: "PATCH", body: patch });
      await this.refresh();
    } catch (err) {
      this.markFields(form, err);
      error.textContent = err.message;
    }
  }

  markFields(form, err) {
    if (!(err instanceof ApiError)) return;
    for (const path of Object.keys(err.fields())) {
      const input = form.querySelector(`input[name="${path}"]`);
      if (input) input.classList.add("invalid");
    }
  }

  async addEvent(ev) {
    ev.preventDefault();
    const form = ev.target;
    const error = this.dialog.querySelector("#event-error");
    error.textContent = "";
    try {
      await api(`/api/v1/sessions/${this.sessionId}/events`, {
        method: "POST", body: { kind: form.kind.value, detail: form.detail.value || null },
      });
      form.detail.value = "";
      await this.refresh();
    } catch (err) { error.textContent = err.message; }
  }

  async end() {
    const until = this.session.observation_until;
    const early = until && ageSeconds(until) < 0;
    const question = early
      ? `Observation is not complete (${duration(-ageSeconds(until))} left). End the session anyway? This is recorded.`
      : "End this session? Its monitors will be freed.";
    if (!confirm(question)) return;
    try {
      await api(`/api/v1/sessions/${this.sessionId}/end`, { method: "POST" });
      this.close();
    } catch (err) { this.onError(err); }
  }
}
