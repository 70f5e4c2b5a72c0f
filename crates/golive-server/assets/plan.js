// plan.js — the staffing plan page (/plan): fetches GET /api/v1/staffing/plan
// and draws, per queue and per site, required vs on-duty agents by
// 30-minute interval (an SVG step chart) above the shifts as bars with their
// agent counts, then the shift totals. Plain modules, no build step.

import { adoptTokenFromUrl, getToken, setToken, clearToken, api, h, fmtInt, fmtDecimal, fmtDuration, DASH } from "./common.js";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 1100;
const CHART_HEIGHT = 140;
const BAR_HEIGHT = 18;
const LEFT = 40;

/** An SVG element with attributes and children. */
function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) if (child) node.append(child);
  return node;
}

const dayTime = new Intl.DateTimeFormat(undefined, { weekday: "short", hour: "2-digit", minute: "2-digit" });
const time = (value) => dayTime.format(new Date(value));

/** Maps a time onto the chart's x axis. */
function axis(plan) {
  const from = Date.parse(plan.from);
  const to = Date.parse(plan.to);
  return (value) => LEFT + ((Date.parse(value) - from) / (to - from)) * (WIDTH - LEFT - 10);
}

/** Required and on-duty agents per interval as two step lines. */
function chart(plan, intervals) {
  const x = axis(plan);
  const top = Math.max(1, ...intervals.map((i) => Math.max(i.required, i.on_duty)));
  const y = (n) => CHART_HEIGHT - 16 - (n / top) * (CHART_HEIGHT - 30);
  const step = (key) => {
    let d = "";
    for (const [k, i] of intervals.entries()) {
      const x0 = x(i.start);
      const x1 = k + 1 < intervals.length ? x(intervals[k + 1].start) : WIDTH - 10;
      d += `${k === 0 ? "M" : "L"}${x0.toFixed(1)},${y(i[key]).toFixed(1)}L${x1.toFixed(1)},${y(i[key]).toFixed(1)}`;
    }
    return d;
  };
  const ticks = intervals.filter((_, k) => k % 12 === 0).map((i) =>
    svg("g", {},
      svg("line", { x1: x(i.start), x2: x(i.start), y1: 8, y2: CHART_HEIGHT - 16, class: "plan-grid" }),
      svg("text", { x: x(i.start) + 2, y: CHART_HEIGHT - 3, class: "plan-tick", text: time(i.start) })));
  return svg("svg", { viewBox: `0 0 ${WIDTH} ${CHART_HEIGHT}`, class: "plan-chart", role: "img",
      "aria-label": "Agents required and on duty by interval" },
    ticks,
    svg("text", { x: 4, y: y(top) + 4, class: "plan-tick", text: fmtInt(top) }),
    svg("text", { x: 4, y: y(0), class: "plan-tick", text: "0" }),
    svg("path", { d: step("on_duty"), class: "plan-on-duty" }),
    svg("path", { d: step("required"), class: "plan-required" }));
}

/** Shifts with agents as bars on the same axis, one lane per template. */
function shiftBars(plan, shifts) {
  const x = axis(plan);
  const staffed = shifts.filter((s) => s.agents > 0);
  const lanes = [...new Set(staffed.map((s) => s.template))];
  const height = Math.max(1, lanes.length) * (BAR_HEIGHT + 4) + 4;
  const clip = (value) => Math.min(Math.max(x(value), LEFT), WIDTH - 10);
  return svg("svg", { viewBox: `0 0 ${WIDTH} ${height}`, class: "plan-shifts", role: "img", "aria-label": "Shifts" },
    staffed.map((s) => {
      const lane = lanes.indexOf(s.template);
      const x0 = clip(s.start);
      const x1 = clip(s.end);
      const breaks = s.breaks.map((b) => `${fmtInt(b.agents)} at ${time(b.start)}`).join(", ");
      return svg("g", { "data-testid": "plan-shift" },
        svg("title", { text: `${s.template} ${time(s.start)}–${time(s.end)}: ${s.agents} agents${breaks ? `; breaks ${breaks}` : ""}` }),
        svg("rect", { x: x0, y: 4 + lane * (BAR_HEIGHT + 4), width: Math.max(2, x1 - x0), height: BAR_HEIGHT, rx: 3, class: "plan-bar" }),
        svg("text", { x: x0 + 4, y: 4 + lane * (BAR_HEIGHT + 4) + 13, class: "plan-bar-text", text: `${s.template} · ${s.agents}` }));
    }));
}

