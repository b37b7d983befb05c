// Patients: search by reference or name, add a patient, open a patient's series.

import { api } from "./api.js";
import { esc } from "./format.js";
import { $, showError, startPage } from "./page.js";

async function search(q) {
  const list = await api("/api/v1/patients", { params: { q: q || undefined } });
  $("#patients").innerHTML = list.map((p) => `<tr><td>${esc(p.ref)}</td><td>${esc(p.display_name || "")}</td>
    <td>${esc(p.date_of_birth || "")}</td><td>${esc(p.sex || "")}</td><td><a href="/patients/${p.id}">Sessions</a></td></tr>`).join("")
    || "<tr><td colspan='5' class='muted'>No patient found</td></tr>";
}

startPage(async () => {
  $("#search-form").addEventListener("submit", (ev) => { ev.preventDefault(); search(ev.target.q.value).catch(showError); });
  $("#new-patient").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    showError(null, "#new-error");
    try {
      await api("/api/v1/patients", { method: "POST", body: {
        ref: f.ref.value, display_name: f.display_name.value || null,
        date_of_birth: f.date_of_birth.value || null, sex: f.sex.value || null } });
      f.reset();
      await search("");
    } catch (err) { showError(err, "#new-error"); }
  });
  await search("");
});
