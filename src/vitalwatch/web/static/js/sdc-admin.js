// "SDC monitors found" on the administration page's Monitors tab: IEEE 11073
// SDC providers the service discovered (GET /api/v1/sdc/providers), and a
// Bind button that binds one to a registered monitor. Hidden when the SDC
// consumer is off (404). Built with textContent only.

import { api, ApiError } from "./api.js";

const $ = (sel) => document.querySelector(sel);
const REFRESH_MS = 3000;

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text ?? "";
  return td;
}

function place(location) {
  const order = ["facility", "building", "floor", "poc", "room", "bed"];
  return order.filter((k) => location[k]).map((k) => `${k} ${location[k]}`).join(", ") || "—";
}

function bindForm(provider, devices, free) {
  const td = document.createElement("td");
  td.className = "actions";
  if (provider.device_id !== null) {
    const d = devices.find((x) => x.id === provider.device_id);
    td.textContent = `bound to ${d ? d.name : `monitor ${provider.device_id}`}`
      + (provider.connected ? " · connected" : " · not connected");
    return td;
  }
  const pick = document.createElement("select");
  pick.ariaLabel = `Monitor for ${provider.serial || provider.epr}`;
  pick.dataset.testid = `sdc-device-${provider.serial || provider.epr}`;
  for (const d of free) pick.append(new Option(`${d.name} (#${d.id})`, String(d.id)));
  const bind = document.createElement("button");
  bind.type = "button";
  bind.className = "primary";
  bind.textContent = "Bind";
  bind.dataset.testid = `sdc-bind-${provider.serial || provider.epr}`;
  bind.disabled = free.length === 0;
  bind.addEventListener("click", async () => {
    try {
      await api("/api/v1/sdc/providers/bind", {
        method: "POST", body: { epr: provider.epr, device_id: Number(pick.value) },
      });
      $("#notice").textContent = `SDC monitor ${provider.serial || provider.epr} bound to ${pick.selectedOptions[0].text}`;
      $("#notice").hidden = false;
      await load();
    } catch (err) { $("#error").textContent = err.message; }
  });
  td.append(pick, bind);
  return td;
}

async function load() {
  const section = $("#sdc-found");
  let providers;
  try {
    providers = await api("/api/v1/sdc/providers");
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) { section.hidden = true; return; }
    throw err;
  }
  const bound = new Set(providers.map((p) => p.device_id).filter((id) => id !== null));
  const devices = await api("/api/v1/devices");
  const free = devices.filter((d) => !bound.has(d.id));
  const rows = providers.map((p) => {
    const tr = document.createElement("tr");
    tr.dataset.epr = p.epr;
    tr.append(cell(p.manufacturer || "—"), cell(p.model || "—"), cell(p.serial || "—"),
      cell(p.epr), cell(place(p.location)), cell(p.online ? "online" : "gone"),
      bindForm(p, devices, free));
    return tr;
  });
  $("#sdc-providers").replaceChildren(...rows);
  $("#sdc-none").hidden = providers.length > 0;
  section.hidden = false;
}

let timer = null;
function refresh() {
  clearTimeout(timer);
  if ($("#tab-devices").hidden) return;
  load().catch((err) => { $("#error").textContent = err.message; })
    .finally(() => { timer = setTimeout(refresh, REFRESH_MS); });
}
for (const b of document.querySelectorAll("[data-tab]")) {
  b.addEventListener("click", () => setTimeout(refresh, 0));
}
