// What every page of the central station shares: the live link to the
// server, the ward's state, sound (with its red banner while off), delivery
// confirmations, the connection-lost banner and the header's buttons. A page
// passes a function that sets up its own views on the ward state; they draw
// before the page confirms what it has shown.

import { api, session } from "./api.js";
import { isSounding, sortAlarms, topPriority } from "./alarms.js";
import { Delivery } from "./delivery.js";
import { show } from "./dom.js";
import { LiveConnection } from "./live.js";
import { AlarmSound } from "./sound.js";
import { WardState } from "./ward-state.js";

const $ = (sel) => document.querySelector(sel);

/** Pages other than the ward send a signed-out nurse to the sign-in form and back. */
export function requireSignIn() {
  if (session.token) return true;
  location.replace(`/?next=${encodeURIComponent(location.pathname + location.search)}`);
  return false;
}

/** Why the service signed this page out (4401, 4403): shown on the sign-in form. */
export const SIGNED_OUT_KEY = "vitalwatch.signedOut";

export function signOut(live, reason) {
  if (live) live.stop();
  session.clear();
  if (reason) sessionStorage.setItem(SIGNED_OUT_KEY, reason);
  location.assign("/");
}

function linkStatus(up) {
  show($("#connection-banner"), !up);
  const status = $("#link-status");
  status.textContent = up ? "live" : "connection lost";
  status.className = `link-status ${up ? "up" : "down"}`;
}

function setupSound(sound) {
  const toggle = $("#sound-toggle");
  const paint = () => {
    toggle.setAttribute("aria-pressed", String(sound.enabled));
    toggle.textContent = sound.enabled ? "Sound on" : "Enable sound";
    show($("#sound-banner"), !sound.enabled);
    document.body.dataset.sound = sound.enabled ? "on" : "off";
  };
  sound.onChange(paint);
  toggle.addEventListener("click", async () => {
    if (sound.enabled) sound.disable(); else await sound.enable();
    paint();
  });
  $("#sound-enable").addEventListener("click", async () => { await sound.enable(); paint(); });
  // a remembered "on" is tried at once (allowed right after a click on the
  // previous page), else the first click anywhere turns it back on
  if (sound.wanted) sound.enable().then(paint);
  document.addEventListener("click", async () => {
    if (sound.wanted && !sound.enabled) { await sound.enable(); paint(); }
  }, { capture: true });
  paint();
}

const MONITOR_ALARMS_EVERY_MS = 30_000;

/** The monitors' own standing alarms (HL7 ORU^R40): asked after every snapshot
 *  and every 30 s (alarms whose end was lost time out on the service, see
 *  docs/api.md), live `monitor_alarm` events in between. */
function followMonitorAlarms(ward) {
  let asking = false;
  const ask = async () => {
    if (asking || !ward.linkUp) return;
    asking = true;
    const askedId = ward.newestMonitorReport();
    try {
      ward.setStandingMonitorAlarms(await api("/api/v1/monitor-alarms"), askedId);
    } catch (err) { console.warn(err); } finally { asking = false; }
  };
  ward.on("snapshot", ask);
  setInterval(ask, MONITOR_ALARMS_EVERY_MS);
}

/**
 * Connect this page to the ward: `setupViews(ward, live)` registers the
 * page's views first. Returns {ward, live, sound, delivery}.
 */
export function startStation(setupViews) {
  const ward = new WardState();
  const sound = new AlarmSound();
  let live = null;
  live = new LiveConnection(ward.handlers((reason) => signOut(live, reason)));
  ward.on("link", linkStatus);
  setupViews(ward, live);
  followMonitorAlarms(ward);
  const delivery = new Delivery(live, sound);
  ward.on("snapshot", (msg) => delivery.snapshotShown(msg));
  ward.on("alarm", (_alarm, msg) => { if (msg) delivery.eventShown(msg); });
  setupSound(sound);
  setInterval(() => {
    const now = Date.now();
    const sounding = sortAlarms([...ward.alarms.values()].filter((a) => isSounding(a, now)));
    sound.set(ward.linkUp ? topPriority(sounding) : "low");
  }, 250);
  const who = $("#whoami");
  if (who) who.textContent = `${session.user?.name ?? ""} (${session.user?.role ?? ""})`;
  $("#logout")?.addEventListener("click", () => signOut(live));
  window.addEventListener("vitalwatch:logout", () => signOut(live));
  live.start(session.token);
  return { ward, live, sound, delivery };
}
