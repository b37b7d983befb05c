// What an alarm object means on screen: order, priority, technical or not,
// the live value and peak, how long it has gone unanswered, and which values
// a technical alarm makes meaningless. Works with the alarm object as the
// server sends it today and with the newer fields (alerted_at, worst_value,
// conditions) when they are there.

import { METRIC, PRIORITY_RANK, ageSeconds, clock, mmss, num } from "./format.js";

export function sortAlarms(alarms) {
  return [...alarms].sort((a, b) =>
    (PRIORITY_RANK[b.priority] - PRIORITY_RANK[a.priority])
    || (new Date(b.raised_at) - new Date(a.raised_at))
    || (b.id - a.id));
}

export function isTechnical(alarm) {
  return alarm.kind === "technical";
}

export function isSounding(alarm, now = Date.now()) {
  const silenced = alarm.silenced_until && new Date(alarm.silenced_until).getTime() > now;
  return alarm.state === "active" && !silenced;
}

/** The alarm that decides a tile's colour: highest priority; a patient alarm before a technical one. */
export function topAlarm(alarms) {
  let best = null;
  for (const a of alarms) {
    if (a.state === "resolved") continue;
    if (!best) { best = a; continue; }
    const d = PRIORITY_RANK[a.priority] - PRIORITY_RANK[best.priority];
    if (d > 0 || (d === 0 && isTechnical(best) && !isTechnical(a))
        || (d === 0 && isTechnical(best) === isTechnical(a) && a.state === "active" && best.state !== "active")) best = a;
  }
  return best;
}

export function topPriority(alarms) {
  return topAlarm(alarms)?.priority ?? null;
}

/** When the current unanswered alert began: `alerted_at` (re-alert on a worse
 *  condition) when the server sends it, else the raise. */
export function alertedAt(alarm) {
  return alarm.alerted_at || alarm.raised_at;
}

/** "unanswered 1:20", or who acknowledged it and when. */
export function answerText(alarm, now = Date.now()) {
  if (alarm.state === "active") return `unanswered ${mmss(ageSeconds(alertedAt(alarm), now))}`;
  if (alarm.state === "acknowledged") {
    return `acknowledged by ${alarm.acked_by ?? "?"} at ${clock(alarm.acked_at)}`;
  }
  return alarm.acked_at ? `acknowledged by ${alarm.acked_by ?? "?"}` : "closed, not acknowledged";
}

/** "worst 204 mmHg at 14:03:09" when the worst value differs from the current one
 *  (labelled worst, as the alarm's words label it, for a high or a low alike). */
export function peakText(alarm) {
  if (alarm.worst_value === undefined || alarm.worst_value === null) return "";
  if (/\b(worst|peak|lowest|highest)\b/i.test(alarm.message || "")) return ""; // the message says it
  if (alarm.value !== null && alarm.value !== undefined && Math.round(alarm.worst_value) === Math.round(alarm.value)) return "";
  const unit = METRIC[alarm.metric]?.unit ?? "";
  const at = alarm.worst_at ? ` at ${clock(alarm.worst_at)}` : "";
  return `worst ${num(alarm.worst_value)}${unit === "%" ? "%" : ` ${unit}`.trimEnd()}${at}`;
}

// what a condition is about, in a nurse's words, where it is not a vital sign
const CONDITION_NAMES = { moaa_s: "MOAA/S", moaa_s_low: "MOAA/S" };

/** Each condition of a one-entry-per-problem alarm, in a few words (never a
 *  rule's internal name: a condition with no name a nurse knows is left to
 *  the alarm's message). */
export function conditionsText(alarm) {
  const conditions = alarm.conditions || [];
  return conditions.filter((c) => METRIC[c.metric] || CONDITION_NAMES[c.metric] || CONDITION_NAMES[c.rule]).map((c) => {
    const m = METRIC[c.metric]?.short ?? CONDITION_NAMES[c.metric] ?? CONDITION_NAMES[c.rule];
    const value = c.value === null || c.value === undefined ? "" : ` ${num(c.value)}`;
    const limit = c.limit === null || c.limit === undefined ? "" : ` (limit ${num(c.limit)})`;
    return `${m}${value}${limit}${c.active === false ? " cleared" : ""}`;
  }).join(" · ");
}

/** The short words a technical alarm shows on the tile instead of "HIGH ALARM". */
export function technicalLabel(alarm) {
  const rule = alarm.rule || "";
  const message = alarm.message || "";
  if (rule === "no_monitor" || /no monitor/i.test(message)) return "No monitor";
  if (/offline/i.test(rule) || /offline/i.test(message)) return "Monitor offline";
  const signal = /No (.+?) signal/i.exec(message);
  if (signal) return `No ${signal[1]} signal`;
  if (rule.startsWith("signal_lost") && METRIC[alarm.metric]) return `No ${METRIC[alarm.metric].short} signal`;
  if (/bp_overdue|bp_check_due/.test(rule)) return "BP check due";
  return "Technical alarm";
}

function conditionBlanks(condition, out) {
  if (condition.active === false) return;
  if (/offline/i.test(condition.rule || "")) out.add("*");
  else if (condition.metric) out.add(condition.metric);
}

/**
 * Metrics whose value on screen is stale because of a technical alarm (a
 * monitor offline: all of them, "*"; no SpO2 signal: spo2). Values from a
 * second monitor of the same session stay.
 */
export function blankedMetrics(alarms, deviceCount) {
  const out = new Set();
  for (const a of alarms) {
    if (!isTechnical(a) || a.state === "resolved" || a.condition_active === false) continue;
    if (!/^(device_offline|signal_lost|monitor:)/.test(a.rule || "")) continue;
    if (a.conditions && a.conditions.length) a.conditions.forEach((c) => conditionBlanks(c, out));
    else if (/offline/i.test(a.rule) || /offline/i.test(a.message || "")) out.add("*");
    else if (a.metric) out.add(a.metric);
  }
  if (out.has("*") && deviceCount > 1) out.delete("*"); // another monitor still measures
  if (out.has("*")) return new Set(["hr", "sbp", "dbp", "map", "spo2", "rr"]);
  return out;
}
