// Where a session's record is: the records' page (/sessions/{id}/record)
// once the service has it, else this station's session page.

let available = null;

export async function recordLink(sessionId) {
  if (available === null) {
    try {
      const r = await fetch(`/sessions/${sessionId}/record`, { method: "HEAD" });
      available = r.ok;
    } catch (_) { available = false; }
  }
  return available
    ? { href: `/sessions/${sessionId}/record`, label: "Session record" }
    : { href: `/sessions/${sessionId}`, label: "Session page" };
}
