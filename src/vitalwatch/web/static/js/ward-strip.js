// The ward on one line, for the pages that are not the ward: every room with
// its alarm state in colour and words (flashing as on the tiles), the
// monitor's own standing alarm as the tile shows it (js/monitor-line.js), an
// alarm switched off in violet ("ALARM OFF", never "OK"), an acknowledged
// alarm steady, a link to its session page. A nurse looking at one session still sees every room.

import { isTechnical, technicalLabel, topAlarm } from "./alarms.js";
import { StillPointer, h, setAttr, setData, setText, syncChildren, syncFlash } from "./dom.js";
import { MonitorLine } from "./monitor-line.js";

const WORDS = { high: "HIGH", medium: "MEDIUM", low: "LOW" };

export class WardStrip {
  constructor(el, ward, currentId = null) {
    this.el = el;
    this.ward = ward;
    this.currentId = currentId;
    this.chips = new Map();
    this.guard = new StillPointer(el, () => this.render());
    for (const kind of ["snapshot", "alarm", "session", "monitor"]) ward.on(kind, () => this.render());
    // a room's first values end its "No monitor" (other values change nothing here)
    ward.on("vitals", (items) => {
      if (items.some((i) => this.chips.get(i.session_id)?.el.dataset.nomonitor === "true")) this.render();
    });
  }

  render() {
    const sessions = [...this.ward.sessions.values()].sort((a, b) =>
      String(a.room || "").localeCompare(String(b.room || ""), undefined, { numeric: true }) || a.id - b.id);
    const wanted = sessions.map((s) => {
      let chip = this.chips.get(s.id);
      if (!chip) {
        chip = { room: h("b"), state: h("span"), monitor: new MonitorLine("span", { class: "chip-monitor", "data-testid": `chip-monitor-${s.id}` }) };
        chip.el = h("a", { class: "chip", href: `/sessions/${s.id}`, "data-testid": `chip-${s.id}` },
          chip.room, chip.state, chip.monitor.el);
        this.chips.set(s.id, chip);
      }
      const top = topAlarm(this.ward.alarmsOf(s.id));
      const noMonitor = this.ward.nobodyMeasures(s.id);
      setText(chip.room, s.room || `Session ${s.id}`);
      const answered = Boolean(top) && top.state !== "active"; // acknowledged: steady
      const off = s.alarms_off || [];
      let state = noMonitor ? "No monitor" : off.length ? "ALARM OFF" : "OK";
      if (top) state = isTechnical(top) ? technicalLabel(top) : `${WORDS[top.priority]}${answered ? " ✓" : ""}`;
      setText(chip.state, state);
      setData(chip.el, "alarm", top ? top.priority : "none");
      setData(chip.el, "kind", top ? top.kind : noMonitor ? "technical" : null);
      setData(chip.el, "nomonitor", noMonitor ? "true" : null);
      setData(chip.el, "answered", answered ? "true" : null);
      setData(chip.el, "off", off.length ? "true" : null);
      setAttr(chip.el, "aria-current", s.id === this.currentId ? "page" : null);
      const offWords = off.length ? `Alarm off: ${off.map((o) => o.label).join(", ")}` : "";
      setAttr(chip.el, "title", [top ? `${top.message}${answered ? " (acknowledged)" : ""}` : "", offWords].filter(Boolean).join(" · ") || null);
      syncFlash(chip.el, top ? `${top.priority}${answered ? ":answered" : ""}` : "none");
      chip.monitor.update(this.ward.monitorAlarmsOf(s.id));
      return chip.el;
    });
    syncChildren(this.el, wanted, this.guard);
  }
}
