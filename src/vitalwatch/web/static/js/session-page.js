// One session's page: the live ward stays on screen (the strip above, sound,
// confirmations), this session's open alarms with Acknowledge and Silence,
// trends with every limit drawn, the timeline, the alarm history, the limits
// (switching an alarm off asks why), and ending the session (asked first
// when alarms are unacknowledged).

import { api } from "./api.js";
import { startWardPage } from "./chrome.js";
import { AlarmList } from "./alarm-list.js";
import { answerText } from "./alarms.js";
import { CHARTS, align, makeChart, manualPoints } from "./charts.js";
import { h } from "./dom.js";
import { PRIORITY_WORD, ageSeconds, baselineText, clock, dateTime, duration, protocolLabel } from "./format.js";
import { LimitsForm } from "./limits-form.js";
import { sessionSections } from "./mounts.js";
import { requireSignIn } from "./station.js";
import "./bedside-entry.js"; // the typed-vitals section (registers a session section)

const $ = (sel) => document.querySelector(sel);
const EVENT_WORDS = {
  dose: "Dose", phase: "Phase", note: "Note", alarm_off: "Alarm off", alarm_on: "Alarm back on",
  monitor_alarm: "Monitor's own alarm", monitor_warning: "Monitor warning",
  manual_reading: "Typed in", reading_struck: "Struck out",
};

/** A monitor's own alarm on the timeline: technical (lead off, probe off) or the
 *  patient's, coloured as the station colours them (technical cyan, patient in
 *  its priority's colour; style.css `.events li[data-alarm-kind]`). */
function monitorData(e) {
  const m = e.kind === "monitor_alarm" ? e.monitor_alarm : null;
  if (!m) return {};
  return { alarmKind: m.kind, priority: m.priority || "none", active: String(m.active) };
}

function monitorBadge(e) {
  const m = e.kind === "monitor_alarm" ? e.monitor_alarm : null;
  if (!m) return null;
  let text = m.kind === "advisory" ? "ADVISORY" : "TECHNICAL";
  if (m.kind === "physiological") text = `PATIENT${m.priority ? ` · ${PRIORITY_WORD[m.priority]}` : ""}`;
  return h("span", { class: "ev-badge", "data-testid": `event-badge-${e.id}` }, text);
}

class SessionPage {
  constructor(id, ward) {
    this.id = id;
    this.ward = ward;
    this.plots = [];
    this.limits = new LimitsForm($("#limits-form"), { onSaved: () => this.refresh() });
    this.list = new AlarmList($("#sv-alarm-list"), ward, {
      filter: (a) => a.session_id === id, countEl: $("#sv-alarm-count"),
    });
    ward.on("alarm", (a) => { if (a.session_id === id) this.scheduleRefresh(); });
    ward.on("session", (s) => { if (s.id === id) this.scheduleRefresh(); });
    ward.on("vitals", (items) => { if (items.some((i) => i.session_id === id)) this.liveValues = true; });
    // the monitor's own alarms and warnings, typed-in readings and strike-outs: timeline and trends
    const mine = (x) => { if (x && x.session_id === id) this.scheduleRefresh(); };
    ward.on("monitor", (x) => { mine(x); this.monitorNow(); });
    ward.on("manual", (entry) => {
      mine(entry);
      // the sections (js/bedside-entry.js) redraw what another nurse typed or struck
      if (entry.session_id === id) $("#sv-extensions").dispatchEvent(new CustomEvent("vitalwatch:manual", { detail: entry }));
    });
    setInterval(() => { if (this.liveValues) { this.liveValues = false; this.refreshCharts(); } }, 10_000);
    setInterval(() => this.observation(), 1000);
    $("#event-form").addEventListener("submit", (e) => this.addEvent(e));
    $("#end-session").addEventListener("click", () => this.askEnd());
  }

  /** The monitor's own alarms standing now: not VitalWatch's (no acknowledge), shown apart. */
  monitorNow() {
    const standing = this.ward.monitorAlarmsOf(this.id);
    const box = $("#sv-monitor");
    box.hidden = standing.length === 0;
    box.replaceChildren(...standing.map((m) => h("li", { dataset: { kind: m.kind, priority: m.priority || "none" } },
      `${m.message} · since ${clock(m.ts)} · ${m.device_name}`,
      h("span", { class: "muted" }, " (the monitor's own alarm; acknowledge it at the monitor)"))));
  }

