// The header and banners every page of the station shows, built in one
// place: the way back to the ward, the link state, past sessions, sound (and
// the red banner while a screen cannot sound), who is signed in, and the
// connection-lost banner; pages other than the ward add the ward strip.

import { h } from "./dom.js";
import { ZONE_NOTE } from "./format.js";
import { startStation } from "./station.js";
import { WardStrip } from "./ward-strip.js";

/** Fill `el` with the page frame; `extra` are page buttons (the ward's "Start session"). */
export function mountChrome(el, { ward = false, extra = [] } = {}) {
  const parts = [
    h("header", { class: "topbar" },
      ward ? null : h("a", { class: "button", href: "/", "data-testid": "ward-link" }, "← Ward"),
      h("strong", { class: "brand" }, "VitalWatch"),
      h("span", { id: "link-status", class: "link-status", "data-testid": "link-status" }, "connecting…"),
      h("span", { class: "spacer" }),
      h("span", { class: "muted zone-note", "data-testid": "clinic-zone" }, ZONE_NOTE),
      location.pathname === "/sessions" ? null
        : h("a", { class: "button", href: "/sessions", "data-testid": "past-link" }, "Past sessions"),
      h("button", { id: "sound-toggle", type: "button", "data-testid": "sound-toggle", "aria-pressed": "false" },
        "Enable sound"),
      ...extra,
      h("span", { id: "whoami", class: "muted" }),
      h("button", { id: "logout", type: "button" }, "Sign out")),
    h("div", { id: "sound-banner", class: "banner sound-banner", "data-testid": "sound-banner", role: "alert" },
      "Sound is OFF on this screen — alarms will not be heard here.",
      h("button", { id: "sound-enable", type: "button", "data-testid": "sound-enable" }, "Enable sound")),
    h("div", { id: "connection-banner", class: "banner", "data-testid": "connection-banner", role: "alert", hidden: true },
      "Connection lost — alarms are NOT being received. Reconnecting…"),
    ward ? null : h("nav", { id: "ward-strip", class: "ward-strip", "aria-label": "Every room", "data-testid": "ward-strip" })];
  el.replaceChildren(...parts.filter(Boolean));
}

/** A page beside the ward (session, past sessions, record): the frame in `el`,
 *  the live ward strip (`currentId` marked), sound and the connection banner;
 *  `setup(ward, live)` adds the page's own views. Returns startStation's parts. */
export function startWardPage(el, { currentId = null, setup = () => {} } = {}) {
  mountChrome(el);
  return startStation((ward, live) => {
    new WardStrip(el.querySelector("#ward-strip"), ward, currentId);
    setup(ward, live);
  });
}
