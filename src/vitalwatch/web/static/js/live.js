// The live stream: snapshot, then vitals/alarm/session/ping events; a watchdog
// shows "connection lost" within 10 s and reconnects with `since`, so no alarm
// is missed across a dropped connection. The token goes in the first message,
// never in the URL (URLs end up in access logs).

const WATCHDOG_MS = 10000;

// Close codes that mean "sign in again", and what to tell the nurse (docs/api.md).
export const SIGNED_OUT = {
  4401: "Your sign-in has expired. Please sign in again.",
  4403: "You were signed out: your account was changed by an administrator, your password was changed, or you signed out everywhere. Please sign in again.",
};

export class LiveConnection {
  constructor(handlers) {
    this.handlers = handlers; // {snapshot, vitals, alarm, session, status, unauthorized}
    this.lastEventId = null;
    this.ws = null;
    this.retry = 0;
    this.timer = null;
    this.stopped = false;
  }

  start(token) {
    this.token = token;
    this.stopped = false;
    this.open();
  }

  /** Send one message to the server on the open connection; false when there is none. */
  send(message) {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(message));
    return true;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close();
  }

  open() {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const since = this.lastEventId === null ? "" : `?since=${this.lastEventId}`;
    const ws = new WebSocket(`${proto}://${location.host}/api/v1/ws${since}`);
    this.ws = ws;
    this.arm();
    ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token: this.token }));
    ws.onmessage = (ev) => {
      this.arm();
      const msg = JSON.parse(ev.data);
      if (typeof msg.event_id === "number") {
        this.lastEventId = Math.max(this.lastEventId ?? 0, msg.event_id);
      }
      if (msg.type === "snapshot") {
        this.retry = 0;
        this.handlers.status(true);
      }
      const handler = this.handlers[msg.type];
      if (handler) handler(msg);
    };
    ws.onclose = (ev) => {
      if (ws !== this.ws) return;
      clearTimeout(this.timer);
      if (ev.code in SIGNED_OUT) { this.handlers.unauthorized(SIGNED_OUT[ev.code]); return; }
      if (this.stopped) return;
      this.lost();
    };
  }

  arm() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.lost(), WATCHDOG_MS);
  }

  lost() {
    if (this.stopped) return;
    this.handlers.status(false);
    const ws = this.ws;
    this.ws = null;
    if (ws) { ws.onclose = null; try { ws.close(); } catch (_) { /* already closed */ } }
    const delay = Math.min(5000, 500 * 2 ** this.retry++);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.open(), delay);
  }
}
