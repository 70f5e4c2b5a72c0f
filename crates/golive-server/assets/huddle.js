// huddle.js — the daily huddle report page (/huddle): fetches
// GET /api/v1/report/huddle for the chosen date and shift and draws its
// charts (inline SVG, charts.js) and tables; the tables download as CSV
// from the same endpoint. Times show in the report's own time zone, so
// the printed report reads the same wherever it is printed.

import { adoptTokenFromUrl, getToken, setToken, clearToken, api, h, fmtInt, fmtDecimal, fmtPct, DASH } from "./common.js";
import { lineChart, barChart, legendKey } from "./charts.js";

const $ = (id) => document.getElementById(id);
const params = new URL(window.location.href).searchParams;
// What is shown: from the address at first, then from the controls.
const chosen = { date: params.get("date") || "", shift: params.get("shift") || "" };

/** Paper fixed by ?paper=a4|letter (else the print dialog's choice). */
function fixPaper() {
  const paper = (params.get("paper") || "").toLowerCase();
  const size = { a4: "A4", letter: "letter" }[paper];
  if (size) $("paper").textContent = `@page { size: ${size}; }`;
}

function query() {
  const q = new URLSearchParams();
  if (chosen.date) q.set("date", chosen.date);
  if (chosen.shift) q.set("shift", chosen.shift);
  return q;
}

function hourLabel(zone) {
  const format = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: zone });
  return (value) => format.format(new Date(value));
}

function legend(id, n, items) {
  $(id).replaceChildren(`Key to figure ${n}: `, ...items.map(([name, cls, dashed]) => legendKey(name, cls, dashed)));
}

function figure(n, caption, chart, keys, testid) {
  const fig = h("figure", { class: "fig", "data-testid": testid },
    h("figcaption", { text: `Figure ${n}. ${caption}` }), h("div", {}, chart), h("p", { class: "legend" }));
  fig.lastChild.append(`Key to figure ${n}: `, ...keys.map(([name, cls, dashed]) => legendKey(name, cls, dashed)));
  return fig;
}

function render(report) {
  const label = hourLabel(report.time_zone);
  const labels = report.hours.map((x) => label(x.from));
  const span = report.shift ? `${report.shift} shift` : "whole day";
  $("title").textContent = `Huddle report — ${report.date} (${span})`;
  const moment = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: report.time_zone });
  const at = (value) => moment.format(new Date(value));
  $("status").textContent = `${at(report.from)} – ${at(report.to)} (${report.time_zone})` +
    (report.covered_to !== report.to ? ` · so far, to ${at(report.covered_to)}` : "") +
    ` · generated ${new Date(report.generated_at).toLocaleString()}`;
  document.title = `golive — huddle ${report.date} ${span}`;

  const t = report.totals;
  $("t-opened").textContent = fmtInt(t.tickets.opened);
  $("t-resolved").textContent = fmtInt(t.tickets.resolved);
  $("t-backlog").textContent = fmtInt(t.tickets.backlog);
  $("t-offered").textContent = fmtInt(t.calls.offered);
  $("t-sl").textContent = fmtPct(t.calls.service_level);
  $("t-abandon").textContent = fmtPct(t.calls.abandonment_rate);

  $("flow-chart").replaceChildren(lineChart({
    label: "Tickets opened and resolved by hour", labels,
    series: [
      { name: "opened", cls: "series-1", values: report.hours.map((x) => x.opened) },
      { name: "resolved", cls: "series-2", values: report.hours.map((x) => x.resolved) },
    ],
  }));
  legend("flow-legend", 1, [["opened", "series-1"], ["resolved", "series-2"]]);
  $("backlog-chart").replaceChildren(lineChart({
    label: "Open backlog by hour", labels,
    series: [{ name: "backlog", cls: "series-3", values: report.hours.map((x) => x.backlog) }],
  }));
  legend("backlog-legend", 2, [["backlog at the end of the hour", "series-3"]]);
  $("apps-chart").replaceChildren(barChart({
    label: "Top applications by tickets opened",
    rows: report.top_applications.map((a) => ({ label: a.application, value: a.opened })),
    format: fmtInt,
  }));
  $("apps-legend").textContent = report.top_applications.length
    ? "Key to figure 3: tickets opened over the span"
    : "Key to figure 3: no tickets over the span";

  // Known issues: a section only when some had tickets over the span.
  const known = report.top_known_issues;
  $("known-issues").hidden = !Array.isArray(known) || known.length === 0;
  if (Array.isArray(known)) {
    $("known-table").tBodies[0].replaceChildren(...known.map((k) =>
      h("tr", {}, h("th", { scope: "row", text: k.title }), h("td", { class: "num", text: fmtInt(k.tickets) }))));
  }

  $("calls-chart").replaceChildren(lineChart({
    label: "Call service level and abandonment by hour", labels, top: 1,
    format: (v) => fmtPct(v),
    series: [
      { name: "service level", cls: "series-2", values: report.hours.map((x) => x.service_level) },
      { name: "abandonment", cls: "series-4", values: report.hours.map((x) => x.abandonment_rate) },
    ],
  }));
  legend("calls-legend", 4, [["service level", "series-2"], ["abandonment rate", "series-4"]]);

  let figures = 4;
  $("staffing").replaceChildren(...report.staffing.map((q) => {
    figures += 1;
    return figure(figures, `${q.queue}: agents staffed vs required by hour`, lineChart({
      label: `${q.queue}: agents staffed and required by hour`, labels,
      format: (v) => fmtDecimal(v),
      series: [
        { name: "required", cls: "series-4", step: true, values: q.hours.map((x) => x.required_agents) },
        { name: "staffed", cls: "series-2", step: true, dashed: true, values: q.hours.map((x) => x.agents_staffed) },
      ],
    }), [["required (Erlang C)", "series-4"], ["staffed (mean over the hour)", "series-2", true]], "fig-staffing");
  }));

  $("hours-table").tBodies[0].replaceChildren(...report.hours.map((x, k) =>
    h("tr", { "data-testid": "hour-row", dataset: { hour: k } },
      h("th", { scope: "row", text: labels[k] }),
      ...[
        ["opened", fmtInt], ["resolved", fmtInt], ["backlog", fmtInt], ["calls_offered", fmtInt],
        ["calls_answered", fmtInt], ["calls_abandoned", fmtInt], ["service_level", fmtPct], ["abandonment_rate", fmtPct],
      ].map(([field, format]) => h("td", { class: "num", dataset: { field }, text: format(x[field]) })))));
  $("apps-table").tBodies[0].replaceChildren(...report.top_applications.map((a) =>
    h("tr", { "data-testid": "app-row", dataset: { application: a.application } },
      h("th", { scope: "row", text: a.application }),
      h("td", { class: "num", dataset: { field: "opened" }, text: fmtInt(a.opened) }),
      h("td", { class: "num", dataset: { field: "resolved" }, text: fmtInt(a.resolved) }),
      h("td", { class: "num", dataset: { field: "backlog" }, text: fmtInt(a.backlog) }))));
  if (!report.top_applications.length) {
    $("apps-table").tBodies[0].append(h("tr", { class: "empty" }, h("td", { colspan: 4, text: "No tickets over the span." })));
  }
}

