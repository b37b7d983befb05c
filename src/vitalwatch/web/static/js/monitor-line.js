// The monitors' own standing alarms (HL7 ORU^R40) of one room in one line:
// the worst first (priority, then a patient alarm before a technical one,
// then the newest), "since" its time and how many more. The tile and the
// ward strip both show it; style.css's `.monitor-line` colours it (technical
// cyan, the others outlined in their priority's colour, steady: it neither
// flashes nor sounds, VitalWatch's own rules do that).

import { h, setAttr, setData, setText, show } from "./dom.js";
import { PRIORITY_RANK, clock } from "./format.js";

const rank = (m) => (PRIORITY_RANK[m.priority] || 0) * 2 + (m.kind === "technical" ? 0 : 1);

/** Worst first. */
export function sortMonitorAlarms(monitorAlarms) {
  return [...monitorAlarms].sort((a, b) => rank(b) - rank(a) || new Date(b.ts) - new Date(a.ts));
}

export class MonitorLine {
  /** `tag` and `attrs` as for dom.js `h`; the `monitor-line` class is added. */
  constructor(tag, attrs = {}) {
    this.el = h(tag, { ...attrs, class: `${attrs.class ?? ""} monitor-line`.trim(), hidden: true });
  }

  /** `monitorAlarms`: WardState.monitorAlarmsOf(session id). */
  update(monitorAlarms) {
    const sorted = sortMonitorAlarms(monitorAlarms);
    const top = sorted[0];
    show(this.el, Boolean(top));
    setData(this.el, "kind", top ? top.kind : null);
    setData(this.el, "priority", top ? top.priority || "none" : null);
    setText(this.el, top
      ? `${top.message} · since ${clock(top.ts)}${sorted.length > 1 ? `  (+${sorted.length - 1} more)` : ""}`
      : "");
    setAttr(this.el, "title", top
      ? `${sorted.map((m) => `${m.message} (${m.device_name})`).join("; ")}. The monitor's own alarm: it does not drive VitalWatch's alarms.`
      : null);
  }
}
