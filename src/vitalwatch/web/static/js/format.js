// Formatting in the clinic's words: 24-hour times in the clinic's zone, durations, metric and
// limit names, protocol labels, and API errors a nurse can read.

import { LOCALE, ZONE, wallClock } from "./clinic-time.js";

export { LOCALE, ZONE };

export const PROTOCOLS = {
  "ketamine-iv": "Ketamine IV infusion", "ketamine-im": "Ketamine IM injection",
  "esketamine-in": "Esketamine nasal spray", custom: "Custom protocol",
};
export const PRIORITY_RANK = { high: 3, medium: 2, low: 1 };
export const PRIORITY_WORD = { high: "HIGH", medium: "MEDIUM", low: "LOW" };
export const STALE_S = 15;

export const METRICS = ["hr", "sbp", "dbp", "map", "spo2", "rr"];
export const METRIC = {
  hr: { short: "HR", name: "Heart rate", unit: "/min" },
  sbp: { short: "SBP", name: "Systolic BP", unit: "mmHg" },
  dbp: { short: "DBP", name: "Diastolic BP", unit: "mmHg" },
  map: { short: "MAP", name: "Mean arterial pressure", unit: "mmHg" },
  spo2: { short: "SpO2", name: "SpO2", unit: "%" },
  rr: { short: "RR", name: "Respiratory rate", unit: "/min" },
};
export const LIMIT_WORDS = {
  critical_low: "high-priority low limit",
  low: "low limit",
  high: "high limit",
  critical_high: "high-priority high limit",
  for_s: "alarm delay",
  baseline_rise: "rise over baseline",
};

export function esc(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
  })[c]);
}

export function num(v) {
  return v === undefined || v === null ? "–" : Math.round(v).toString();
}

/** A value in whole units with its unit: "72/min", "98%", "115 mmHg" (half up). */
export function withUnit(metric, v) {
  const unit = METRIC[metric].unit;
  return unit === "mmHg" ? `${num(v)} mmHg` : `${num(v)}${unit}`;
}

/** A pre-dose baseline (medians, so 114.5) in whole units: "BP 115/65 mmHg, HR 72/min". */
export function baselineText(b, metrics = ["hr", "spo2", "rr"]) {
  const parts = b.sbp != null && b.dbp != null ? [`BP ${num(b.sbp)}/${num(b.dbp)} mmHg`] : [];
  for (const m of metrics) if (b[m] != null) parts.push(`${METRIC[m].short} ${withUnit(m, b[m])}`);
  return parts.join(", ");
}

export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h) return `${h} h ${String(m).padStart(2, "0")} min`;
  if (m) return `${m} min`;
  return `${s} s`;
}

/** A value's age in few characters: "45 s", "4 min", "2 h". */
export function shortAge(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  return `${Math.floor(s / 3600)} h`;
}

/** A running timer as m:ss (or h:mm:ss): "unanswered 1:20". */
export function mmss(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

const pad = (n) => String(n).padStart(2, "0");

/** 24-hour time in the clinic's zone, "14:03:09" (never am/pm, never the browser's zone). */
export function clock(iso, seconds = true) {
  if (!iso) return "";
  const w = wallClock(iso instanceof Date ? iso : new Date(iso));
  return `${pad(w.hour)}:${pad(w.minute)}${seconds ? `:${pad(w.second)}` : ""}`;
}

// Dates are written the clinic's locale's way ("23/11/2026" in en-GB,
// "23.11.2026" in de-DE), not the browser's (a US-English browser would write
// "11/23/2026"), and fall on the clinic's day.
const DATE = new Intl.DateTimeFormat(LOCALE, { timeZone: ZONE, year: "numeric", month: "2-digit", day: "2-digit" });

/** The day in the clinic's locale and zone: "23/11/2026" (en-GB). */
export function dateOnly(iso) {
  return iso ? DATE.format(iso instanceof Date ? iso : new Date(iso)) : "";
}

/** "23/11/2026 14:03" (en-GB), in the clinic's zone, 24-hour. */
export function dateTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return `${dateOnly(d)} ${clock(d, false)}`;
}

/** What a page says once about all its times: "Times in Pacific/Auckland". */
export const ZONE_NOTE = `Times in ${ZONE}`;

export function ageSeconds(iso, now = Date.now()) {
  return iso ? (now - new Date(iso).getTime()) / 1000 : Infinity;
}

export function protocolLabel(name) {
  return PROTOCOLS[name] || name;
}

/** "Heart rate low limit" for a field path like "hr.low" or ["hr", "low"]. */
export function fieldLabel(path) {
  const parts = Array.isArray(path) ? path.map(String) : String(path).split(".");
  const [section, field] = parts;
  if (section === "baseline_rise" && METRIC[field]) return `${METRIC[field].name} rise over baseline`;
  if (section === "reason") return "Reason";
  if (METRIC[section]) return `${METRIC[section].name} ${LIMIT_WORDS[field] || field || ""}`.trim();
  return parts.join(" ");
}

const PYDANTIC = [
  [/^Input should be a valid number.*$/, "must be a number"],
  [/^Input should be less than or equal to (.+)$/, "must be at most $1"],
  [/^Input should be greater than or equal to (.+)$/, "must be at least $1"],
  [/^Input should be greater than (.+)$/, "must be more than $1"],
  [/^Input should be less than (.+)$/, "must be less than $1"],
  [/^String should have at most (\d+) characters?$/, "must be at most $1 characters"],
  [/^Extra inputs are not permitted$/, "is not a known field"],
];

/** A server message in words: "hr.low (200) must be below hr.high (120)"
 *  becomes "low limit (200) must be below high limit (120)". */
export function readableMessage(msg) {
  let text = String(msg ?? "");
  for (const [pattern, words] of PYDANTIC) text = text.replace(pattern, words);
  text = text.replace(/^Value error, /, "");
  return text.replace(/\b(hr|sbp|dbp|map|spo2|rr)\.(critical_low|critical_high|low|high|for_s)\b/g,
    (_, m, f) => LIMIT_WORDS[f]);
}

/** One 422 entry as a sentence: "Heart rate: low limit (200) must be below high limit (120)". */
export function readableError(loc, msg) {
  const path = (loc || []).slice(1).filter((p) => p !== "thresholds");
  const text = readableMessage(msg);
  const metric = METRIC[path[0]];
  if (metric && /limit|delay/.test(text)) return `${metric.name}: ${text}`;
  return path.length ? `${fieldLabel(path)}: ${text}` : text;
}
