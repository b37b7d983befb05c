// Alarm tones with Web Audio, IEC 60601-1-8-like patterns: high = 10 pulses,
// medium = 3 pulses, low = 1-2 pulses. The browser needs one click to allow
// sound; the choice is remembered for this browser session.

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
    setInterval(() => this.tick(), 250);
  }

  get enabled() { return this.ctx !== null && this.ctx.state === "running"; }

  async enable() {
    this.ctx = this.ctx || new AudioContext();
    await this.ctx.resume();
    this.wanted = true;
    sessionStorage.setItem(KEY, "on");
  }

  disable() {
    this.wanted = false;
    sessionStorage.setItem(KEY, "off");
    if (this.ctx) this.ctx.suspend();
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