function fillShifts(shifts) {
  const select = $("shift");
  if (select.options.length === 1) {
    for (const s of shifts) select.append(h("option", { value: s.name, text: `${s.name} (from ${s.start})` }));
  }
  select.value = chosen.shift;
}

async function load() {
  $("status").textContent = "Loading…";
  document.documentElement.dataset.ready = "false";
  try {
    const report = await api("GET", `/api/v1/report/huddle?${query()}`);
    fillShifts(report.shifts);
    $("date").value = report.date;
    render(report);
    document.documentElement.dataset.ready = "true";
  } catch (error) {
    if (error.status === 401 || error.status === 403) {
      clearToken();
      showLogin(error.message);
      return;
    }
    $("status").textContent = error.message || String(error) || DASH;
  }
}

async function downloadCsv(event, table) {
  event.preventDefault();
  const q = query();
  q.set("format", "csv");
  q.set("table", table);
  const response = await fetch(`/api/v1/report/huddle?${q}`, {
    headers: { Authorization: `Bearer ${getToken()}` }, cache: "no-store",
  });
  if (!response.ok) return;
  const link = h("a", { href: URL.createObjectURL(await response.blob()), download: `huddle-${$("date").value}-${chosen.shift || "day"}-${table}.csv` });
  link.click();
  URL.revokeObjectURL(link.href);
}

function showLogin(message) {
  $("huddle").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
}

function start() {
  $("login").hidden = true;
  $("huddle").hidden = false;
  load();
}

fixPaper();
adoptTokenFromUrl();
$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = $("login-token").value.trim();
  if (!token) return;
  setToken(token);
  start();
});
$("date").addEventListener("change", () => {
  chosen.date = $("date").value;
  load();
});
$("shift").addEventListener("change", () => {
  chosen.shift = $("shift").value;
  load();
});
$("print").addEventListener("click", () => window.print());
for (const table of ["hours", "applications", "staffing"]) {
  $(`csv-${table}`).addEventListener("click", (event) => downloadCsv(event, table));
}
if (getToken()) start();
else showLogin();
