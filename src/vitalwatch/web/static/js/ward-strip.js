// The ward on one line, for the pages that are not the ward: every room with
// its alarm state in colour and words (flashing as on the tiles), a link to
// its session page. A nurse looking at one session still sees every room.

import { isTechnical, technicalLabel, topAlarm } from "./alarms.js";
import { StillPointer, h, setAttr, setData, setText, syncChildren, syncFlash } from "./dom.js";

const WORDS = { high: "HIGH", medium: "MEDIUM", low: "LOW" };

export class WardStrip {
  constructor(el, ward, currentId = null) {
    this.el = el;
    this.ward = ward;
    this.currentId = currentId;
    this.chips = new Map();
    this.guard = new StillPointer(el, () => this.render());
    for (const kind of ["snapshot", "alarm", "session"]) ward.on(kind, () => this.render());
  }

  render() {
    const sessions = [...this.ward.sessions.values()].sort((a, b) =>
      String(a.room || "").localeCompare(String(b.room || ""), undefined, { numeric: true }) || a.id - b.id);
    const wanted = sessions.map((s) => {
      let chip = this.chips.get(s.id);
      if (!chip) {
        chip = { room: h("b"), state: h("span") };
        chip.el = h("a", { class: "chip", href: `/sessions/${s.id}`, "data-testid": `chip-${s.id}` }, chip.room, chip.state);
        this.chips.set(s.id, chip);
      }
      const top = topAlarm(this.ward.alarmsOf(s.id));
      const noMonitor = this.ward.nobodyMeasures(s.id);
      setText(chip.room, s.room || `Session ${s.id}`);
      setText(chip.state, top ? (isTechnical(top) ? technicalLabel(top) : WORDS[top.priority]) : noMonitor ? "No monitor" : "OK");
      setData(chip.el, "alarm", top ? top.priority : "none");
      setData(chip.el, "kind", top ? top.kind : noMonitor ? "technical" : null);
      setData(chip.el, "nomonitor", noMonitor ? "true" : null);
      setAttr(chip.el, "aria-current", s.id === this.currentId ? "page" : null);
      setAttr(chip.el, "title", top ? top.message : null);
      syncFlash(chip.el, top ? top.priority : "none");
      return chip.el;
    });
    syncChildren(this.el, wanted, this.guard);
  }
}
