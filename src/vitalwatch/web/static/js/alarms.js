// The alarm list: highest priority first, then newest; acknowledge and silence.

import { api } from "./api.js";
import { PRIORITY_RANK, ageSeconds, clock, esc } from "./format.js";

export function sortAlarms(alarms) {
  return [...alarms].sort((a, b) =>
    (PRIORITY_RANK[b.priority] - PRIORITY_RANK[a.priority])
    || (new Date(b.raised_at) - new Date(a.raised_at)));
}

export function isSounding(alarm, now = Date.now()) {
  const silenced = alarm.silenced_until && new Date(alarm.silenced_until).getTime() > now;
  return alarm.state === "active" && !silenced;
}

export function renderAlarms(list, alarms, sessions, onError) {
  const now = Date.now();
  const sorted = sortAlarms(alarms);
  list.innerHTML = sorted.map((a) => {
    const session = sessions.get(a.session_id);
    const room = session ? (session.room || `Session ${a.session_id}`) : `Session ${a.session_id}`;
    const silencedFor = a.silenced_until ? Math.ceil((new Date(a.silenced_until).getTime() - now) / 1000) : 0;
    const notes = [];
    if (!a.condition_active) notes.push("condition cleared — acknowledge to dismiss");
    if (a.state === "acknowledged") notes.push(`acknowledged by ${esc(a.acked_by)} at ${clock(a.acked_at)}`);
    if (silencedFor > 0) notes.push(`audio paused ${silencedFor} s`);
    const classes = ["alarm", a.priority, a.state === "active" ? "unacked" : "acked",
      a.condition_active ? "" : "cleared"].join(" ");
    return `<li class="${classes}" data-testid="alarm-${a.id}" data-priority="${a.priority}">
      <div class="line1"><span class="prio">${a.priority}${a.kind === "technical" ? " · technical" : ""}</span>
        <span>${esc(room)} · ${clock(a.raised_at)} (${Math.round(ageSeconds(a.raised_at, now) / 60)} min)</span></div>
      <div class="msg">${esc(a.message)}</div>
      ${notes.length ? `<div class="note">${notes.join(" · ")}</div>` : ""}
      <div class="actions">
        ${a.state === "active" ? `<button type="button" data-ack="${a.id}" data-testid="ack-${a.id}">Acknowledge</button>` : ""}
        <button type="button" data-silence="${a.id}" data-testid="silence-${a.id}">Silence 2 min</button>
      </div></li>`;
  }).join("");
  list.onclick = async (ev) => {
    const button = ev.target.closest("button");
    if (!button) return;
    try {
      if (button.dataset.ack) await api(`/api/v1/alarms/${button.dataset.ack}/ack`, { method: "POST" });
      if (button.dataset.silence) {
        await api(`/api/v1/alarms/${button.dataset.silence}/silence`, { method: "POST", body: { seconds: 120 } });
      }
    } catch (err) { onError(err); }
  };
  return sorted;
}
