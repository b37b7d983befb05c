// The alarm list: highest priority first, then newest. Each alarm has one row,
// built once and updated in place, so Acknowledge and Silence are the same
// buttons for the alarm's whole life and a press always lands. The buttons
// show pending, done and failed; the rows move only when no pointer is
// pressing or aiming over the list. An empty list says so; a list longer
// than its panel says how many alarms are below, and takes you there.

import { api } from "./api.js";
import { answerText, conditionsText, isTechnical, peakText, sortAlarms, technicalLabel } from "./alarms.js";
import { StillPointer, h, setAttr, setData, setText, show, syncChildren, syncFlash } from "./dom.js";
import { PRIORITY_WORD, clock, mmss } from "./format.js";

class AlarmRow {
  constructor(alarm, ward, roomOf) {
    this.id = alarm.id;
    this.ward = ward;
    this.roomOf = roomOf;
    this.prio = h("span", { class: "a-prio" });
    this.kind = h("span", { class: "a-kind" });
    this.room = h("span", { class: "a-room" });
    this.time = h("span", { class: "a-time" });
    this.msg = h("div", { class: "a-msg", "data-testid": `alarm-msg-${alarm.id}` });
    this.detail = h("div", { class: "a-detail" });
    this.answer = h("div", { class: "a-answer", "data-testid": `answer-${alarm.id}` });
    this.ack = h("button", { type: "button", class: "a-ack", "data-testid": `ack-${alarm.id}`, onclick: () => this.act("ack") },
      "Acknowledge");
    this.silence = h("button", { type: "button", class: "a-silence", "data-testid": `silence-${alarm.id}`, onclick: () => this.act("silence") },
      "Silence 2 min");
    this.error = h("span", { class: "a-error", role: "alert", "data-testid": `alarm-error-${alarm.id}` });
    this.pending = null; // "ack" | "silence" while a request runs
    this.el = h("li", { class: "alarm", "data-testid": `alarm-${alarm.id}`, dataset: { alarm: alarm.id } },
      h("div", { class: "a-head" }, this.prio, this.kind, this.room, this.time),
      this.msg, this.detail, this.answer,
      h("div", { class: "a-actions" }, this.ack, this.silence, this.error));
  }

  async act(what) {
    if (this.pending) return;
    this.pending = what;
    setText(this.error, "");
    this.update(this.alarm);
    try {
      const answer = what === "ack"
        ? await api(`/api/v1/alarms/${this.id}/ack`, { method: "POST" })
        : await api(`/api/v1/alarms/${this.id}/silence`, { method: "POST", body: { seconds: 120 } });
      this.pending = null;
      this.ward.answered(answer);
    } catch (err) {
      this.pending = null;
      setText(this.error, `${what === "ack" ? "Not acknowledged" : "Not silenced"}: ${err.message}. Try again.`);
      this.update(this.alarm);
    }
  }

  update(alarm, now = Date.now()) {
    this.alarm = alarm;
    const el = this.el;
    setData(el, "priority", alarm.priority);
    setData(el, "kind", alarm.kind);
    setData(el, "state", alarm.state);
    setData(el, "cleared", alarm.condition_active ? null : "true");
    syncFlash(el, alarm.state === "active" ? alarm.priority : "none");
    setText(this.prio, PRIORITY_WORD[alarm.priority] || alarm.priority);
    setText(this.kind, isTechnical(alarm) ? technicalLabel(alarm) : "");
    setText(this.room, this.roomOf(alarm.session_id));
    setText(this.time, clock(alarm.raised_at));
    setText(this.msg, alarm.message);
    setAttr(this.msg, "title", alarm.message);
    const detail = [peakText(alarm), conditionsText(alarm),
      alarm.condition_active ? "" : "condition cleared — acknowledge to dismiss"].filter(Boolean).join(" · ");
    setText(this.detail, detail);
    setAttr(this.detail, "title", detail || null);
    const paused = alarm.silenced_until ? (new Date(alarm.silenced_until).getTime() - now) / 1000 : 0;
    setText(this.answer, answerText(alarm, now) + (paused > 0 ? ` · audio paused ${mmss(paused)}` : ""));

    const acked = alarm.state !== "active";
    setText(this.ack, this.pending === "ack" ? "Acknowledging…" : acked ? "Acknowledged ✓" : "Acknowledge");
    this.ack.disabled = acked || this.pending !== null;
    setData(this.ack, "state", this.pending === "ack" ? "pending" : acked ? "done" : "idle");
    setText(this.silence, this.pending === "silence" ? "Silencing…" : paused > 0 ? `Paused ${mmss(paused)}` : "Silence 2 min");
    this.silence.disabled = this.pending !== null || alarm.state === "resolved";
    setData(this.silence, "state", this.pending === "silence" ? "pending" : paused > 0 ? "done" : "idle");
  }
}

