// The session page's trends (uPlot): every chart draws its alarm limits as
// dashed lines (red high priority, yellow medium) and keeps them in range,
// marks the doses and the values a nurse typed in (a hollow white diamond:
// not a monitor's), and writes its times as 24-hour clock times.

import { METRIC, clock } from "./format.js";

export const CHARTS = [
  { key: "hr", title: "Heart rate (/min)", metrics: ["hr"], colours: ["#35c46a"] },
  { key: "bp", title: "Blood pressure (mmHg): systolic, diastolic, mean", metrics: ["sbp", "dbp", "map"], colours: ["#ff8c42", "#ffb380", "#c08050"] },
  { key: "spo2", title: "SpO2 (%)", metrics: ["spo2"], colours: ["#3fd0ff"] },
  { key: "rr", title: "Respiratory rate (/min)", metrics: ["rr"], colours: ["#e6e6e6"] },
];
const TIERS = [["critical_low", "#ff3b3b"], ["low", "#ffd21f"], ["high", "#ffd21f"], ["critical_high", "#ff3b3b"]];

/** The limit lines of a chart: [{value, colour, label}], from the limits in force. */
export function limitLines(chart, thresholds) {
  const lines = [];
  for (const metric of chart.metrics) {
    const limits = thresholds[metric] || {};
    for (const [tier, colour] of TIERS) {
      const value = limits[tier];
      if (value !== null && value !== undefined) lines.push({ value, colour, label: `${METRIC[metric].short} ${value}` });
    }
  }
  return lines;
}

/** Merge several metrics' series onto one time axis for uPlot. */
export function align(seriesList) {
  const times = [...new Set(seriesList.flatMap((s) => s.ts.map((t) => new Date(t).getTime() / 1000)))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const columns = seriesList.map((s) => {
    const col = new Array(times.length).fill(null);
    s.ts.forEach((t, i) => { col[index.get(new Date(t).getTime() / 1000)] = s.values[i]; });
    return col;
  });
  return [times, ...columns];
}

/** The typed-in points of a chart's metrics: [{metric, ts, value, entered_by}]. */
export function manualPoints(chart, byMetric) {
  return chart.metrics.flatMap((m) => (byMetric[m]?.manual || []).map((p) => ({ ...p, metric: m })));
}

function diamond(ctx, x, y, r) {
  ctx.beginPath();
  ctx.moveTo(x, y - r); ctx.lineTo(x + r, y); ctx.lineTo(x, y + r); ctx.lineTo(x - r, y); ctx.closePath();
  ctx.fill(); ctx.stroke();
}

function markers(lines, events, holder, manual) {
  return {
    hooks: {
      draw: (u) => {
        const { ctx } = u;
        const { left, top, width, height } = u.bbox;
        const drawn = [];
        const placed = []; // the limit labels placed so far: {x, y, w, line}
        ctx.save();
        ctx.lineWidth = 1.5 * devicePixelRatio;
        ctx.font = `${11 * devicePixelRatio}px sans-serif`;
        lines.forEach((line) => {
          const y = u.valToPos(line.value, "y", true);
          if (y < top - 1 || y > top + height + 1) return;
          drawn.push(line.label);
          ctx.strokeStyle = line.colour;
          ctx.fillStyle = line.colour;
          ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
          ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(left + width, y); ctx.stroke();
          // a label moves left until it overlaps none drawn before it (lines a few mmHg apart)
          const w = ctx.measureText(line.label).width;
          const gap = 8 * devicePixelRatio;
          const clash = (x) => placed.some((p) => Math.abs(p.y - y) < 13 * devicePixelRatio && x < p.x + p.w + gap && p.x < x + w + gap);
          let x = left + width - w - 4;
          while (x > left && clash(x)) x -= 6 * devicePixelRatio;
          placed.push({ x, y, w, line });
        });
        ctx.setLineDash([]);
        // the labels over every line, on the panel's colour: no other limit's dashes through them
        for (const p of placed) {
          ctx.fillStyle = "rgba(20, 27, 36, .9)";
          ctx.fillRect(p.x - 2, p.y - 3 - 10 * devicePixelRatio, p.w + 4, 12 * devicePixelRatio);
          ctx.fillStyle = p.line.colour;
          ctx.fillText(p.line.label, p.x, p.y - 3);
        }
        for (const ev of events.filter((e) => e.kind === "dose")) {
          const x = u.valToPos(new Date(ev.ts).getTime() / 1000, "x", true);
          if (x < left || x > left + width) continue;
          ctx.strokeStyle = "#c58bff";
          ctx.fillStyle = "#c58bff";
          ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, top + height); ctx.stroke();
          ctx.fillText("dose", x + 3, top + 12 * devicePixelRatio);
        }
        let typed = 0;
        ctx.strokeStyle = "#ffffff";
        ctx.fillStyle = "#0b0f14";
        ctx.lineWidth = 2 * devicePixelRatio;
        for (const p of manual) {
          const x = u.valToPos(new Date(p.ts).getTime() / 1000, "x", true);
          const y = u.valToPos(p.value, "y", true);
          if (x < left - 1 || x > left + width + 1 || y < top - 1 || y > top + height + 1) continue;
          diamond(ctx, x, y, 6 * devicePixelRatio);
          typed += 1;
        }
        ctx.restore();
        holder.dataset.limitsDrawn = drawn.join(",");
        holder.dataset.xSpan = String(Math.round(u.scales.x.max - u.scales.x.min)); // seconds the axis spans
        holder.dataset.manualDrawn = String(typed);
      },
    },
  };
}

