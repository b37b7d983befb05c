// Alarm tones with Web Audio, IEC 60601-1-8-like patterns: high = 10 pulses,
// medium = 3 pulses, low = 2 pulses. The browser needs a gesture to allow
// sound: the choice is remembered for this browser session, and a page that
// cannot sound says so with a red banner (SoundBanner) until it can.

const PATTERNS = {
  high: { freq: 880, pulses: [0, .25, .5, 1.0, 1.25, 2.0, 2.25, 2.5, 3.0, 3.25], every: 8 },
  medium: { freq: 660, pulses: [0, .3, .6], every: 10 },
  low: { freq: 520, pulses: [0, .35], every: 25 },
};
const KEY = "vitalwatch.sound";

export class AlarmSound {
  constructor() {
    this.ctx = null;
    this.current = null; // priority sounding now
    this.nextAt = 0;
    this.wanted = sessionStorage.getItem(KEY) === "on";
    this.listeners = [];
    this.was = false;
    setInterval(() => { this.tick(); this.notice(); }, 250);
  }

  get enabled() { return this.ctx !== null && this.ctx.state === "running"; }

  /** Call `fn(enabled)` whenever sound becomes possible or impossible. */
  onChange(fn) { this.listeners.push(fn); }

  notice() {
    if (this.enabled === this.was) return;
    this.was = this.enabled;
    for (const fn of this.listeners) fn(this.was);
  }

  /** Allow sound; needs a user gesture, except right after one on the previous page. */
  async enable() {
    this.wanted = true;
    sessionStorage.setItem(KEY, "on");
    if (!this.ctx) {
      this.ctx = new AudioContext();
      this.ctx.addEventListener("statechange", () => this.notice());
    }
    // resume() waits for a gesture when the browser wants one: do not hang on it
    await Promise.race([this.ctx.resume(), new Promise((r) => setTimeout(r, 500))]);
    this.notice();
  }

  disable() {
    this.wanted = false;
    sessionStorage.setItem(KEY, "off");
    if (this.ctx) this.ctx.suspend().then(() => this.notice());
  }

  /** The priority to sound: the highest among alarms not acknowledged and not silenced. */
  set(priority) {
    if (priority !== this.current) {
      this.current = priority;
      this.nextAt = 0; // a new or higher alarm sounds at once
    }
  }

  tick() {
    if (!this.enabled || !this.current) return;
    const now = this.ctx.currentTime;
    if (now < this.nextAt) return;
    const p = PATTERNS[this.current];
    for (const offset of p.pulses) this.beep(now + offset, p.freq);
    this.nextAt = now + p.every;
  }

  beep(at, freq) {
    const osc = this.ctx.createOscillator();
    const gain = this.ctx.createGain();
    osc.type = "square";
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0, at);
    gain.gain.linearRampToValueAtTime(0.15, at + 0.02);
    gain.gain.setValueAtTime(0.15, at + 0.15);
    gain.gain.linearRampToValueAtTime(0, at + 0.19);
    osc.connect(gain).connect(this.ctx.destination);
    osc.start(at);
    osc.stop(at + 0.2);
  }
}