function queueSection(plan, q) {
  const patience = q.patience.patience_seconds === null
    ? "nobody hung up in the last 24 h"
    : `patience ~${fmtDuration(q.patience.patience_seconds)} (${q.patience.confidence})`;
  const basis = { erlang_a: "Erlang A", erlang_c: "Erlang C", larger: "the larger of Erlang A and C" }[q.basis] || q.basis;
  const calls = q.intervals.reduce((sum, i) => sum + i.calls, 0);
  return h("article", { class: "card plan-card", dataset: { name: q.queue }, "data-testid": "plan-queue" },
    h("h2", {}, q.queue, h("span", { class: "panel-sub", text:
      ` ${fmtInt(Math.round(calls))} calls forecast · covers ${basis} · ${patience} · ` +
      `×${fmtDecimal(q.forecast.daily_factor)} a day (${q.forecast.method}) · ${fmtInt(Math.round(q.agent_hours))} agent-hours` })),
    q.error ? h("p", { class: "field-error", text: q.error }) : null,
    q.uncovered.length ? h("p", { class: "field-error", text: `${q.uncovered.length} intervals no shift covers, from ${time(q.uncovered[0])}` }) : null,
    chart(plan, q.intervals),
    shiftBars(plan, q.shifts));
}

function siteSection(plan, s) {
  const intervals = s.intervals;
  return h("article", { class: "card plan-card", dataset: { name: s.site }, "data-testid": "plan-site" },
    h("h2", {}, `${s.site} at the elbow`, h("span", { class: "panel-sub", text:
      ` ${fmtInt(Math.round(intervals.reduce((sum, i) => sum + i.tickets, 0)))} tickets forecast · ${fmtInt(Math.round(s.staff_hours))} staff-hours` })),
    chart(plan, intervals),
    shiftBars(plan, s.shifts));
}

function render(plan) {
  $("status").textContent = `${plan.hours} hours from ${time(plan.from)} · generated ${time(plan.generated_at)}`;
  $("queues").replaceChildren(...plan.queues.map((q) => queueSection(plan, q)));
  if (!plan.queues.length) $("queues").append(h("p", { class: "hint", text: "No phone queues yet." }));
  $("sites").replaceChildren(...plan.sites.map((s) => siteSection(plan, s)));
  $("totals").tBodies[0].replaceChildren(...plan.shifts
    .filter((s) => s.agents > 0 || s.ate_staff > 0)
    .map((s) => h("tr", {},
      h("th", { scope: "row", text: s.template }),
      h("td", { text: time(s.start) }),
      h("td", { text: time(s.end) }),
      h("td", { class: "num", text: fmtInt(s.agents) }),
      h("td", { class: "num", text: fmtInt(s.ate_staff) }))));
}

async function load() {
  $("status").textContent = "Loading…";
  try {
    render(await api("GET", `/api/v1/staffing/plan?hours=${$("hours").value}`));
  } catch (error) {
    if (error.status === 401 || error.status === 403) {
      clearToken();
      showLogin(error.message);
      return;
    }
    $("status").textContent = error.message || String(error) || DASH;
  }
}

async function downloadCsv() {
  const response = await fetch(`/api/v1/staffing/plan?hours=${$("hours").value}&format=csv`, {
    headers: { Authorization: `Bearer ${getToken()}` }, cache: "no-store",
  });
  if (!response.ok) return;
  const link = h("a", { href: URL.createObjectURL(await response.blob()), download: "staffing-plan.csv" });
  link.click();
  URL.revokeObjectURL(link.href);
}

function showLogin(message) {
  $("plan").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
}

function start() {
  $("login").hidden = true;
  $("plan").hidden = false;
  load();
}

adoptTokenFromUrl();
$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = $("login-token").value.trim();
  if (!token) return;
  setToken(token);
  start();
});
$("hours").addEventListener("change", load);
$("csv").addEventListener("click", downloadCsv);
if (getToken()) start();
else showLogin();
