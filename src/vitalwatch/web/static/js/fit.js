// Text that must be read whole (a vital value) shrunk to its box instead of
// being cut: "188/120" on a small tile stays "188/120", never "188/1".

/** Shrink `el`'s font until its text fits its width (the stylesheet's size is the largest). */
export function fitText(el, min = 9) {
  el.style.fontSize = "";
  const box = el.clientWidth;
  if (!box) return; // not laid out (hidden): fitted when shown, on resize
  let size = parseFloat(getComputedStyle(el).fontSize);
  for (let i = 0; i < 4 && el.scrollWidth > box && size > min; i += 1) {
    size = Math.max(min, Math.floor(size * (box / el.scrollWidth) * 0.97));
    el.style.setProperty("font-size", `${size}px`, "important"); // over the small tiles' !important size
  }
}
