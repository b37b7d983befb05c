// REMS forms due: days left of the 7 calendar days, most urgent first.

import { api } from "./api.js";
import { esc } from "./format.js";
import { $, startPage } from "./page.js";

startPage(async () => {
  const due = await api("/api/v1/rems-forms/due");
  $("#due").innerHTML = due.map((d) => {
    const left = d.status === "submitted" ? "" : d.days_left >= 0 ? `${d.days_left}` : `<strong class="flagged">${-d.days_left} overdue</strong>`;
    const status = d.status === "submitted" ? `submitted by ${esc(d.submitted_by)}` : "draft";
    return `<tr data-session="${d.session_id}"><td>${d.session_date}</td><td><a href="/patients/${d.patient_id}">${esc(d.patient_name || d.patient_ref)}</a> <span class="muted">${esc(d.patient_ref)}</span></td>
      <td>${esc(d.room || "")}</td><td>${d.due_date}</td><td>${left}</td><td>${d.gaps}</td><td>${status}</td>
      <td><a href="/sessions/${d.session_id}/rems">Open form</a></td></tr>`;
  }).join("") || "<tr><td colspan='8' class='muted'>No forms due</td></tr>";
});
