// What the live stream says about the ward: active sessions, their latest
// values, and the open alarms. Every page of the station keeps one; views
// read it and are told what changed.

export class WardState {
  constructor() {
    this.sessions = new Map(); // id -> session object (active only)
    this.vitals = new Map(); // id -> latest vitals item
    this.heard = new Map(); // id -> when this page last received the session's values
    this.alarms = new Map(); // id -> open alarm
    this.monitorAlarms = new Map(); // "session/device/code" -> a monitor's own standing alarm (HL7 ORU^R40)
    this.monitorSeen = new Map(); // the same key -> the newest report id this page has applied
    this.manual = new Map(); // session id -> typed-in readings this page has heard of (newest last)
    this.linkUp = false;
    this.version = 0; // bumped on every change, so views redraw only then
    this.listeners = {
      alarm: [], vitals: [], session: [], snapshot: [], link: [], monitor: [], manual: [],
    };
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
      this.manual.delete(s.id);
      for (const [key, m] of this.monitorAlarms) if (m.session_id === s.id) this.monitorAlarms.delete(key);
      for (const [id, a] of this.alarms) if (a.session_id === s.id) this.alarms.delete(id);
    }
    for (const a of s.alarms || []) this.setAlarm(a);
  }

  /** A monitor's own alarm report (live event or the standing list): shown while
   *  `active`; an older report than one already applied changes nothing. */
  setMonitorAlarm(m) {
    const key = `${m.session_id}/${m.device_id}/${m.code}`;
    if ((this.monitorSeen.get(key) ?? -1) > m.id) return;
    this.monitorSeen.set(key, m.id);
    if (m.active && this.sessions.has(m.session_id)) this.monitorAlarms.set(key, m);
    else this.monitorAlarms.delete(key);
  }

  /** The standing list from the service (GET /api/v1/monitor-alarms), asked at
   *  `askedAt`: alarms it no longer lists have ended or timed out, unless a live
   *  report came after the question. */
  setStandingMonitorAlarms(list, askedId) {
    const listed = new Set();
    for (const m of list) {
      listed.add(`${m.session_id}/${m.device_id}/${m.code}`);
      this.setMonitorAlarm(m);
    }
    for (const [key, m] of this.monitorAlarms) {
      if (!listed.has(key) && m.id <= askedId) this.monitorAlarms.delete(key);
    }
    this.emit("monitor");
  }

  /** The newest report id applied so far (the standing list's reference point). */
  newestMonitorReport() {
    let id = -1;
    for (const v of this.monitorSeen.values()) id = Math.max(id, v);
    return id;
  }

  monitorAlarmsOf(sessionId) {
    return [...this.monitorAlarms.values()].filter((m) => m.session_id === sessionId);
  }

  setManual(entry) {
    const known = this.manualOf(entry.session_id).find((e) => e.id === entry.id);
    if (known?.struck && !entry.struck) return; // a struck-out reading stays struck
    const list = (this.manual.get(entry.session_id) || []).filter((e) => e.id !== entry.id);
    list.push(entry);
    list.sort((a, b) => new Date(a.ts) - new Date(b.ts));
    this.manual.set(entry.session_id, list.slice(-20));
  }

  manualOf(sessionId) { return this.manual.get(sessionId) || []; }

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
      monitor_alarm: (msg) => { this.setMonitorAlarm(msg.monitor_alarm); this.emit("monitor", msg.monitor_alarm); },
      monitor_warning: (msg) => this.emit("monitor", msg.warning),
      manual_reading: (msg) => { this.setManual(msg.manual_reading); this.emit("manual", msg.manual_reading); },
      status: (up) => { this.linkUp = up; this.emit("link", up); },
      unauthorized: onUnauthorized,
    };
  }
}
