// The session report: the server's HTML for printing, and its PDF.

import { download } from "./download.js";
import { $, fetchWithToken, pathId, showError, startPage } from "./page.js";

const id = pathId(1);

function downloadPdf() {
  return download(`/api/v1/sessions/${id}/report.pdf`, `session-${id}-report.pdf`);
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
