// A document the server builds for staff (a PDF), fetched with the sign-in and saved.

import { fetchWithToken } from "./page.js";

export async function download(path, filename) {
  const r = await fetchWithToken(path);
  const url = URL.createObjectURL(await r.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
