// Room tiles as on a central station: one per session, built once and updated
// in place. The whole tile flashes with its alarm (high ~2 Hz, medium
// ~0.5 Hz, low steady; CSS animations a redraw never restarts), the alarm's
// words are in the tile, the value in alarm takes the priority colour,
// technical alarms are cyan and blank the values they make stale, a room
// nobody measures says "No monitor", and an alarm switched off shows on its
// value and in the tile's label until it is back. An acknowledged alarm stops
// flashing (steady colour, IEC 60601-1-8) until it clears or re-alerts. The
// monitor's own alarms (HL7 ORU^R40) have a line of their own, steady and
// outlined (they neither flash nor sound: VitalWatch's rules do that), a value
// typed in by a nurse is marked "typed", and a value that is not live says its
// age. Every value is shrunk to fit its box (js/fit.js).

import { answerText, blankedMetrics, isTechnical, technicalLabel, topAlarm } from "./alarms.js";
import { h, setAttr, setData, setText, show, syncFlash } from "./dom.js";
import { PRIORITY_RANK, STALE_S, ageSeconds, clock, duration, num, protocolLabel, shortAge } from "./format.js";
import { fitText } from "./fit.js";
import { MonitorLine } from "./monitor-line.js";
import { tileActions } from "./mounts.js";

const LABELS = { high: "HIGH", medium: "MEDIUM", low: "LOW" };

/** The tile's label as [shown always, dropped on a narrow tile] parts: "HIGH"
 *  " ALARM", so the room's name is not cut to "Roo…" beside it. */
function setLabel(el, main, long = "") {
  const key = `${main}|${long}`;
  if (el.dataset.text === key) return;
  el.dataset.text = key;
  el.replaceChildren(main, ...(long ? [h("span", { class: "long" }, long)] : []));
}
// cuff blood pressure comes every 5-15 min: stale only when far older than that
const STALE_AFTER = { hr: STALE_S, spo2: STALE_S, rr: 30, bp: 20 * 60 };
// a cuff value always says how old it is once older than this (it is not a live value)
const BP_AGE_AFTER_S = 60;
const CELLS = [
  { kind: "hr", name: "HR", unit: "/min", metrics: ["hr"] },
  { kind: "bp", name: "BP", unit: "mmHg", metrics: ["sbp", "dbp", "map"] },
  { kind: "spo2", name: "SpO2", unit: "%", metrics: ["spo2"] },
  { kind: "rr", name: "RR", unit: "/min", metrics: ["rr"] },
];

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

/**
 * How old a value is, judged without trusting the device clock: how long the
 * dashboard has heard nothing from the session, plus how far the value lags
 * behind the session's newest value (a probe off while RR still comes).
 */
function staleness(ts, newestTs, silentFor) {
  const lag = ts && newestTs ? (new Date(newestTs) - new Date(ts)) / 1000 : Infinity;
  return Math.max(0, lag) + silentFor;
}

const BELL_OFF = '<svg viewBox="0 0 16 16" aria-hidden="true" class="bell-off"><path d="M8 1.5a4 4 0 0 0-4 4v3L2.5 11h11L12 8.5v-3a4 4 0 0 0-4-4zM6.5 12.5a1.5 1.5 0 0 0 3 0" fill="none" stroke="currentColor" stroke-width="1.4"/><path d="M2 2l12 12" stroke="currentColor" stroke-width="1.8"/></svg>';

class VitalCell {
  constructor(cell, sessionId) {
    this.cell = cell;
    this.value = h("span", { class: "value", "data-testid": `value-${cell.kind}-${sessionId}` });
    this.unit = h("span", {}, cell.unit);
    this.off = h("span", { class: "alarm-off", "data-testid": `alarm-off-${cell.kind}-${sessionId}`, hidden: true });
    this.off.innerHTML = `${BELL_OFF}<span>off</span>`; // static markup, built once
    // "typed 5 min" (on a small tile "✎ 5 min")
    this.typedAge = h("span", { class: "typed-age" });
    this.typed = h("span", { class: "typed", "data-testid": `typed-${cell.kind}-${sessionId}`, hidden: true },
      h("span", { class: "typed-icon", "aria-hidden": "true" }, "✎"), h("span", { class: "typed-word" }, "typed"), this.typedAge);
    this.age = h("span", { class: "age", "data-testid": `age-${cell.kind}-${sessionId}`, hidden: true });
    this.el = h("div", { class: `vital ${cell.kind}`, "data-testid": cell.kind },
      h("span", { class: "name" }, cell.name, this.typed, this.off, this.age), this.value,
      h("span", { class: "unit" }, this.unit));
  }