export class AlarmList {
  /** `filter(alarm)` chooses the alarms shown (all of them on the ward);
   *  `scroller`: the box the list scrolls in (the list itself on the ward),
   *  whose lower edge may hide rows; the bar that counts them goes after it,
   *  never over a row (a press aimed at a row's button lands on the button). */
  constructor(list, ward, { filter = () => true, countEl = null, scroller = null } = {}) {
    this.list = list;
    this.ward = ward;
    this.filter = filter;
    this.countEl = countEl;
    this.rows = new Map();
    this.empty = h("p", { class: "muted alarms-empty", "data-testid": `${list.dataset.testid}-empty`, hidden: true },
      "No active alarms");
    list.after(this.empty);
    this.scroller = scroller;
    if (scroller) {
      this.below = h("button", { type: "button", class: "alarms-below", "data-testid": `${list.dataset.testid}-below`, hidden: true,
        onclick: () => this.revealBelow() });
      this.empty.after(this.below);
      scroller.addEventListener("scroll", () => this.cue());
      new ResizeObserver(() => this.cue()).observe(scroller);
    }
    this.guard = new StillPointer(list, () => this.render());
    const roomOf = (sid) => {
      if (sid === null || sid === undefined) return "Station"; // e.g. "no dashboard is watching"
      const s = ward.sessions.get(sid);
      return s ? (s.room || `Session ${sid}`) : `Session ${sid}`;
    };
    this.roomOf = roomOf;
    ward.on("alarm", () => this.render());
    ward.on("snapshot", () => this.render());
    ward.on("session", () => this.render());
    setInterval(() => this.render(), 250); // timers: unanswered, audio paused
  }

  render(now = Date.now()) {
    const alarms = sortAlarms([...this.ward.alarms.values()].filter(this.filter));
    const wanted = alarms.map((a) => {
      let row = this.rows.get(a.id);
      if (!row) { row = new AlarmRow(a, this.ward, this.roomOf); this.rows.set(a.id, row); }
      row.update(a, now);
      return row.el;
    });
    const moved = syncChildren(this.list, wanted, this.guard);
    if (moved) {
      const open = new Set(alarms.map((a) => a.id));
      for (const id of this.rows.keys()) if (!open.has(id)) this.rows.delete(id);
    }
    if (this.countEl) setText(this.countEl, alarms.length ? `(${alarms.length})` : "");
    show(this.empty, alarms.length === 0);
    this.cue();
  }

  /** The rows wholly or partly below the panel's lower edge. */
  hiddenBelow() {
    if (!this.scroller) return [];
    const edge = this.scroller.getBoundingClientRect().bottom;
    return [...this.list.children].filter((row) => row.getBoundingClientRect().bottom > edge + 1);
  }

  cue() {
    if (!this.scroller) return;
    const below = this.hiddenBelow();
    show(this.below, below.length > 0);
    const high = below.some((row) => row.dataset.priority === "high" && row.dataset.state === "active");
    setData(this.below, "alarm", high ? "high" : null);
    setText(this.below, `▼ ${below.length} more alarm${below.length > 1 ? "s" : ""} below — show`);
  }

  /** One panel further down (as Page Down would). */
  revealBelow() {
    this.scroller.scrollBy({ top: Math.max(40, this.scroller.clientHeight - 24), behavior: "instant" });
    this.cue();
  }
}
