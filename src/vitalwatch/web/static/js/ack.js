// A phone's acknowledge link. The token is after '#', so it never reaches a
// server log; opening the page only shows what would be acknowledged (mail
// scanners prefetch links): the button press acknowledges.

import { clock, ZONE } from "./format.js";

const token = decodeURIComponent(location.hash.slice(1));
const $ = (id) => document.getElementById(id);

async function call(path) {
  const r = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token }),
  });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) {
    const detail = typeof data.detail === "string" ? data.detail : "This link cannot be used";
    throw new Error(detail);
  }
  return data;
}

/** The clinic's clock time, its zone named (a phone may be on another zone). */
function time(iso) {
  return iso ? `${clock(iso)} (${ZONE})` : "";
}

function show(alarm) {
  $("ack-alarm").hidden = false;
  $("ack-priority").textContent = alarm.priority.toUpperCase();
  $("ack-priority").className = `prio-badge prio-${alarm.priority}`;
  $("ack-room").textContent = alarm.room || `Session ${alarm.session_id}`;
  $("ack-message").textContent = alarm.message;
  $("ack-raised").textContent = `Raised ${time(alarm.raised_at)} · alarm ${alarm.id}`;
}

function fail(error) {
  $("ack-status").textContent = "";
  $("ack-error").textContent = error.message;
  $("ack-button").hidden = true;
}

async function preview() {
  if (!token) return fail(new Error("This link is incomplete: open it exactly as it was sent"));
  try {
    const p = await call("/api/v1/notify/ack/preview");
    show(p.alarm);
    const button = $("ack-button");
    button.textContent = `Acknowledge as ${p.acknowledge_as}`;
    if (p.used) {
      button.hidden = true;
      $("ack-status").textContent = "This link has been used already.";
    } else if (p.alarm.state !== "active") {
      $("ack-status").textContent = p.alarm.state === "acknowledged"
        ? `Already acknowledged by ${p.alarm.acked_by} at ${time(p.alarm.acked_at)}.`
        : "This alarm is resolved.";
      button.hidden = p.alarm.state === "resolved";
    } else {
      $("ack-status").textContent = `You will acknowledge this alarm as ${p.acknowledge_as}. ` +
        `The link works once, until ${time(p.expires_at)}.`;
    }
  } catch (e) { fail(e); }
}

$("ack-button").addEventListener("click", async () => {
  const button = $("ack-button");
  button.disabled = true;
  try {
    const done = await call("/api/v1/notify/ack");
    show(done.alarm);
    button.hidden = true;
    $("ack-status").textContent = done.already_acknowledged
      ? `Already acknowledged by ${done.alarm.acked_by} at ${time(done.alarm.acked_at)}.`
      : `Acknowledged as ${done.acknowledged_as} at ${time(done.alarm.acked_at)}. Go to the patient.`;
  } catch (e) {
    button.disabled = false;
    $("ack-error").textContent = e.message;
  }
});

preview();