  /** `age`: seconds since the value was measured, shown when not null. */
  update(text, { stale, blanked, alarm, off, unit, typed = null, age = null }) {
    setData(this.el, "manual", typed ? "true" : null);
    show(this.typed, Boolean(typed));
    setAttr(this.typed, "title", typed ? `Typed in by ${typed.entered_by} (${clock(typed.ts)})` : null);
    const shown = blanked ? "– – –" : text;
    if (this.value.textContent !== shown) { setText(this.value, shown); this.refit = true; }
    setText(this.unit, unit ?? this.cell.unit);
    setData(this.el, "stale", stale && !blanked ? "true" : null);
    setData(this.el, "blanked", blanked ? "true" : null);
    setData(this.el, "alarm", alarm);
    setData(this.el, "off", off.length ? "true" : null);
    show(this.off, off.length > 0);
    setAttr(this.off, "title", off.length ? `Alarm switched off: ${off.join(", ")}` : null);
    // a typed value's age is in its "typed" mark, another's beside its name
    const ageText = age === null || blanked ? "" : shortAge(age);
    const typedText = typed && ageText ? ` ${ageText}` : "";
    if (this.typedAge.textContent !== typedText) { setText(this.typedAge, typedText); this.refit = true; }
    show(this.age, ageText !== "" && !typed);
    setText(this.age, ageText);
    setAttr(this.age, "title", ageText ? `measured ${ageText} ago` : null);
  }

  /** Shrink the value to its box when it changed or the tile was resized; a
   *  "typed 1 min" mark wider than its cell becomes "✎ 1 min". */
  fit(force = false) {
    if (!this.refit && !force) return;
    this.refit = false;
    fitText(this.value);
    this.el.classList.remove("narrow");
    if (!this.typed.hidden && this.typed.getBoundingClientRect().right > this.el.getBoundingClientRect().right - 3) {
      this.el.classList.add("narrow");
    }
  }
}

