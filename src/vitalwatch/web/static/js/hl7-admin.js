// /admin/hl7: unassigned HL7 monitors (register one in one step) and the rows
// the mapping does not use. Admins only.

import { api } from "./api.js";
import { clock, dateOnly, esc } from "./format.js";
import { signedIn } from "./signin.js";

const $ = (sel) => document.querySelector(sel);

function seen(s) {
  const day = (iso) => dateOnly(iso);
  const first = `${day(s.first_seen)} ${clock(s.first_seen)}`;
  return `first ${esc(first)}<br>last ${esc(clock(s.last_seen))} · ${s.messages} message${s.messages === 1 ? "" : "s"}`;
}

function sample(s) {
  const obs = (s.sample.observations || []).slice(0, 8).map((o) =>
    `<li><code>${esc(o.code)}</code> ${esc(o.value)} ${esc(o.unit || "")}${o.metric ? ` → ${esc(o.metric)}` : ""}</li>`);
  return `${esc(s.sample.message_type)} v${esc(s.sample.version)}<ul>${obs.join("")}</ul>`;
}

async function renderUnassigned() {
  const senders = await api("/api/v1/hl7/unassigned");
  $("#unassigned").innerHTML = senders.length ? senders.map((s) => `
    <tr data-testid="sender-${s.id}" data-identifier="${esc(s.identifier)}">
      <td><code>${esc(s.identifier)}</code><br><span class="muted">${esc(s.address || "")}</span></td>
      <td>${s.identifiers.slice(1).map((i) => `${esc(i.kind)} <code>${esc(i.value)}</code>`).join("<br>")}</td>
      <td>${seen(s)}</td>
      <td>${sample(s)}</td>
      <td><form class="row" data-register="${s.id}">
        <input name="name" placeholder="e.g. Bay 3 monitor" required maxlength="120" data-testid="register-name">
        <button type="submit" class="primary" data-testid="register">Register</button></form></td>
    </tr>`).join("") : `<tr><td colspan="5" class="muted">None: every sender is registered.</td></tr>`;
}

async function renderUnmapped() {
  const rows = await api("/api/v1/hl7/unmapped");
  $("#unmapped").innerHTML = rows.map((r) => `
    <tr><td>${esc(r.reason)}</td><td><code>${esc([r.code, r.text, r.system].filter(Boolean).join("^"))}</code></td>
      <td>${esc(r.unit)}</td><td>${esc(r.example)}</td><td>${r.count}</td><td>${esc(clock(r.last_seen))}</td></tr>`).join("");
}

async function main() {
  const signin = $("#signin");
  await signedIn(signin, "HL7 monitors");
  signin.hidden = true;
  $("#hl7").hidden = false;
  $("#unassigned").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target.closest("[data-register]");
    try {
      const device = await api(`/api/v1/hl7/unassigned/${form.dataset.register}/register`, {
        method: "POST", body: { name: form.name.value },
      });
      $("#hl7-status").textContent = `Registered ${device.name} (device ${device.id}) as ${device.hl7_ids.join(", ")}`;
      await renderUnassigned();
    } catch (err) {
      $("#hl7-status").textContent = err.message || String(err);
    }
  });
  await Promise.all([renderUnassigned(), renderUnmapped()]);
  setInterval(() => { renderUnmapped().catch(() => {}); }, 10_000);
}

main().catch((err) => { $("#hl7-status").textContent = err.message || String(err); });
