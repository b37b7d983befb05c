// The session's alarm limits in the clinic's words. A change that switches
// an alarm off (a limit the protocol sets removed, an alarm delay over the
// clinic's maximum) asks for confirmation and a reason first; the server
// writes both to the audit log and the timeline. Errors are sentences next
// to the fields they concern.

import { ApiError, api } from "./api.js";
import { h } from "./dom.js";
import { METRIC, METRICS } from "./format.js";

const FIELDS = [
  ["critical_low", "High-priority low"], ["low", "Low (medium priority)"], ["high", "High (medium priority)"],
  ["critical_high", "High-priority high"], ["for_s", "Alarm delay (s)"],
];
const TIERS = ["critical_low", "low", "high", "critical_high"];
const WORDS = { critical_low: "high-priority low", low: "low", high: "high", critical_high: "high-priority high",
  baseline_rise: "rise over baseline" };
const RISE = ["sbp", "dbp", "hr"];

/** The alarms switched off compared with the protocol's defaults (as the server counts them). */
export function alarmsOff(defaults, thresholds, maxSustain) {
  const out = [];
  for (const m of METRICS) {
    for (const tier of TIERS) {
      if (defaults[m][tier] !== null && thresholds[m][tier] === null) {
        out.push({ metric: m, limit: tier, label: `${METRIC[m].short} ${WORDS[tier]}` });
      }
    }
    const delay = thresholds[m].for_s;
    if (delay !== null && delay > maxSustain) {
      out.push({ metric: m, limit: "for_s", label: `${METRIC[m].short} alarm delay ${delay} s (the clinic's maximum is ${maxSustain} s)` });
    }
  }
  for (const m of RISE) {
    if (defaults.baseline_rise[m] !== null && thresholds.baseline_rise[m] === null) {
      out.push({ metric: m, limit: "baseline_rise", label: `${METRIC[m].short} ${WORDS.baseline_rise}` });
    }
  }
  return out;
}

export class LimitsForm {
  constructor(form, { onSaved }) {
    this.form = form;
    this.onSaved = onSaved;
    this.protocols = api("/api/v1/sessions/protocols").catch(() => []);
    form.addEventListener("submit", (ev) => { ev.preventDefault(); this.save(); });
  }

  render(session) {
    this.session = session;
    const t = session.thresholds;
    const off = new Set((session.alarms_off || []).map((o) => `${o.metric}.${o.limit}`));
    const grid = h("div", { class: "limits" }, h("span", { class: "head" }, ""),
      ...FIELDS.map(([, words]) => h("span", { class: "head" }, words)));
    for (const m of METRICS) {
      grid.append(h("span", {}, `${METRIC[m].name} `, h("span", { class: "unit" }, METRIC[m].unit)));
      for (const [f, words] of FIELDS) {
        grid.append(h("input", {
          name: `${m}.${f}`, type: "number", step: "any", value: t[m][f] ?? "",
          "aria-label": `${METRIC[m].name} ${words}`, title: off.has(`${m}.${f}`) ? "alarm off" : null,
          placeholder: off.has(`${m}.${f}`) ? "off" : "",
        }));
      }
    }
    const rise = h("div", { class: "rise" }, h("span", { class: "head" }, "Rise over the pre-dose baseline that alarms:"),
      ...RISE.map((m) => h("label", {}, `${METRIC[m].short} (${METRIC[m].unit})`,
        h("input", { name: `baseline_rise.${m}`, type: "number", step: "any", value: t.baseline_rise[m] ?? "",
          "aria-label": `${METRIC[m].name} rise over baseline` }))));
    this.confirmBox = h("div", { class: "confirm", "data-testid": "off-confirm", hidden: true });
    this.errors = h("ul", { class: "field-errors", role: "alert", "data-testid": "limits-error" });
    const active = session.status === "active";
    const save = active ? h("button", { type: "submit", "data-testid": "save-limits" }, "Save limits") : null;
    if (!active) for (const input of [...grid.querySelectorAll("input"), ...rise.querySelectorAll("input")]) input.disabled = true;
    this.form.replaceChildren(grid, rise, h("p", { class: "muted", "data-testid": "limits-note" }, active
      ? "Empty: no such limit. Removing a limit of the protocol switches that alarm off."
      : "The session has ended: the limits as they were at its end."),
    this.errors, this.confirmBox, ...(save ? [save] : []));
  }

  /** The fields changed, as a PATCH body, and the limits in force after it. */
  changes() {
    const t = this.session.thresholds;
    const patch = {};
    const after = JSON.parse(JSON.stringify(t));
    for (const input of this.form.querySelectorAll("input[name]")) {
      input.classList.remove("invalid");
      const [section, field] = input.name.split(".");
      const value = input.value === "" ? null : Number(input.value);
      if (value !== (t[section][field] ?? null)) {
        (patch[section] ||= {})[field] = value;
        after[section][field] = value;
      }
    }
    return { patch, after };
  }

  async save() {
    this.errors.replaceChildren();
    this.confirmBox.hidden = true;
    const { patch, after } = this.changes();
    if (!Object.keys(patch).length) return;
    const protocol = (await this.protocols).find((p) => p.name === this.session.protocol);
    const before = new Set((this.session.alarms_off || []).map((o) => `${o.metric}.${o.limit}`));
    const newlyOff = protocol
      ? alarmsOff(protocol.thresholds, after, protocol.max_sustain_s).filter((o) => !before.has(`${o.metric}.${o.limit}`))
      : [];
    if (newlyOff.length) { this.confirm(patch, newlyOff); return; }
    await this.send(patch);
  }

  confirm(patch, newlyOff) {
    const reason = h("textarea", { name: "reason", maxlength: 500, required: true, "data-testid": "off-reason",
      "aria-label": "Reason for switching the alarm off" });
    const error = h("p", { class: "error", role: "alert" });
    const yes = h("button", { type: "button", class: "danger", "data-testid": "off-confirm-yes", onclick: async () => {
      if (!reason.value.trim()) { error.textContent = "Give a reason: it goes on the timeline and in the audit log."; reason.focus(); return; }
      await this.send({ ...patch, reason: reason.value.trim() });
    } }, "Switch off and save");
    const no = h("button", { type: "button", onclick: () => { this.confirmBox.hidden = true; } }, "Cancel");
    this.confirmBox.replaceChildren(
      h("strong", {}, `Switch ${newlyOff.length === 1 ? "this alarm" : "these alarms"} off? They will not sound:`),
      h("ul", {}, ...newlyOff.map((o) => h("li", {}, o.label))),
      h("label", {}, "Reason (required)", reason), error, h("div", { class: "row" }, yes, no));
    this.confirmBox.hidden = false;
    reason.focus();
  }

  async send(body) {
    try {
      await api(`/api/v1/sessions/${this.session.id}/thresholds`, { method: "PATCH", body });
      this.confirmBox.hidden = true;
      await this.onSaved();
    } catch (err) {
      this.showError(err);
    }
  }

  showError(err) {
    const items = [];
    if (err instanceof ApiError && Array.isArray(err.detail)) {
      for (const [path, text] of Object.entries(err.fields())) {
        const input = this.form.querySelector(`input[name="${path}"]`);
        if (input) input.classList.add("invalid");
        items.push(text);
      }
    }
    if (!items.length) items.push(err.message);
    this.errors.replaceChildren(...items.map((t) => h("li", {}, t)));
  }
}
