// Plain keyed DOM: elements are built once and updated in place (a click
// always lands on the element that was pressed), and the order of a list
// changes only while no pointer is pressing or moving over it.

/** Build an element: h("span", {class: "x", dataset: {a: 1}}, "text", child). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) el.append(c);
  return el;
}

/** Write only what changed (a write that changes nothing restarts nothing). */
export function setText(el, text) {
  const t = String(text ?? "");
  if (el.textContent !== t) el.textContent = t;
}

export function setAttr(el, name, value) {
  if (value === null || value === undefined || value === false) {
    if (el.hasAttribute(name)) el.removeAttribute(name);
    return;
  }
  const v = value === true ? "" : String(value);
  if (el.getAttribute(name) !== v) el.setAttribute(name, v);
}

export function setData(el, key, value) {
  setAttr(el, `data-${key}`, value);
}

export function show(el, visible) {
  if (el.hidden === visible) el.hidden = !visible;
}

const pendingPhase = new Set();

/** Flashes run in step on the document's clock (every tile of one priority
 *  on and off together) and a redraw never restarts them: the animation is
 *  set once per priority, its phase fixed at the next frame. */
export function syncFlash(el, priority) {
  if (el.dataset.flashFor === String(priority)) return;
  el.dataset.flashFor = String(priority);
  pendingPhase.add(el);
  if (pendingPhase.size === 1) {
    requestAnimationFrame(() => {
      for (const e of pendingPhase) for (const a of e.getAnimations()) a.startTime = 0;
      pendingPhase.clear();
    });
  }
}

/**
 * Says when a list may change its order: not while a button is pressed in
 * it, nor while the pointer moves over it (the nurse is aiming), for at most
 * `quietMs` after the last movement. Calls `onRelease` when it may again.
 */
export class StillPointer {
  constructor(el, onRelease, quietMs = 1200) {
    this.pressed = false;
    this.inside = false;
    this.lastMove = 0;
    this.quietMs = quietMs;
    this.waiting = false; // a change was held back
    const release = () => {
      if (!this.waiting || !this.canMove) return;
      this.waiting = false;
      onRelease();
    };
    const soon = () => setTimeout(release, 0); // after the click is dispatched
    el.addEventListener("pointerdown", () => { this.pressed = true; });
    window.addEventListener("pointerup", () => { if (this.pressed) { this.pressed = false; soon(); } }, true);
    window.addEventListener("pointercancel", () => { this.pressed = false; soon(); }, true);
    el.addEventListener("pointermove", () => { this.inside = true; this.lastMove = performance.now(); });
    el.addEventListener("pointerleave", () => { this.inside = false; soon(); });
    setInterval(release, 250);
  }

  /** May the list move now? (Asked by syncChildren; a "no" is remembered.) */
  get canMove() {
    const aiming = this.inside && performance.now() - this.lastMove < this.quietMs;
    return !(this.pressed || aiming);
  }

  hold() { this.waiting = true; }
}

/**
 * Make `container`'s children the elements of `wanted`, in order. When the
 * guard says the pointer is busy, new elements are only appended at the end
 * and gone ones marked "leaving": nothing moves under the pointer.
 */
export function syncChildren(container, wanted, guard) {
  const keep = new Set(wanted);
  if (guard && !guard.canMove) {
    guard.hold();
    for (const el of container.children) if (!keep.has(el)) el.classList.add("leaving");
    for (const el of wanted) if (el.parentNode !== container) container.append(el);
    return false;
  }
  for (const el of [...container.children]) if (!keep.has(el)) el.remove();
  wanted.forEach((el, i) => {
    if (container.children[i] !== el) container.insertBefore(el, container.children[i] || null);
    el.classList.remove("leaving");
  });
  return true;
}
