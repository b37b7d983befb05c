// The clinic's clock. Every time a page shows, and every clock time a nurse
// types, is in the clinic's zone (VITALWATCH_CLINIC_TIMEZONE, served with the
// locale as /clinic.json), never the browser's: a laptop left on another zone
// shows and charts the same times as the record and the report.

const CLINIC = await fetch("/clinic.json").then((r) => (r.ok ? r.json() : {})).catch(() => ({}));

/** The clinic's locale (VITALWATCH_CLINIC_LOCALE): how dates are written. */
export const LOCALE = CLINIC.locale || document.documentElement.lang || "en-GB";

function knownZone(name) {
  try { new Intl.DateTimeFormat("en", { timeZone: name }); return name; } catch { return "UTC"; }
}

/** The clinic's IANA zone, named on every page beside its times. */
export const ZONE = knownZone(CLINIC.timezone || "UTC");

const PARTS = new Intl.DateTimeFormat("en-US", {
  timeZone: ZONE, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric",
  hour: "numeric", minute: "numeric", second: "numeric",
});

/** What the clinic's wall clock reads at `d`: { year, month, day, hour, minute, second }. */
export function wallClock(d) {
  const out = {};
  for (const p of PARTS.formatToParts(d)) if (p.type !== "literal") out[p.type] = Number(p.value);
  if (out.hour === 24) out.hour = 0;
  return out;
}

/** The zone's offset from UTC at instant `t` (ms since the epoch), in ms. */
function offsetAt(t) {
  const w = wallClock(new Date(t));
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(t / 1000) * 1000;
}

/** The instant at which the clinic's wall clock reads y-m-d h:mi:s (twice
 *  through the offset, so a time beside a daylight-saving change lands right). */
export function fromWallClock(y, m, d, h = 0, mi = 0, s = 0) {
  const naive = Date.UTC(y, m - 1, d, h, mi, s);
  const first = naive - offsetAt(naive);
  return new Date(naive - offsetAt(first));
}

/** A datetime-local or date input's value ("2026-12-08T10:15") read as clinic
 *  time; undefined when empty or not a date. */
export function fromInput(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(value || "");
  return m ? fromWallClock(...m.slice(1).map((v) => Number(v || 0))) : undefined;
}

const pad = (n) => String(n).padStart(2, "0");

/** The clinic's day at `d` (default now), `days` later, as a date input's value "2026-12-08". */
export function clinicDay(d = new Date(), days = 0) {
  const w = wallClock(d);
  const day = new Date(Date.UTC(w.year, w.month - 1, w.day + days));
  return `${day.getUTCFullYear()}-${pad(day.getUTCMonth() + 1)}-${pad(day.getUTCDate())}`;
}
