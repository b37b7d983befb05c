// The ward page of the central station: sign-in, room tiles, the alarm list,
// starting a session. A tile opens that room's session page.

import { api, onSignIn, session } from "./api.js";
import { AlarmList } from "./alarm-list.js";
import { mountChrome } from "./chrome.js";
import { StillPointer, h, syncChildren } from "./dom.js";
import { ageSeconds, clock, dateTime, protocolLabel } from "./format.js";
import { TileGrid } from "./layout.js";
import { SIGNED_OUT_KEY, startStation } from "./station.js";
import { TileView, latestFrom } from "./tiles.js";
import { TrendHistory } from "./trends.js";
import "./bedside-entry.js"; // typed-in vitals on every tile (registers a tile action)

const $ = (sel) => document.querySelector(sel);

function nextPage() {
  const next = new URLSearchParams(location.search).get("next");
  return next && next.startsWith("/") && !next.startsWith("//") ? next : null;
}

function byRoom(a, b) {
  return String(a.room || "").localeCompare(String(b.room || ""), undefined, { numeric: true }) || a.id - b.id;
}

/** The newest typed-in readings of the ward's sessions (200 a request), so a
 *  latest value typed in before this page opened is marked "typed" too. */
async function loadTyped(ward, ids) {
  for (let i = 0; i < ids.length; i += 200) {
    const params = new URLSearchParams();
    for (const id of ids.slice(i, i + 200)) params.append("session_id", id);
    for (const entry of await api(`/api/v1/manual-readings?${params}`)) ward.setManual(entry);
  }
}

function setupWard(ward) {
  const trends = new TrendHistory();
  const tiles = new Map();
  const tilesEl = $("#tiles");
  const grid = new TileGrid($("#rooms"), tilesEl);
  const guard = new StillPointer(tilesEl, () => drawTiles());
  const open = (id) => location.assign(`/sessions/${id}`);
  window.vitalwatch = { ward, trends }; // for the browser tests and the console

  function drawTiles(now = Date.now()) {
    const sessions = [...ward.sessions.values()].sort(byRoom);
    const byId = new Map();
    for (const a of ward.alarms.values()) {
      if (!byId.has(a.session_id)) byId.set(a.session_id, []);
      byId.get(a.session_id).push(a);
    }
    const wanted = sessions.map((s) => {
      let tile = tiles.get(s.id);
      if (!tile) { tile = new TileView(s, open); tiles.set(s.id, tile); }
      const item = ward.vitals.get(s.id);
      tile.update(s, latestFrom(s, item), byId.get(s.id) || [], item?.news2 ?? s.news2,
        ward.heard.get(s.id) ?? now, ward.nobodyMeasures(s.id), now,
        { monitorAlarms: ward.monitorAlarmsOf(s.id), manual: ward.manualOf(s.id) });
      return tile.el;
    });
    if (syncChildren(tilesEl, wanted, guard)) {
      for (const id of tiles.keys()) if (!ward.sessions.has(id)) tiles.delete(id);
    }
    grid.fit(sessions.length);
    for (const s of sessions) tiles.get(s.id).drawTrend(trends);
    grid.offscreen();
    $("#no-sessions").hidden = sessions.length > 0;
  }

  ward.on("snapshot", (msg) => {
    for (const s of msg.sessions) {
      const l = s.latest || {};
      if (l.hr || l.spo2) trends.add(s.id, (l.hr || l.spo2).ts, l.hr?.value, l.spo2?.value);
    }
    drawTiles();
    const ids = msg.sessions.map((s) => s.id);
    trends.load(ids).then(() => drawTiles()).catch((err) => console.warn(err));
    loadTyped(ward, ids).then(() => drawTiles()).catch((err) => console.warn(err));
  });
  ward.on("vitals", (items) => {
    for (const item of items) trends.add(item.session_id, item.ts, item.hr, item.spo2);
  });
  ward.on("session", (s) => {
    if (s.status === "active" && !trends.count(s.id)) trends.load([s.id]).catch(() => {});
    drawTiles();
  });
  ward.on("alarm", () => drawTiles());
  setInterval(() => drawTiles(), 250); // values, ages, timers

  new AlarmList($("#alarm-list"), ward, { countEl: $("#alarm-count"), scroller: $("#alarm-list") });
}

const DEAD_AFTER_S = 24 * 3600;

/** The free monitors, those heard from lately first (newest first), then
 *  those not heard for a day or never (a dead monitor of an earlier run is
 *  not offered as if it were ready), each saying when it was last heard. */
function free(devices, now = Date.now()) {
  return devices.filter((d) => d.session_id === null && !d.retired).map((d) => {
    const age = d.last_seen ? ageSeconds(d.last_seen, now) : Infinity;
    const heard = !d.last_seen ? "never heard from"
      : age < 60 ? "sending now" : `last heard ${age < DEAD_AFTER_S ? clock(d.last_seen, false) : dateTime(d.last_seen)}`;
    return { ...d, age, dead: age > DEAD_AFTER_S, heard };
  }).sort((a, b) => a.age - b.age || a.name.localeCompare(b.name));
}

async function setupStartDialog() {
  const dialog = $("#start-dialog");
  dialog.querySelectorAll("[data-close]").forEach((b) => b.addEventListener("click", () => dialog.close()));
  const select = $("#start-form select[name=protocol]");
  api("/api/v1/sessions/protocols").then((protocols) => {
    select.replaceChildren(...protocols.map((p) => h("option", { value: p.name }, p.label)));
  }).catch(() => {
    for (const o of select.options) o.textContent = protocolLabel(o.value);
  });
  $("#new-session").addEventListener("click", async () => {
    $("#start-error").textContent = "";
    let devices = [];
    try { devices = await api("/api/v1/devices"); } catch (err) { $("#start-error").textContent = err.message; }
    $("#free-devices").replaceChildren(...(free(devices).length ? free(devices).map((d) => h("label", { class: d.dead ? "dead" : null },
      h("input", { type: "checkbox", name: "device", value: d.id }), ` ${d.name}`,
      d.model ? h("span", { class: "muted" }, ` ${d.model}`) : null,
      h("span", { class: "heard", "data-testid": `heard-${d.id}` }, ` · ${d.heard}`)))
      : [h("p", { class: "muted" }, "No free monitors: register one (admin) or end a session. "
          + "A session without a monitor shows “No monitor” on its tile.")]));
    dialog.showModal();
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
      dialog.close();
    } catch (err) { $("#start-error").textContent = err.message; }
  });
}

function showApp() {
  const next = nextPage();
  if (next) { location.replace(next); return; }
  $("#login-view").hidden = true;
  $("#app-view").hidden = false;
  mountChrome($("#chrome"), { ward: true, extra: [h("button", { id: "new-session", type: "button" }, "Start session")] });
  startStation((ward) => setupWard(ward));
  setupStartDialog();
}

onSignIn(showApp);

if (session.token) showApp();
else {
  $("#login-view").hidden = false;
  const why = sessionStorage.getItem(SIGNED_OUT_KEY); // the service signed this page out
  if (why) { $("#login-error").textContent = why; sessionStorage.removeItem(SIGNED_OUT_KEY); }
}