export class TileView {
  constructor(session, openSession) {
    const id = session.id;
    this.id = id;
    this.room = h("span", { class: "t-room" });
    this.label = h("span", { class: "t-label", "data-testid": "alarm-label" });
    this.patient = h("span", { class: "t-patient" });
    this.protocol = h("span", { class: "t-protocol" });
    this.alarmText = h("span", { class: "t-alarm-text", "data-testid": "tile-alarm" });
    this.alarmAnswer = h("span", { class: "t-alarm-answer", "data-testid": "tile-answer" });
    this.monitor = new MonitorLine("div", { class: "t-monitor", "data-testid": `tile-monitor-${id}` });
    this.cells = CELLS.map((c) => new VitalCell(c, id));
    this.spark = h("canvas", { class: "spark", width: 320, height: 40, "aria-hidden": "true" });
    this.timing = h("span", { class: "t-timing", "data-testid": "tile-timing" });
    this.stale = h("span", { class: "t-stale" });
    this.news2 = h("span", { class: "t-news2", "data-testid": "news2" });
    this.actions = h("div", { class: "t-actions", dataset: { mount: "tile-actions" } });
    this.el = h("article", {
      class: "tile", tabindex: 0, role: "link", "data-testid": `tile-${id}`, dataset: { session: id },
      onclick: (ev) => { if (!ev.target.closest(".t-actions")) openSession(id); },
      onkeydown: (ev) => {
        if (ev.target.closest(".t-actions")) return; // a key meant for a tile action
        if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); openSession(id); }
      },
    },
    h("div", { class: "t-head" }, this.room, this.label),
    h("div", { class: "t-who" }, this.patient, this.protocol),
    h("div", { class: "t-alarm" }, this.alarmText, this.alarmAnswer),
    this.monitor.el,
    h("div", { class: "vitals" }, ...this.cells.map((c) => c.el)),
    h("div", { class: "t-trend" }, this.spark),
    h("div", { class: "t-foot" }, this.timing, this.stale, this.news2),
    this.actions);
    this.mounted = false;
    new ResizeObserver(() => {
      for (const c of this.cells) c.fit(true);
      this.fitHead(true);
      fitText(this.alarmAnswer, 8);
    }).observe(this.el);
  }

  /** `noMonitor`: nobody measures this patient (WardState.nobodyMeasures);
   *  `monitorAlarms`: the monitor's own standing alarms; `manual`: typed-in
   *  readings (WardState.monitorAlarmsOf, manualOf). */
  update(session, latest, alarms, news2, heardAt, noMonitor, now = Date.now(), { monitorAlarms = [], manual = [] } = {}) {
    if (!this.mounted) { this.mounted = true; for (const fn of tileActions) fn(this.actions, session); }
    const top = topAlarm(alarms);
    const el = this.el;
    const prio = top ? top.priority : null;
    const answered = Boolean(top) && top.state !== "active"; // acknowledged: steady, no flash
    const off = session.alarms_off || [];
    setData(el, "alarm", prio || "none");
    setData(el, "kind", top ? top.kind : noMonitor ? "technical" : null);
    setData(el, "unanswered", top && !answered ? "true" : null);
    setData(el, "answered", answered ? "true" : null);
    setData(el, "nomonitor", noMonitor ? "true" : null);
    setData(el, "off", off.length ? "true" : null);
    syncFlash(el, answered ? `${prio}:answered` : prio || "none");
    let label = off.length ? "ALARM OFF" : "OK";
    let long = "";
    if (top && isTechnical(top)) label = technicalLabel(top);
    else if (top) { label = `${LABELS[prio]}${answered ? " ✓" : ""}`; long = answered ? " ACKNOWLEDGED" : " ALARM"; }
    else if (noMonitor) label = "No monitor";
    setLabel(this.label, label, long);
    label += long;
    const offWords = off.length ? ` · alarm off: ${off.map((o) => o.label).join(", ")}` : "";
    setAttr(el, "aria-label", `${session.room || `Session ${session.id}`}: ${label}${offWords}`);

    setText(this.room, session.room || `Session ${session.id}`);
    setText(this.patient, session.patient.display_name || session.patient.ref);
    setText(this.protocol, protocolLabel(session.protocol));
    const more = alarms.filter((a) => a !== top).length;
    let text = "";
    if (top) text = top.message + (more ? `  (+${more} more)` : "");
    else if (off.length) text = `Alarm off: ${off.map((o) => o.label).join(", ")}`;
    else if (noMonitor) {
      text = session.devices?.length
        ? `No monitor: ${session.devices.map((d) => d.name).join(", ")} has sent nothing`
        : "No monitor: nobody is measuring this patient";
    }
    setText(this.alarmText, text);
    setAttr(this.alarmText, "title", text || null);
    const answer = top ? answerText(top, now) : "";
    if (this.alarmAnswer.textContent !== answer) { setText(this.alarmAnswer, answer); fitText(this.alarmAnswer, 8); }

    this.monitor.update(monitorAlarms);
    this.updateValues(session, latest, alarms, heardAt, now, manual, noMonitor);
    this.updateFoot(session, alarms, news2, now);
    for (const c of this.cells) c.fit();
    this.fitHead();
  }

  /** The room's name comes before the label's long word: a head too narrow
   *  for both drops " ACKNOWLEDGED" ("HIGH ✓") rather than cut "Room acked" to
   *  "Room a…", then shrinks the name a little. */
  fitHead(force = false) {
    const key = `${this.room.textContent}|${this.label.dataset.text}`;
    if (key === this.headKey && !force) return;
    this.headKey = key;
    this.label.classList.remove("short");
    this.room.style.fontSize = "";
    if (this.room.scrollWidth > this.room.clientWidth + 1) this.label.classList.add("short");
    fitText(this.room, 11); // a name still too long is made smaller before it is cut
  }

  updateValues(session, latest, alarms, heardAt, now, manual = [], noMonitor = false) {
    const silentFor = Math.max(0, (now - heardAt) / 1000);
    const newestTs = Object.values(latest).map((v) => v.ts).sort().pop();
    const age = (m) => staleness(latest[m]?.ts, newestTs, silentFor);
    const blanked = blankedMetrics(alarms, session.devices?.length ?? 0);
    const alarmOf = (metrics) => {
      let best = null;
      for (const a of alarms) {
        if (isTechnical(a) || a.condition_active === false) continue;
        const hit = metrics.includes(a.metric) || (a.conditions || []).some((c) => c.active !== false && metrics.includes(c.metric));
        if (hit && (!best || PRIORITY_RANK[a.priority] > PRIORITY_RANK[best])) best = a.priority;
      }
      return best;
    };
    const off = session.alarms_off || [];
    for (const cell of this.cells) {
      const k = cell.cell.kind;
      let text;
      let unit;
      if (k === "bp") {
        text = latest.sbp ? `${num(latest.sbp.value)}/${num(latest.dbp?.value)}` : "–/–";
        unit = latest.map ? `mmHg · MAP ${num(latest.map.value)}` : "mmHg";
      } else text = num(latest[k]?.value);
      const metric = k === "bp" ? "sbp" : k;
      const typed = typedValue(manual, metric, latest[metric]);
      const stale = age(metric) > STALE_AFTER[k];
      // not live, so its age is shown: a cuff value after a minute, a typed-in
      // value (timed by the service), a stale one (judged as `staleness` does)
      const seconds = latest[metric]?.ts ? (typed ? ageSeconds(latest[metric].ts, now) : age(metric)) : null;
      const showAge = seconds !== null && (typed || stale || (k === "bp" && seconds > BP_AGE_AFTER_S));
      cell.update(text, {
        typed,
        age: showAge ? seconds : null,
        stale,
        blanked: cell.cell.metrics.some((m) => blanked.has(m)),
        alarm: alarmOf(cell.cell.metrics),
        off: off.filter((o) => cell.cell.metrics.includes(o.metric)).map((o) => o.label),
        unit,
      });
    }
    const worst = Math.min(age("hr"), age("spo2"));
    let silent = Number.isFinite(worst) && worst > STALE_S ? `no data ${duration(worst)}` : "";
    if (noMonitor) silent = Object.keys(latest).length ? "No monitor" : ""; // values typed in only
    setText(this.stale, silent);
  }

  updateFoot(session, alarms, news2, now) {
    let timing = "Not dosed yet";
    if (session.first_dose_at) {
      timing = `Dosed ${duration(ageSeconds(session.first_dose_at, now))} ago`;
      if (session.observation_until) {
        const left = -ageSeconds(session.observation_until, now);
        if (left > 0) timing += ` · ${duration(left)} left`;
        else timing += ` · ${observationOver(session, alarms)}`;
      }
    }
    setText(this.timing, timing);
    // the server's one observation clock (from the end of the last administration)
    setAttr(this.timing, "title", session.observation_until ? `Observation until ${clock(session.observation_until, false)}` : null);
    if (news2) {
      setText(this.news2, `NEWS2 ${news2.score}${news2.level === "low" ? "" : ` ${news2.level}`}`);
      setData(this.news2, "level", news2.level === "emergency" ? "emergency" : news2.level === "urgent review" ? "urgent" : null);
      setAttr(this.news2, "title", `NEWS2 over ${4 - (news2.missing || []).length} of 4 measured parameters`);
    } else {
      setText(this.news2, "NEWS2 –");
      setData(this.news2, "level", null);
    }
  }

  /** Draw the trend only when its data changed. */
  drawTrend(trends) {
    const v = trends.version(this.id);
    if (v === this.trendVersion) return;
    this.trendVersion = v;
    trends.draw(this.spark, this.id);
  }
}

/** The typed-in reading that the latest value of `metric` is, if any. */
function typedValue(manual, metric, latest) {
  if (!latest?.ts) return null;
  const t = new Date(latest.ts).getTime();
  for (let i = manual.length - 1; i >= 0; i -= 1) {
    const e = manual[i];
    if (!e.struck && e[metric] !== null && e[metric] !== undefined && Math.abs(new Date(e.ts).getTime() - t) < 1) return e;
  }
  return null;
}

/** After the observation time: never "complete" while an alarm is open; the
 *  records' `readiness` decides when the session object carries it. */
function observationOver(session, alarms) {
  if (alarms.some((a) => a.state !== "resolved")) return "time over, alarm open";
  const r = session.readiness;
  if (r && typeof r === "object" && "ready" in r) {
    return r.ready ? "ready for discharge review" : "time over, not ready";
  }
  return "observation complete";
}
