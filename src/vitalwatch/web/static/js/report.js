// The session report: the server's HTML for printing, and its PDF.

import { $, fetchWithToken, pathId, showError, startPage } from "./page.js";

const id = pathId(1);

async function downloadPdf() {
  const r = await fetchWithToken(`/api/v1/sessions/${id}/report.pdf`);
  const url = URL.createObjectURL(await r.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = `session-${id}-report.pdf`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

startPage(async () => {
  $("#back").href = `/sessions/${id}/record`;
  $("#print").addEventListener("click", () => window.print());
  $("#pdf").addEventListener("click", () => downloadPdf().catch((err) => showError(err)));
  const r = await fetchWithToken(`/api/v1/sessions/${id}/report`);
  $("#report").innerHTML = await r.text(); // built by the server with every value escaped
  document.title = `Session ${id} report · VitalWatch`;
  if (location.hash === "#pdf") await downloadPdf();
});
