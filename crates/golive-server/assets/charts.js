// charts.js — inline SVG charts for the report pages (/waves, /huddle):
// line charts over hours with a y axis, hour ticks and dashed series, and
// horizontal bar charts. Drawn from the API's numbers, no library. Each
// series path carries its values in `data-values` (JSON) so what is drawn
// can be checked against the API. Charts scale with their container
// (viewBox, width 100%), so they print at the paper's width.

const SVG = "http://www.w3.org/2000/svg";

/** An SVG element with attributes and children. */
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined) continue;
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) if (child) node.append(child);
  return node;
}

/** A round axis top at or above `max`: 1, 2, 2.5, 5 × a power of ten. */
export function niceTop(max) {
  if (!(max > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

const WIDTH = 1000;
const LEFT = 56;
const RIGHT = 14;
const TOP = 12;
const BOTTOM = 30;

/**
 * A line chart. `labels`: one x label per point (shown every `tickEvery`);
 * `series`: [{ name, values: [number|null], cls, dashed, step }];
 * `format`: y tick text; `top`: fixed y top (else from the data).
 */
export function lineChart({ label, labels, series, format = String, top, height = 260, tickEvery }) {
  const count = Math.max(1, labels.length);
  // Gridlines at round steps (about four), the top on one of them.
  const dataMax = Math.max(0, ...series.flatMap((s) => s.values.filter((v) => v !== null && v !== undefined)));
  const step = top !== undefined ? top / 4 : niceTop(dataMax / 4 || 1);
  const max = top ?? Math.max(step, Math.ceil(dataMax / step - 1e-9) * step);
  const levels = Array.from({ length: Math.round(max / step) + 1 }, (_, k) => k * step);
  const plotW = WIDTH - LEFT - RIGHT;
  const plotH = height - TOP - BOTTOM;
  // Points sit in the middle of their hour's slot.
  const x = (k) => LEFT + ((k + 0.5) / count) * plotW;
  const y = (v) => TOP + plotH - (Math.min(v, max) / max) * plotH;
  const every = tickEvery ?? Math.max(1, Math.ceil(count / 12));
  const grid = levels.map((v) =>
    svg("g", {},
      svg("line", { x1: LEFT, x2: WIDTH - RIGHT, y1: y(v), y2: y(v), class: "chart-grid" }),
      svg("text", { x: LEFT - 6, y: y(v) + 4, class: "chart-tick chart-y", text: format(v) })));
  const ticks = labels.map((text, k) => (k % every === 0
    ? svg("text", { x: x(k), y: height - 10, class: "chart-tick chart-x", text })
    : null));
  const paths = series.map((s) => {
    let d = "";
    let pen = false;
    s.values.forEach((v, k) => {
      if (v === null || v === undefined) {
        pen = false;
        return;
      }
      if (s.step) {
        const x0 = LEFT + (k / count) * plotW;
        const x1 = LEFT + ((k + 1) / count) * plotW;
        d += `${pen ? "L" : "M"}${x0.toFixed(1)},${y(v).toFixed(1)}L${x1.toFixed(1)},${y(v).toFixed(1)}`;
      } else {
        d += `${pen ? "L" : "M"}${x(k).toFixed(1)},${y(v).toFixed(1)}`;
      }
      pen = true;
    });
    // A lone point still shows.
    const dots = s.values.length <= 48 && !s.step
      ? s.values.map((v, k) => (v === null || v === undefined ? null
        : svg("circle", { cx: x(k).toFixed(1), cy: y(v).toFixed(1), r: 3, class: `chart-dot ${s.cls}` })))
      : [];
    return svg("g", { "data-series": s.name },
      svg("path", { d, class: `chart-line ${s.cls}${s.dashed ? " chart-dashed" : ""}`,
        "data-values": JSON.stringify(s.values) }),
      dots);
  });
  return svg("svg", { viewBox: `0 0 ${WIDTH} ${height}`, class: "chart", role: "img", "aria-label": label },
    grid, ticks,
    svg("line", { x1: LEFT, x2: LEFT, y1: TOP, y2: TOP + plotH, class: "chart-axis" }),
    paths);
}

/** Horizontal bars: rows [{ label, value }], longest first as given. */
export function barChart({ label, rows, format = String }) {
  const bar = 22;
  const gap = 6;
  const height = TOP + rows.length * (bar + gap) + 4;
  const labelW = 260;
  const max = niceTop(Math.max(0, ...rows.map((r) => r.value)));
  const w = (v) => (v / max) * (WIDTH - labelW - 80);
  return svg("svg", { viewBox: `0 0 ${WIDTH} ${Math.max(height, 40)}`, class: "chart", role: "img", "aria-label": label },
    rows.map((r, k) => {
      const top = TOP + k * (bar + gap);
      return svg("g", { "data-bar": r.label, "data-value": r.value },
        svg("text", { x: labelW - 8, y: top + bar - 6, class: "chart-bar-label", text: r.label }),
        svg("rect", { x: labelW, y: top, width: Math.max(1, w(r.value)).toFixed(1), height: bar, class: "chart-bar" }),
        svg("text", { x: labelW + w(r.value) + 6, y: top + bar - 6, class: "chart-bar-value", text: format(r.value) }));
    }));
}

/** A legend key: a short line in the series' class, then its name. */
export function legendKey(name, cls, dashed = false) {
  const key = svg("svg", { viewBox: "0 0 24 10", class: "legend-key", "aria-hidden": "true" },
    svg("line", { x1: 1, x2: 23, y1: 5, y2: 5, class: `chart-line ${cls}${dashed ? " chart-dashed" : ""}` }));
  const span = document.createElement("span");
  span.className = "legend-item";
  span.append(key, document.createTextNode(name));
  return span;
}