  scheduleRefresh() {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => this.refresh().catch((e) => this.fail(e)), 300);
  }

  fail(err) { $("#sv-error").textContent = err.message || String(err); }

  async refresh() {
    const id = this.id;
    const [session, events, alarms] = await Promise.all([
      api(`/api/v1/sessions/${id}`),
      api(`/api/v1/sessions/${id}/events`),
      api("/api/v1/alarms", { params: { session_id: id } }),
    ]);
    this.session = session;
    this.events = events;
    $("#sv-error").textContent = "";
    document.title = `${session.room || `Session ${id}`} · VitalWatch`;
    $("#sv-title").textContent = `${session.room || `Session ${id}`} · ${session.patient.display_name || session.patient.ref}`;
    this.summary(session);
    this.alarmsOff(session);
    this.timeline(events);
    this.history(alarms);
    this.limits.render(session);
    this.observation();
    this.ended(session);
    if (!this.mounted) {
      this.mounted = true;
      for (const fn of sessionSections) fn($("#sv-extensions"), session);
    }
    await this.refreshCharts();
  }

  summary(s) {
    const baseline = baselineText(s.baseline) || "not yet";
    const item = (label, value) => h("span", {}, `${label} `, h("b", {}, value));
    $("#sv-summary").replaceChildren(
      item("Protocol", protocolLabel(s.protocol)),
      item("Patient", s.patient.ref),
      item("Started", dateTime(s.started_at)),
      item("First dose", s.first_dose_at ? clock(s.first_dose_at) : "not yet"),
      item("Baseline", baseline),
      item("Monitors", s.devices.map((d) => d.name).join(", ") || "none — nobody is measuring"),
    );
  }

  alarmsOff(s) {
    const box = $("#sv-off");
    const off = s.alarms_off || [];
    box.hidden = off.length === 0;
    box.replaceChildren(h("strong", {}, "Alarm off: "), off.map((o) => o.label).join(", "),
      h("span", { class: "muted" }, " — these conditions cannot sound. Set the limit again to switch it back on."));
  }

  timeline(events) {
    // "Monitor: Lead off (technical alarm)" reads "Monitor's own alarm TECHNICAL: Lead off (technical alarm)" here
    // "Alarm off" + "alarm off: SpO2 low (reason)" reads "Alarm off: SpO2 low (reason)"
    const detail = (e) => {
      const text = e.detail || "";
      if (e.kind === "monitor_alarm") return `: ${text.replace(/^Monitor: /, "")}`;
      const said = `${(EVENT_WORDS[e.kind] || "").toLowerCase()}: `;
      if (said.length > 2 && text.toLowerCase().startsWith(said)) return `: ${text.slice(said.length)}`;
      return ` ${text}`;
    };
    $("#sv-events").replaceChildren(...(events.length ? events.map((e) => {
      const badge = monitorBadge(e);
      return h("li", { dataset: { kind: e.kind, ...monitorData(e) } },
        `${clock(e.ts)} `, h("strong", {}, EVENT_WORDS[e.kind] || "Event"), badge && " ", badge, detail(e));
    }) : [h("li", { class: "muted" }, "No events yet")]));
  }

  history(alarms) {
    $("#sv-alarms").replaceChildren(...(alarms.length ? alarms.map((a) => h("tr", { dataset: { alarm: a.id } },
      h("td", {}, clock(a.raised_at)),
      h("td", {}, `${PRIORITY_WORD[a.priority]}${a.kind === "technical" ? " · technical" : ""}`),
      h("td", {}, a.message),
      h("td", {}, a.state === "resolved" ? `resolved ${clock(a.resolved_at)}` : `${a.state}${a.condition_active ? "" : " (cleared)"}`),
      h("td", {}, a.acked_at ? `${a.acked_by} ${clock(a.acked_at)}` : a.state === "resolved" ? "never" : answerText(a))))
      : [h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No alarms"))]));
  }

  observation() {
    const s = this.session;
    if (!s) return;
    const until = s.observation_until;
    let text = "No observation time set (no dose yet, or a custom protocol).";
    if (s.status !== "active") {
      text = until ? `Observation time was until ${clock(until, false)}.` : "";
    } else if (until) {
      text = ageSeconds(until) < 0
        ? `Observation continues until ${clock(until, false)} (${duration(-ageSeconds(until))} more).`
        : `Observation time over since ${clock(until, false)}.`;
    }
    $("#sv-observation").textContent = text;
  }

  ended(s) {
    const box = $("#sv-ended");
    const active = s.status === "active";
    $("#end-session").hidden = !active;
    $("#event-form").hidden = !active;
    box.hidden = active;
    if (!active) {
      box.replaceChildren(`Session ended ${dateTime(s.ended_at)}${s.ended_early ? " (before the observation time was over)" : ""}. `,
        h("a", { href: `/sessions/${s.id}/record`, "data-testid": "sv-record-link" }, "Session record"), " · ",
        h("a", { href: "/sessions" }, "Past sessions"));
    }
  }

  async refreshCharts() {
    const s = this.session;
    if (!s) return;
    const metrics = [...new Set(CHARTS.flatMap((c) => c.metrics))];
    const series = await Promise.all(metrics.map((m) =>
      api(`/api/v1/sessions/${s.id}/readings`, { params: { metric: m, max_points: 800 } })));
    const byMetric = Object.fromEntries(series.map((r) => [r.metric, r]));
    const box = $("#sv-charts");
    this.plots.forEach((p) => p.destroy());
    this.plots = [];
    box.replaceChildren();
    for (const chart of CHARTS) {
      const holder = h("div", { class: "chart", "data-testid": `chart-${chart.key}` }, h("h3", {}, chart.title));
      box.append(holder);
      const width = Math.max(300, holder.clientWidth - 16);
      const typed = manualPoints(chart, byMetric);
      holder.dataset.manual = String(typed.length);
      this.plots.push(makeChart(holder, chart, align(chart.metrics.map((m) => byMetric[m])), s.thresholds, this.events, width, typed));
    }
  }

  async addEvent(ev) {
    ev.preventDefault();
    const form = ev.target;
    $("#event-error").textContent = "";
    try {
      await api(`/api/v1/sessions/${this.id}/events`, {
        method: "POST", body: { kind: form.kind.value, detail: form.detail.value || null },
      });
      form.detail.value = "";
      await this.refresh();
    } catch (err) { $("#event-error").textContent = err.message; }
  }

  askEnd() {
    const s = this.session;
    const box = $("#end-confirm");
    const unacked = this.ward.alarmsOf(this.id).filter((a) => a.state === "active");
    const until = s.observation_until;
    const early = until && ageSeconds(until) < 0;
    const parts = [];
    if (unacked.length) {
      parts.push(h("strong", {}, `${unacked.length} alarm${unacked.length > 1 ? "s are" : " is"} not acknowledged:`),
        h("ul", {}, ...unacked.map((a) => h("li", {}, `${PRIORITY_WORD[a.priority]} · ${a.message} · ${answerText(a)}`))),
        h("p", {}, "Ending the session closes them in your name."));
    }
    if (early) parts.push(h("p", {}, `Observation is not over: ${duration(-ageSeconds(until))} left. Ending now is recorded.`));
    if (!parts.length) parts.push(h("p", {}, "End this session? Its monitors are freed."));
    const error = h("p", { class: "error", role: "alert" });
    const yes = h("button", { type: "button", class: "danger", "data-testid": "end-confirm-yes", onclick: async () => {
      try {
        await api(`/api/v1/sessions/${this.id}/end`, { method: "POST" });
        box.hidden = true;
        await this.refresh();
      } catch (err) { error.textContent = err.message; }
    } }, unacked.length || early ? "End session anyway" : "End session");
    const no = h("button", { type: "button", onclick: () => { box.hidden = true; } }, "Cancel");
    box.replaceChildren(...parts, error, h("div", { class: "row" }, yes, no));
    box.hidden = false;
  }
}

if (requireSignIn()) {
  const id = Number(location.pathname.split("/")[2]);
  let page = null;
  startWardPage($("#chrome"), { currentId: id, setup: (ward) => { page = new SessionPage(id, ward); } });
  page.refresh().catch((err) => page.fail(err));
}
