// /manual?session=ID: vitals typed in for one session, on a page of its own
// (for a standalone monitor beside the patient's chair).

import { api } from "./api.js";
import { mountManualEntry } from "./manual-entry.js";
import { PROTOCOLS } from "./format.js";
import { signedIn } from "./signin.js";

const $ = (sel) => document.querySelector(sel);

async function main() {
  const signin = $("#signin");
  await signedIn(signin, "Type in vitals");
  signin.hidden = true;
  const id = new URLSearchParams(location.search).get("session");
  const s = await api(`/api/v1/sessions/${encodeURIComponent(id)}`);
  $("#manual").hidden = false;
  $("#manual-title").textContent = `Type in vitals: ${s.room || `session ${s.id}`}`;
  $("#manual-who").textContent = `${s.patient.display_name || s.patient.ref} · ${PROTOCOLS[s.protocol] || s.protocol}`;
  const form = mountManualEntry($("#manual-form"), { sessionId: s.id, startedAt: s.started_at });
  form.focus();
}

main().catch((err) => {
  document.body.insertAdjacentHTML("beforeend", `<p class="error" role="alert"></p>`);
  document.querySelector("body > p.error").textContent = err.message || String(err);
});
