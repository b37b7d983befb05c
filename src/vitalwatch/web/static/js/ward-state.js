// What the live stream says about the ward: active sessions, their latest
// values, and the open alarms. Every page of the station keeps one; views
// read it and are told what changed.

export class WardState {
  constructor() {
    this.sessions = new Map(); // id -> session object (active only)
    this.vitals = new Map(); // id -> latest vitals item
    this.heard = new Map(); // id -> when this page last received the session's values
    this.alarms = new Map(); // id -> open alarm
    this.linkUp = false;
    this.version = 0; // bumped on every change, so views redraw only then
    this.listeners = { alarm: [], vitals: [], session: [], snapshot: [], link: [] };
  }

  on(kind, fn) { this.listeners[kind].push(fn); }

  emit(kind, ...args) {
    this.version += 1;
    for (const fn of this.listeners[kind]) fn(...args);
  }

  setSession(s) {
    if (s.status === "active") this.sessions.set(s.id, s);
    else {
      this.sessions.delete(s.id);
      this.vitals.delete(s.id);
      for (const [id, a] of this.alarms) if (a.session_id === s.id) this.alarms.delete(id);
    }
    for (const a of s.alarms || []) this.setAlarm(a);
  }

  setAlarm(a) {
    if (a.state === "resolved") this.alarms.delete(a.id);
    else this.alarms.set(a.id, a);
  }

  /** An acknowledge/silence answer: newer than nothing the stream has said since. */
  answered(a) {
    const known = this.alarms.get(a.id);
    if (!known || known.state === "active" || a.state === "resolved") this.setAlarm(a);
    this.emit("alarm", a, null);
  }

  /** No monitor bound, or one that has never sent a value: nobody measures. */
  nobodyMeasures(sessionId) {
    const s = this.sessions.get(sessionId);
    if (!s) return false;
    return !s.devices?.length || (!Object.keys(s.latest || {}).length && !this.vitals.has(sessionId));
  }

  alarmsOf(sessionId) {
    return [...this.alarms.values()].filter((a) => a.session_id === sessionId);
  }

  /** Handlers for LiveConnection. */
  handlers(onUnauthorized) {
    return {
      snapshot: (msg) => {
        this.sessions.clear();
        this.alarms.clear();
        const now = Date.now();
        for (const s of msg.sessions) { this.setSession(s); this.heard.set(s.id, now); }
        for (const a of msg.alarms) this.setAlarm(a);
        this.emit("snapshot", msg);
      },
      vitals: (msg) => {
        const now = Date.now();
        for (const item of msg.items) {
          this.vitals.set(item.session_id, item);
          this.heard.set(item.session_id, now);
        }
        this.emit("vitals", msg.items);
      },
      alarm: (msg) => { this.setAlarm(msg.alarm); this.emit("alarm", msg.alarm, msg); },
      session: (msg) => { this.setSession(msg.session); this.emit("session", msg.session); },
      status: (up) => { this.linkUp = up; this.emit("link", up); },
      unauthorized: onUnauthorized,
    };
  }
}
