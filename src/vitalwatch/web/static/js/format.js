// Small formatting helpers shared by the views.

export const PROTOCOLS = {
  "ketamine-iv": "Ketamine IV", "ketamine-im": "Ketamine IM",
  "esketamine-in": "Esketamine IN", custom: "Custom",
};
export const PRIORITY_RANK = { high: 3, medium: 2, low: 1 };
export const STALE_S = 15;

export function esc(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
  })[c]);
}

export function num(v) {
  return v === undefined || v === null ? "–" : Math.round(v).toString();
}

export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h) return `${h} h ${String(m).padStart(2, "0")} min`;
  if (m) return `${m} min`;
  return `${s} s`;
}

export function clock(iso) {
  return iso ? new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }) : "";
}

export function ageSeconds(iso, now = Date.now()) {
  return iso ? (now - new Date(iso).getTime()) / 1000 : Infinity;
}
