// Vitals typed in at the bedside, from the station: a "Type vitals" action on
// every room tile (a dialog with js/manual-entry.js for that room's session)
// and a section of the session page (the same form, with the list of typed-in
// readings and their strike-out). Registered in js/mounts.js's slots; importing
// this module is enough.

import { h } from "./dom.js";
import { mountManualEntry } from "./manual-entry.js";
import { addSessionSection, addTileAction } from "./mounts.js";

let dialog = null;

function entryDialog() {
  if (dialog) return dialog;
  const title = h("h2", { id: "bedside-title" });
  const who = h("p", { class: "muted" });
  const holder = h("div");
  const close = h("button", { type: "button", class: "close", "aria-label": "Close", "data-testid": "bedside-close" }, "✕");
  const el = h("dialog", { class: "bedside-dialog", "aria-labelledby": "bedside-title", "data-testid": "bedside-dialog" },
    h("header", { class: "dialog-head" }, title, close), who, holder,
    h("p", { class: "muted" }, "Tab to the next field, Enter saves, Esc closes. Time empty: now."));
  close.addEventListener("click", () => el.close());
  document.body.append(el);
  dialog = { el, title, who, holder, form: null, opener: null };
  el.addEventListener("close", () => {
    dialog.form?.destroy();
    dialog.form = null;
    dialog.opener?.focus();
  });
  return dialog;
}

/** Open the typed-vitals form for one session, the BP field focused. */
export function openEntry(session, opener = null) {
  const d = entryDialog();
  d.form?.destroy();
  d.opener = opener;
  d.title.textContent = `Type in vitals: ${session.room || `session ${session.id}`}`;
  d.who.textContent = session.patient?.display_name || session.patient?.ref || "";
  d.form = mountManualEntry(d.holder, { sessionId: session.id, startedAt: session.started_at });
  if (!d.el.open) d.el.showModal();
  d.form.focus();
}

addTileAction((el, session) => {
  const button = h("button", {
    type: "button", class: "t-action", "data-testid": `type-vitals-${session.id}`,
    title: "Type in vitals read off a monitor (BP, HR, SpO2, RR)",
  }, "✎ Type vitals");
  button.addEventListener("click", (ev) => { ev.stopPropagation(); openEntry(session, button); });
  el.append(button);
});

addSessionSection((el, session) => {
  const section = h("section", { class: "bedside", "aria-label": "Vitals typed in", "data-testid": "sv-manual" },
    h("h2", {}, "Vitals typed in"),
    h("p", { class: "muted" }, "Read off a monitor: BP as 120/80, Tab to the next field, Enter saves. "
      + "Evaluated like a monitor's reading; marked on the trends. A wrong one can be struck out (kept in the record)."));
  el.append(section);
  const ended = session.status !== "active"; // an ended session's readings are shown, not changed
  const form = mountManualEntry(section, { sessionId: session.id, startedAt: session.started_at, readOnly: ended });
  if (ended) {
    form.root.querySelector(".row").hidden = true;
    form.root.querySelector("[data-testid=manual-submit]").hidden = true;
    section.querySelector("p.muted").textContent = "The session has ended: the values typed in are kept as they are.";
  }
  el.addEventListener("vitalwatch:manual", () => form.refresh()); // typed or struck elsewhere
});
