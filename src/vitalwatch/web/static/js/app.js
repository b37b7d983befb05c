// The central station: login, live state, tiles, alarm list, sound, dialogs.

import { api, login, session } from "./api.js";
import { renderAlarms, isSounding, sortAlarms } from "./alarms.js";
import { AlarmSound } from "./audio.js";
import { esc } from "./format.js";
import { LiveConnection } from "./live.js";
import { SessionView } from "./session-view.js";
import { TrendHistory, latestFrom, renderTile, topPriority } from "./tiles.js";

const $ = (sel) => document.querySelector(sel);

const state = {
  sessions: new Map(), // id -> session object (active only)
  vitals: new Map(), // id -> latest vitals item
  heard: new Map(), // id -> when this dashboard last received the session's values
  alarms: new Map(), // id -> open alarm
  linkUp: false,
};
const trends = new TrendHistory();
const sound = new AlarmSound();
let live = null;
let dirty = true;

function showError(err) {
  console.warn(err);
  alert(err.message || String(err));
}

const sessionView = new SessionView($("#session-dialog"), showError);

// -- state updates from the live stream -------------------------------------------

function setSession(s) {
  if (s.status === "active") state.sessions.set(s.id, s);
  else {
    state.sessions.delete(s.id);
    state.vitals.delete(s.id);
    for (const [id, a] of state.alarms) if (a.session_id === s.id) state.alarms.delete(id);
  }
  for (const a of s.alarms || []) setAlarm(a);
  dirty = true;
}

function setAlarm(a) {
  if (a.state === "resolved") state.alarms.delete(a.id);
  else state.alarms.set(a.id, a);
  dirty = true;
}

const handlers = {
  snapshot(msg) {
    state.sessions.clear();
    state.alarms.clear();
    for (const s of msg.sessions) { setSession(s); state.heard.set(s.id, Date.now()); }
    for (const a of msg.alarms) setAlarm(a);
    for (const s of msg.sessions) {
      const l = s.latest || {};
      if (l.hr || l.spo2) trends.add(s.id, (l.hr || l.spo2).ts, l.hr?.value, l.spo2?.value);
    }
  },
  vitals(msg) {
    for (const item of msg.items) {
      state.vitals.set(item.session_id, item);
      state.heard.set(item.session_id, Date.now());
      trends.add(item.session_id, item.ts, item.hr, item.spo2);
    }
    dirty = true;
  },
  alarm(msg) { setAlarm(msg.alarm); },
  session(msg) { setSession(msg.session); },
  status(up) {
    state.linkUp = up;
    $("#connection-banner").hidden = up;
    const status = $("#link-status");
    status.textContent = up ? "live" : "connection lost";
    status.className = `link-status ${up ? "up" : "down"}`;
    dirty = true;
  },
  unauthorized(reason) { signOut(); if (reason) $("#login-error").textContent = reason; },
};

// -- rendering (at most 4 times a second) ------------------------------------------

function render() {
  const now = Date.now();
  const tiles = $("#tiles");
  const sessions = [...state.sessions.values()].sort((a, b) =>
    String(a.room || "").localeCompare(String(b.room || ""), undefined, { numeric: true }));
  const alarmsBySession = new Map();
  for (const a of state.alarms.values()) {
    if (!alarmsBySession.has(a.session_id)) alarmsBySession.set(a.session_id, []);
    alarmsBySession.get(a.session_id).push(a);
  }
  tiles.innerHTML = sessions.map((s) => {
    const item = state.vitals.get(s.id);
    const heard = state.heard.get(s.id) ?? now;
    return renderTile(s, latestFrom(s, item), alarmsBySession.get(s.id) || [], item?.news2 ?? s.news2, heard, now);
  }).join("");
  for (const canvas of tiles.querySelectorAll("canvas[data-spark]")) trends.draw(canvas, Number(canvas.dataset.spark));
  $("#no-sessions").hidden = sessions.length > 0;

  const open = renderAlarms($("#alarm-list"), [...state.alarms.values()], state.sessions, showError);
  $("#alarm-count").textContent = open.length ? `(${open.length})` : "";
  const sounding = sortAlarms(open.filter((a) => isSounding(a, now)));
  sound.set(state.linkUp ? topPriority(sounding) : "low");
}

setInterval(() => {
  // countdowns, ages and stale markers change with time too
  if (dirty || document.visibilityState === "visible") { dirty = false; render(); }
}, 250);

// -- login, sound, dialogs -----------------------------------------------------------

function showApp() {
  $("#login-view").hidden = true;
  $("#app-view").hidden = false;
  $("#whoami").textContent = `${session.user?.name ?? ""} (${session.user?.role ?? ""})`;
  live = new LiveConnection(handlers);
  live.start(session.token);
}

function signOut() {
  if (live) live.stop();
  session.clear();
  state.sessions.clear();
  state.alarms.clear();
  $("#app-view").hidden = true;
  $("#login-view").hidden = false;
}

$("#login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("#login-error").textContent = "";
  try {
    await login($("#username").value, $("#password").value);
    $("#password").value = "";
    showApp();
  } catch (err) { $("#login-error").textContent = err.message; }
});
$("#logout").addEventListener("click", signOut);
window.addEventListener("vitalwatch:logout", signOut);

function soundButton() {
  const b = $("#sound-toggle");
  b.setAttribute("aria-pressed", String(sound.enabled));
  b.textContent = sound.enabled ? "Sound on" : "Enable sound";
}
$("#sound-toggle").addEventListener("click", async () => {
  if (sound.enabled) sound.disable(); else await sound.enable();
  soundButton();
});
// a remembered "on" still needs a gesture after reload: the first click anywhere
document.addEventListener("click", async () => {
  if (sound.wanted && !sound.enabled) { await sound.enable(); soundButton(); }
}, { once: true, capture: true });

$("#tiles").addEventListener("click", (ev) => {
  const tile = ev.target.closest("[data-session]");
  if (tile) sessionView.open(Number(tile.dataset.session)).catch(showError);
});
$("#tiles").addEventListener("keydown", (ev) => {
  const tile = ev.target.closest("[data-session]");
  if (tile && (ev.key === "Enter" || ev.key === " ")) {
    ev.preventDefault();
    sessionView.open(Number(tile.dataset.session)).catch(showError);
  }
});

const startDialog = $("#start-dialog");
startDialog.querySelectorAll("[data-close]").forEach((b) => b.addEventListener("click", () => startDialog.close()));
$("#new-session").addEventListener("click", async () => {
  $("#start-error").textContent = "";
  const devices = await api("/api/v1/devices").catch((err) => { showError(err); return []; });
  const free = devices.filter((d) => d.session_id === null);
  $("#free-devices").innerHTML = free.map((d) =>
    `<label><input type="checkbox" name="device" value="${d.id}"> ${esc(d.name)}${d.model ? ` <span class="muted">${esc(d.model)}</span>` : ""}</label>`).join("")
    || "<p class='muted'>No free monitors: register one (admin) or end a session.</p>";
  startDialog.showModal();
});
$("#start-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = ev.target;
  const body = {
    patient: { ref: f.ref.value, display_name: f.display_name.value || null },
    protocol: f.protocol.value,
    room: f.room.value || null,
    device_ids: [...f.querySelectorAll("input[name=device]:checked")].map((i) => Number(i.value)),
  };
  try {
    await api("/api/v1/sessions", { method: "POST", body });
    f.reset();
    startDialog.close();
  } catch (err) { $("#start-error").textContent = err.message; }
});

soundButton();
if (session.token) showApp(); else $("#login-view").hidden = false;
