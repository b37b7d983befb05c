// The tile grid: as many rooms as fit, every tile as large as the screen
// allows (so 16 rooms fit a 1920x1080 wall, a 1280x720 laptop and a
// 768x1024 tablet beside the alarm list); when they cannot all fit, the
// grid scrolls and a bar names the alarming rooms out of view.

import { h, setText, show } from "./dom.js";

const MIN_W = 168;
const MIN_H = 120;
const MAX_W = 560; // a few rooms: tiles of a readable size, not one red wall
const MAX_H = 340;
const GAP = 8;

/** Columns and tile size for `n` tiles in a `width` x `height` box. */
export function gridFor(n, width, height) {
  let best = null;
  for (let cols = 1; cols <= Math.max(1, n); cols++) {
    const rows = Math.ceil(n / cols);
    const w = (width - GAP * (cols - 1)) / cols;
    const hgt = (height - GAP * (rows - 1)) / rows;
    if (w < MIN_W) break;
    const fits = hgt >= MIN_H;
    // a tile reads best about 1.5 times as wide as high: score by the usable size
    const score = Math.min(w, hgt * 1.5, MAX_W) + (fits ? 10_000 : 0) - cols * 0.01;
    if (!best || score > best.score) {
      best = { cols, rows, w, h: fits ? Math.min(hgt, MAX_H) : MIN_H * 1.25, fits, score };
    }
  }
  return best || { cols: 1, rows: n, w: width, h: MIN_H, fits: false };
}

export class TileGrid {
  constructor(scroller, grid) {
    this.scroller = scroller;
    this.grid = grid;
    this.hint = h("button", { type: "button", class: "offscreen", "data-testid": "offscreen-alarms", hidden: true,
      onclick: () => this.revealFirst() });
    scroller.append(this.hint);
    this.count = -1;
    new ResizeObserver(() => { this.count = -1; this.fit(this.lastN || 0); }).observe(scroller);
    scroller.addEventListener("scroll", () => this.offscreen());
  }

  fit(n) {
    this.lastN = n;
    const box = this.scroller.getBoundingClientRect();
    const key = `${n}:${Math.round(box.width)}x${Math.round(box.height)}`;
    if (key === this.key) return;
    this.key = key;
    const g = gridFor(n, box.width - 4, box.height - 4);
    this.grid.style.setProperty("--cols", g.cols);
    this.grid.style.setProperty("--tile-w", `${Math.floor(Math.min(g.w, MAX_W))}px`);
    this.grid.style.setProperty("--tile-h", `${Math.floor(g.h)}px`);
    this.grid.dataset.fits = g.fits ? "true" : "false";
  }

  /** The bar that names alarming rooms scrolled out of view. */
  offscreen() {
    const view = this.scroller.getBoundingClientRect();
    const hidden = [];
    for (const tile of this.grid.querySelectorAll(".tile")) {
      if (tile.dataset.alarm === "none" && tile.dataset.nomonitor !== "true") continue;
      const r = tile.getBoundingClientRect();
      if (r.top >= view.top - 2 && r.bottom <= view.bottom + 2) continue;
      hidden.push(tile);
    }
    this.hidden = hidden;
    show(this.hint, hidden.length > 0);
    if (hidden.length) {
      const names = hidden.map((t) => t.querySelector(".t-room").textContent);
      setText(this.hint, `Out of view: ${names.join(", ")} — show`);
      this.hint.dataset.alarm = hidden.some((t) => t.dataset.alarm === "high") ? "high" : "medium";
    }
  }

  revealFirst() { this.hidden?.[0]?.scrollIntoView({ block: "nearest" }); }
}
