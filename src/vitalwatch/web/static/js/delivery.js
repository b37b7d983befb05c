// Delivery confirmations (issue 12 item 4, docs/api.md): the page tells the
// server which alarms it has shown ("received": alarm event ids and the
// snapshot's alarm ids, batched within 250 ms) and whether anyone can see and
// hear it ("status": Page Visibility API and sound), after each snapshot, on
// every change and every 10 s.

const BATCH_MS = 100;
const STATUS_EVERY_MS = 10_000;

export class Delivery {
  constructor(live, sound) {
    this.live = live;
    this.sound = sound;
    this.eventIds = [];
    this.alarmIds = [];
    this.timer = null;
    this.lastStatus = null;
    document.addEventListener("visibilitychange", () => this.status());
    sound.onChange(() => this.status());
    setInterval(() => this.status(true), STATUS_EVERY_MS);
  }

  /** After a snapshot has been drawn: its alarms are shown, and who is watching. */
  snapshotShown(msg) {
    this.alarmIds.push(...(msg.alarms || []).map((a) => a.id));
    this.status(true);
    this.flush();
  }

  /** After an alarm event has been drawn. */
  eventShown(msg) {
    if (typeof msg.event_id === "number") this.eventIds.push(msg.event_id);
    // a hidden page's timers are slowed to 1/s: send at once there
    if (document.visibilityState !== "visible") this.flush();
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), BATCH_MS);
  }

  flush() {
    clearTimeout(this.timer);
    this.timer = null;
    if (!this.eventIds.length && !this.alarmIds.length) return;
    const sent = this.live.send({ type: "received", event_ids: this.eventIds, alarm_ids: this.alarmIds });
    if (sent) { this.eventIds = []; this.alarmIds = []; }
  }

  status(always = false) {
    const now = { visible: document.visibilityState === "visible", sound: this.sound.enabled };
    const same = this.lastStatus && this.lastStatus.visible === now.visible && this.lastStatus.sound === now.sound;
    if (same && !always) return;
    if (this.live.send({ type: "status", ...now })) this.lastStatus = now;
  }
}