/** A time axis over `times` (seconds) at least `span` seconds wide, centred
 *  on the data when it is narrower (one point: not an axis of "00:00 00:00",
 *  nor uPlot's years around it); the last `span` when there is none. */
export function timeRange(times, span) {
  const known = times.filter((t) => t !== null && Number.isFinite(t));
  if (!known.length) {
    const now = Date.now() / 1000;
    return () => [now - span, now];
  }
  const min = Math.min(...known);
  const max = Math.max(...known);
  if (max - min >= span) return () => [min, max];
  const mid = (min + max) / 2;
  return () => [mid - span / 2, mid + span / 2];
}

/** One chart: a uPlot whose y range always holds the limits and the data. */
export function makeChart(holder, chart, data, thresholds, events, width, manual = []) {
  const lines = limitLines(chart, thresholds);
  holder.dataset.limits = lines.map((l) => l.label).join(",");
  const range = (u, min, max) => {
    const values = [...lines.map((l) => l.value)];
    if (min !== null && Number.isFinite(min)) values.push(min, max);
    if (!values.length) return [0, 100];
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    const pad = Math.max(2, (hi - lo) * 0.08);
    return [Math.floor(lo - pad), Math.ceil(hi + pad)];
  };
  const time24 = (u, splits) => {
    const step = splits.length > 1 ? splits[1] - splits[0] : 3600;
    // ticks closer than a second: label the whole seconds only
    return splits.map((v) => (v === null || (step < 1 && v % 1) ? "" : clock(new Date(v * 1000), step < 60)));
  };
  const opts = {
    width, height: 190,
    scales: { x: { time: true, range: timeRange(data[0], 10 * 60) }, y: { range } },
    axes: [
      { stroke: "#8b9bb0", grid: { stroke: "#263241" }, values: time24 },
      { stroke: "#8b9bb0", grid: { stroke: "#263241" } },
    ],
    series: [
      { value: (u, v) => (v === null ? "–" : clock(new Date(v * 1000))) },
      ...chart.metrics.map((m, i) => ({
        label: METRIC[m].short, stroke: chart.colours[i], width: 1.5,
        spanGaps: !["hr", "spo2"].includes(m), points: { show: ["sbp", "dbp", "map"].includes(m) },
      })),
    ],
    plugins: [markers(lines, events, holder, manual)],
  };
  return new window.uPlot(opts, data, holder);
}
