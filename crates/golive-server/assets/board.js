// board.js — the live board (GET /): signs in with the display token from
// the URL or sessionStorage, follows the WebSocket feed /api/v1/live
// (snapshot, then board updates and alert messages), falls back to polling
// GET /api/v1/board while the socket is down, warns when the data may be
// stale, and renders headline tiles, per-application / per-site tables,
// sparklines, phone-queue and at-the-elbow staffing and active alerts.
//
// The board JSON holds aggregates only; this page never fetches tickets, so
// no ticket text or person names can reach a wall screen.

import {
  adoptTokenFromUrl, getToken, setToken, clearToken, api, wsUrl, h,
  fmtInt, fmtPct, fmtDuration, fmtTime, DASH,
} from "/assets/common.js";

/*
 * Colour thresholds — the one place they are defined. Each tile gets a
 * state: "ok" (green), "warn" (amber), "bad" (red) or "none" (neutral:
 * informational numbers, or no data yet). Why these values: they are the
 * usual contact-center and go-live command-center defaults; change them
 * here and every tile and table follows.
 *
 * - Service level (15 m, calls answered within the queue's answer target):
 *   below the queue target → amber; more than 10 points below → red.
 *   The target is the strictest service_level_target of the queues shown
 *   (default 80 %).
 * - Abandonment (15 m): above 5 % → amber; above 10 % → red.
 * - ASA (15 m, mean speed of answer): above the answer target → amber;
 *   above twice the target → red. Target = the shortest
 *   answer_target_seconds of the queues shown (default 20 s).
 * - Open severity-1 tickets: any → red (patient safety); none → green.
 * - Resolution rate (60 m, resolved / opened): below 90 % → amber (the
 *   backlog is growing); below 70 % → red.
 * - Calls waiting (sum over queues): 3 or more → amber; 8 or more → red.
 * - Queue gap (required − staffed agents): short by 1 or more → red;
 *   staffed at or above required → green.
 * - Queue expected service level now: same rule as the service level tile.
 * - Stale data: no fresh board for more than 10 s → stale banner.
 */
const THRESHOLDS = Object.freeze({
  serviceLevel: { defaultTarget: 0.8, redMargin: 0.1 },
  abandonment: { warn: 0.05, bad: 0.1 },
  asa: { defaultTargetSeconds: 20, badFactor: 2 },
  sev1Open: { bad: 1 },
  resolutionRate: { warn: 0.9, bad: 0.7 },
  callsWaiting: { warn: 3, bad: 8 },
  queueShort: { bad: 1 },
  staleAfterMs: 10_000,
});

/** Polling interval for GET /api/v1/board while the socket is down. */
const POLL_MS = 5_000;
/** Reconnect backoff: first retry after 1 s, doubling up to 30 s (+ jitter). */
const BACKOFF_MIN_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;
/** A socket silent this long gets a REST check (before the stale threshold). */
const QUIET_CHECK_MS = 7_000;
/** A socket silent this long is assumed half-dead and is reopened. */
const QUIET_RECONNECT_MS = 30_000;
/** Trend shown in sparklines: the last two hours of per-minute points. */
const TREND_WINDOW_MS = 2 * 60 * 60 * 1000;
/** Rows per table before "+N more" (keeps the wall layout on one screen). */
const MAX_APP_ROWS = 12;
const MAX_SITE_ROWS = 8;
/** Alerts shown before "+N more" (critical first), so the layout holds. */
const MAX_ALERTS = 6;

// ---------------------------------------------------------------- state

const page = new URL(window.location.href);
const scope = {
  site: page.searchParams.get("site") || null,
  queue: page.searchParams.get("queue") || null,
};

const state = {
  board: null, // last board received (already scoped)
  alerts: new Map(), // alert id → alert, kept current by board + alert messages
  seq: null,
  lastDataAt: 0, // Date.now() when fresh data last arrived (socket or poll)
  socket: null,
  socketLive: false, // open and has delivered its snapshot
  lastSocketMessageAt: 0,
  backoffMs: BACKOFF_MIN_MS,
  reconnectTimer: null,
  pollTimer: null,
  lastPollAt: 0,
  polling: false,
  started: false,
  startedAt: 0, // when this sign-in started (the stale clock before any data)
  feedLost: false, // the socket closed and has not delivered a snapshot since
  alertSignature: null, // what the alert strip shows now
};

const $ = (id) => document.getElementById(id);

// ------------------------------------------------------------- thresholds

function levelAbove(value, warn, bad) {
  if (value === null || value === undefined) return "none";
  if (value >= bad) return "bad";
  if (value >= warn) return "warn";
  return "ok";
}

function serviceLevelState(sl, target) {
  if (sl === null || sl === undefined) return "none";
  if (sl < target - THRESHOLDS.serviceLevel.redMargin) return "bad";
  if (sl < target) return "warn";
  return "ok";
}

function abandonmentState(rate) {
  if (rate === null || rate === undefined) return "none";
  if (rate > THRESHOLDS.abandonment.bad) return "bad";
  if (rate > THRESHOLDS.abandonment.warn) return "warn";
  return "ok";
}

function asaState(seconds, target) {
  if (seconds === null || seconds === undefined) return "none";
  if (seconds > target * THRESHOLDS.asa.badFactor) return "bad";
  if (seconds > target) return "warn";
  return "ok";
}

function resolutionRateState(rate) {
  if (rate === null || rate === undefined) return "none";
  if (rate < THRESHOLDS.resolutionRate.bad) return "bad";
  if (rate < THRESHOLDS.resolutionRate.warn) return "warn";
  return "ok";
}

// ------------------------------------------------------------- scoping

/**
 * Narrows a board to this display's scope. A scoped socket already sends
 * filtered boards; applying the same filter here also covers the REST
 * fallback and is harmless when the server did it.
 */
function scopeBoard(board) {
  if (!scope.site && !scope.queue) return board;
  const b = structuredClone(board);
  const pick = (obj, key) => (obj && key in obj ? { [key]: obj[key] } : {});
  for (const report of Object.values(b.windows || {})) {
    if (scope.site && report.tickets_by) {
      report.tickets_by.site = pick(report.tickets_by.site, scope.site);
    }
    if (scope.queue) {
      report.calls_by_queue = pick(report.calls_by_queue, scope.queue);
      if (Array.isArray(report.staffing)) report.staffing = report.staffing.filter((q) => q.queue === scope.queue);
    }
  }
  if (scope.queue) {
    b.calls_waiting = pick(b.calls_waiting, scope.queue);
    if (Array.isArray(b.staffing)) b.staffing = b.staffing.filter((q) => q.queue === scope.queue);
  }
  if (scope.site && Array.isArray(b.ate)) b.ate = b.ate.filter((a) => a.site === scope.site);
  if (scope.site && Array.isArray(b.surges)) {
    b.surges = b.surges.filter((s) => s.dimension !== "site" || s.value === scope.site);
  }
  return b;
}

const EMPTY_T = {
  opened: 0, resolved: 0, reopened: 0, escalated: 0, backlog: 0,
  resolution_rate: null, first_contact_resolution_rate: null,
  mttr_seconds: { mean: null, p50: null, p90: null },
};
const EMPTY_C = {
  offered: 0, answered: 0, abandoned: 0, abandonment_rate: null,
  service_level: null, asa_seconds: null, aht_seconds: null,
};

/** Ticket numbers for the headline tiles: the site's when site-scoped. */
function ticketsOf(report) {
  if (!report) return EMPTY_T;
  if (scope.site) return report.tickets_by?.site?.[scope.site] ?? EMPTY_T;
  return report.tickets ?? EMPTY_T;
}

/** Call numbers for the headline tiles: the queue's when queue-scoped. */
function callsOf(report) {
  if (!report) return EMPTY_C;
  if (scope.queue) return report.calls_by_queue?.[scope.queue] ?? EMPTY_C;
  return report.calls ?? EMPTY_C;
}

// ------------------------------------------------------------- tiles

/*
 * Each tile: id (→ #tile-ID, data-testid "tile-ID", value in
 * data-testid "tile-ID-value" with the raw number in data-value), label,
 * window (the time span the number covers, shown beside the label;
 * empty for "right now" numbers),
 * spark (trend field drawn under the value, if any), and
 * compute(board) → {value, text, state, sub}.
 */
const TILES = [
  {
    id: "backlog",
    label: "Open backlog",
    window: "",
    compute(b) {
      const t = ticketsOf(b.windows?.["60m"]);
      const bySev = b.backlog_by_severity || {};
      const sub = scope.site
        ? "open now at this site"
        : ["1", "2", "3", "4"].map((s) => `S${s} ${fmtInt(bySev[s] ?? 0)}`).join(" · ");
      return { value: t.backlog, text: fmtInt(t.backlog), state: "none", sub };
    },
  },
  {
    id: "opened",
    spark: "opened",
    label: "Opened",
    window: "60m",
    compute(b) {
      const t = ticketsOf(b.windows?.["60m"]);
      const t15 = ticketsOf(b.windows?.["15m"]);
      return { value: t.opened, text: fmtInt(t.opened), state: "none", sub: `15 min: ${fmtInt(t15.opened)}` };
    },
  },
  {
    id: "resolved",
    spark: "resolved",
    label: "Resolved",
    window: "60m",
    compute(b) {
      const t = ticketsOf(b.windows?.["60m"]);
      const t15 = ticketsOf(b.windows?.["15m"]);
      return { value: t.resolved, text: fmtInt(t.resolved), state: "none", sub: `15 min: ${fmtInt(t15.resolved)}` };
    },
  },
  {
    id: "resolution-rate",
    label: "Resolution",
    window: "60m",
    compute(b) {
      const t = ticketsOf(b.windows?.["60m"]);
      const fcr = t.first_contact_resolution_rate;
      return {
        value: t.resolution_rate,
        text: fmtPct(t.resolution_rate),
        state: resolutionRateState(t.resolution_rate),
        sub: `first contact ${fmtPct(fcr)}`,
      };
    },
  },
  {
    id: "sev1",
    label: "Sev-1 open",
    window: "",
    compute(b) {
      const n = b.open_sev1 ?? 0;
      return {
        value: n,
        text: fmtInt(n),
        state: n >= THRESHOLDS.sev1Open.bad ? "bad" : "ok",
        sub: scope.site ? "all sites" : "patient safety",
      };
    },
  },
  {
    id: "calls-waiting",
    spark: "offered",
    label: "Calls waiting",
    window: "",
    compute(b) {
      const n = Object.values(b.calls_waiting || {}).reduce((sum, v) => sum + (Number(v) || 0), 0);
      const c15 = callsOf(b.windows?.["15m"]);
      return {
        value: n,
        text: fmtInt(n),
        state: levelAbove(n, THRESHOLDS.callsWaiting.warn, THRESHOLDS.callsWaiting.bad),
        sub: `offered 15 min: ${fmtInt(c15.offered)}`,
      };
    },
  },
  {
    id: "asa",
    label: "ASA",
    window: "15m",
    compute(b) {
      const c = callsOf(b.windows?.["15m"]);
      const target = answerTarget(b);
      return {
        value: c.asa_seconds,
        text: fmtDuration(c.asa_seconds),
        state: asaState(c.asa_seconds, target),
        sub: `target ${fmtDuration(target)}`,
      };
    },
  },
  {
    id: "service-level",
    label: "Service level",
    window: "15m",
    compute(b) {
      const c = callsOf(b.windows?.["15m"]);
      const target = serviceLevelTarget(b);
      return {
        value: c.service_level,
        text: fmtPct(c.service_level),
        state: serviceLevelState(c.service_level, target),
        sub: `target ${fmtPct(target)} in ${fmtDuration(answerTarget(b))}`,
      };
    },
  },
  {
    id: "abandonment",
    spark: "abandoned",
    label: "Abandoned",
    window: "15m",
    compute(b) {
      const c = callsOf(b.windows?.["15m"]);
      return {
        value: c.abandonment_rate,
        text: fmtPct(c.abandonment_rate),
        state: abandonmentState(c.abandonment_rate),
        sub: `${fmtInt(c.abandoned)} of ${fmtInt(c.offered)} calls`,
      };
    },
  },
];

/** The strictest service-level target among the queues shown. */
function serviceLevelTarget(b) {
  const targets = (b.staffing || []).map((q) => q.service_level_target).filter((t) => typeof t === "number");
  return targets.length ? Math.max(...targets) : THRESHOLDS.serviceLevel.defaultTarget;
}

/** The shortest answer target (seconds) among the queues shown. */
function answerTarget(b) {
  const targets = (b.staffing || []).map((q) => q.answer_target_seconds).filter((t) => typeof t === "number");
  return targets.length ? Math.min(...targets) : THRESHOLDS.asa.defaultTargetSeconds;
}

const SPARK_LABELS = {
  opened: "tickets opened per minute",
  resolved: "tickets resolved per minute",
  offered: "calls offered per minute",
  abandoned: "calls abandoned per minute",
};

function buildTiles() {
  const root = $("tiles");
  root.replaceChildren();
  for (const tile of TILES) {
    const node = h("article", { class: "tile", id: `tile-${tile.id}`, "data-testid": `tile-${tile.id}`, "data-state": "none", "aria-labelledby": `tile-${tile.id}-label` },
      h("h3", { class: "tile-label", id: `tile-${tile.id}-label` },
        h("span", { class: "tile-name", text: tile.label }),
        tile.window ? h("span", { class: "tile-window", text: tile.window }) : null),
      h("p", { class: "tile-value", id: `tile-${tile.id}-value`, "data-testid": `tile-${tile.id}-value`, text: DASH }),
      h("p", { class: "tile-sub", id: `tile-${tile.id}-sub` }),
    );
    if (tile.spark) node.append(svgEl("svg", { class: "spark", id: `tile-${tile.id}-spark`, viewBox: "0 0 120 30", preserveAspectRatio: "none", role: "img" }));
    root.append(node);
  }
}

function renderTiles(b) {
  for (const tile of TILES) {
    const r = tile.compute(b);
    const node = $(`tile-${tile.id}`);
    node.dataset.state = r.state;
    const value = $(`tile-${tile.id}-value`);
    if (value.textContent !== r.text) value.textContent = r.text;
    value.dataset.value = r.value === null || r.value === undefined ? "null" : String(r.value);
    $(`tile-${tile.id}-sub`).textContent = r.sub || "";
    if (tile.spark) renderSpark($(`tile-${tile.id}-spark`), b.trend, tile.spark);
  }
}

// ------------------------------------------------------------- sparklines

const SVG_NS = "http://www.w3.org/2000/svg";

function svgEl(tag, attrs = {}) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

/** Per-minute values of `field` over the last two hours of the trend. */
function trendSeries(trend, field) {
  const points = Array.isArray(trend?.points) ? trend.points : [];
  if (!points.length) return [];
  const last = Date.parse(points[points.length - 1].at);
  return points
    .filter((p) => Number.isNaN(last) || last - Date.parse(p.at) < TREND_WINDOW_MS)
    .map((p) => Number(p[field]) || 0);
}

/** Draws a filled line sparkline into an inline SVG (viewBox 120×30). */
function renderSpark(svg, trend, field) {
  const values = trendSeries(trend, field);
  svg.replaceChildren();
  const max = Math.max(1, ...values);
  const total = values.reduce((a, v) => a + v, 0);
  const title = svgEl("title");
  title.textContent = `${SPARK_LABELS[field]}, last 2 h: ${total} in all, at most ${max} a minute`;
  svg.append(title);
  svg.setAttribute("aria-label", title.textContent);
  if (values.length < 2) return;
  const step = 120 / (values.length - 1);
  const y = (v) => (28 - (v / max) * 26).toFixed(2);
  const line = values.map((v, i) => `${(i * step).toFixed(2)},${y(v)}`).join(" ");
  svg.append(
    svgEl("polygon", { class: "spark-area", points: `0,30 ${line} 120,30` }),
    svgEl("polyline", { class: "spark-line", points: line, "vector-effect": "non-scaling-stroke" }),
  );
}

// ------------------------------------------------------------- tables

/** Sort by pain: backlog, then opened in the window, then name. */
function byPain([nameA, a], [nameB, b]) {
  return (b.backlog - a.backlog) || (b.opened - a.opened) || nameA.localeCompare(nameB);
}

function surgeBadge(b, dimension, value) {
  const surge = (b.surges || []).find((s) => s.dimension === dimension && s.value === value);
  if (!surge) return null;
  const ratio = typeof surge.ratio === "number" ? `×${surge.ratio.toFixed(1)}` : "";
  return h("span", {
    class: "badge badge-surge",
    "data-testid": "surge",
    title: `Surge: ${surge.last_15m} in the last 15 min against a baseline of ${typeof surge.baseline_15m === "number" ? surge.baseline_15m.toFixed(1) : surge.baseline_15m}`,
  }, `▲ surge ${ratio}`);
}

function renderGroupTable(b, dimension, tableId, moreId, maxRows, extraCells) {
  const groups = b.windows?.["60m"]?.tickets_by?.[dimension] || {};
  const rows = Object.entries(groups).sort(byPain);
  const body = $(tableId).tBodies[0];
  const shown = rows.slice(0, maxRows);
  body.replaceChildren(...shown.map(([name, t]) =>
    h("tr", { dataset: { name } },
      h("th", { scope: "row", class: "name" }, h("span", { class: "name-text", text: name }), surgeBadge(b, dimension, name)),
      h("td", { class: "num", text: fmtInt(t.opened) }),
      h("td", { class: "num", text: fmtInt(t.resolved) }),
      h("td", { class: `num backlog${t.backlog > 0 ? " strong" : ""}`, text: fmtInt(t.backlog) }),
      h("td", { class: "num", text: fmtDuration(t.mttr_seconds?.p50, true) }),
      ...extraCells(name),
    )));
  if (!shown.length) {
    body.append(h("tr", { class: "empty" }, h("td", { colspan: 5 + extraCells("").length, text: "No tickets in the last hour" })));
  }
  const more = $(moreId);
  more.hidden = rows.length <= maxRows;
  more.textContent = `+${rows.length - maxRows} more`;
}

function renderApps(b) {
  const forecast = new Map((b.forecast || []).map((f) => [f.application, f]));
  renderGroupTable(b, "application", "apps-table", "apps-more", MAX_APP_ROWS, (name) => {
    const f = forecast.get(name);
    return [h("td", { class: "num muted", title: f ? `forecast method: ${f.method}` : null, text: f ? fmtInt(Math.round(f.tickets_next_60m)) : DASH })];
  });
}

function renderSites(b) {
  renderGroupTable(b, "site", "sites-table", "sites-more", MAX_SITE_ROWS, () => []);
}

function gapCell(q) {
  const delta = q.delta ?? (q.required_agents - q.agents_staffed);
  if (delta === null || delta === undefined || Number.isNaN(delta)) return h("td", { class: "num", text: DASH });
  if (delta >= THRESHOLDS.queueShort.bad) {
    return h("td", { class: "num state-bad", "data-testid": "queue-short" }, `short ${fmtInt(delta)}`);
  }
  return h("td", { class: "num state-ok" }, delta < 0 ? `+${fmtInt(-delta)}` : "OK");
}

/** Erlang A's need, titled with the measured patience it rests on. */
function erlangACell(a) {
  if (!a) return h("td", { class: "num", text: DASH });
  const patience = a.patience_seconds === null || a.patience_seconds === undefined
    ? "nobody hung up: Erlang C applies"
    : `patience ~${fmtDuration(a.patience_seconds)} (${a.patience_confidence} confidence, ${fmtInt(a.abandons)} hung up)`;
  return h("td", { class: "num", title: patience, "data-testid": "queue-need-a" }, fmtInt(a.required_agents));
}

function renderStaffing(b) {
  const queues = [...(b.staffing || [])].sort((a, z) => (z.delta ?? 0) - (a.delta ?? 0) || a.queue.localeCompare(z.queue));
  const waiting = b.calls_waiting || {};
  const body = $("staffing-table").tBodies[0];
  body.replaceChildren(...queues.map((q) => {
    const sl = q.expected_service_level_now;
    const slState = serviceLevelState(sl, q.service_level_target ?? THRESHOLDS.serviceLevel.defaultTarget);
    return h("tr", { dataset: { name: q.queue } },
      h("th", { scope: "row", class: "name" }, h("span", { class: "name-text", text: q.queue })),
      h("td", { class: "num", text: fmtInt(waiting[q.queue] ?? 0) }),
      h("td", { class: "num", text: fmtInt(q.agents_staffed) }),
      h("td", { class: "num", text: fmtInt(q.required_agents) }),
      erlangACell(q.erlang_a),
      gapCell(q),
      h("td", { class: `num state-${slState}`, title: `target ${fmtPct(q.service_level_target)} in ${fmtDuration(q.answer_target_seconds)}`, text: fmtPct(sl) }),
    );
  }));
  if (!queues.length) body.append(h("tr", { class: "empty" }, h("td", { colspan: 7, text: "No phone queues yet" })));
  // Which of Erlang C and Erlang A to plan on, per queue where it matters.
  const advised = queues.filter((q) => q.erlang_a && q.erlang_a.advice && q.erlang_a.advice.kind !== "no_calls");
  $("staffing-advice").replaceChildren(...advised.map((q) =>
    h("li", { dataset: { name: q.queue, kind: q.erlang_a.advice.kind } },
      h("strong", { text: `${q.queue}: ` }), q.erlang_a.advice.message)));

  const withForecast = queues.filter((q) => q.forecast);
  $("forecast-table").hidden = $("forecast-title").hidden = !withForecast.length;
  $("forecast-table").tBodies[0].replaceChildren(...withForecast.map((q) =>
    h("tr", { dataset: { name: q.queue } },
      h("th", { scope: "row", class: "name" }, h("span", { class: "name-text", text: q.queue })),
      h("td", { class: "num", text: fmtInt(Math.round(q.forecast.calls_next_60m)) }),
      h("td", { class: `num${q.forecast.required_agents > q.agents_staffed ? " state-warn" : ""}`, text: fmtInt(q.forecast.required_agents) }),
      h("td", { class: "num", text: fmtInt(q.forecast.scheduled_agents) }),
    )));
}

function renderAte(b) {
  const sites = [...(b.ate || [])].sort((a, z) => (z.recommended_staff - a.recommended_staff) || a.site.localeCompare(z.site));
  $("ate-table").hidden = $("ate-title").hidden = !sites.length;
  $("ate-table").tBodies[0].replaceChildren(...sites.map((a) =>
    h("tr", { dataset: { name: a.site } },
      h("th", { scope: "row", class: "name" }, h("span", { class: "name-text", text: a.site })),
      h("td", { class: "num", text: typeof a.tickets_per_hour === "number" ? a.tickets_per_hour.toFixed(1) : DASH }),
      h("td", { class: "num strong", text: fmtInt(a.recommended_staff) }),
      h("td", { class: "num", text: fmtInt(a.roaming_staff) }),
    )));
}

// ------------------------------------------------------------- alerts

function alertInScope(alert) {
  const s = alert.scope || {};
  if (scope.site && s.site && s.site !== scope.site) return false;
  if (scope.queue && s.queue && s.queue !== scope.queue) return false;
  return true;
}

function renderAlerts() {
  const alerts = [...state.alerts.values()].filter(alertInScope).sort((a, b) =>
    (a.severity === "critical" ? 0 : 1) - (b.severity === "critical" ? 0 : 1) ||
    String(a.raised_at).localeCompare(String(b.raised_at)));
  // The strip is a live region: rebuild it only when the alerts change,
  // so screen readers announce new alerts, not every board.
  const signature = JSON.stringify(alerts.map((a) => [a.id, a.severity, a.message, a.raised_at]));
  if (signature === state.alertSignature) return;
  state.alertSignature = signature;
  $("alerts").dataset.count = String(alerts.length);
  $("alerts-none").hidden = alerts.length > 0;
  const shown = alerts.length > MAX_ALERTS ? alerts.slice(0, MAX_ALERTS - 1) : alerts;
  const more = alerts.length - shown.length;
  $("alert-list").replaceChildren(...shown.map((a) =>
    h("li", { class: `alert alert-${a.severity === "critical" ? "critical" : "warning"}`, "data-testid": "alert", dataset: { rule: a.rule ?? "", id: a.id ?? "" } },
      h("span", { class: "alert-sev", text: a.severity === "critical" ? "CRITICAL" : "WARNING" }),
      h("span", { class: "alert-msg", text: a.message ?? a.rule ?? "alert" }),
      h("span", { class: "alert-since", text: a.raised_at ? `since ${fmtTime(a.raised_at).slice(0, 5)}` : "" }),
    )));
  if (more > 0) $("alert-list").append(h("li", { class: "alert-more", text: `+${more} more alerts` }));
}

// ------------------------------------------------------------- rendering

function applyBoard(raw, source) {
  if (!state.started || !raw || typeof raw !== "object") return;
  const board = scopeBoard(raw);
  state.board = board;
  state.lastDataAt = Date.now();
  // The board's alert list is the authoritative set; alert messages in
  // between only make the strip react faster.
  if (Array.isArray(board.alerts)) {
    state.alerts = new Map(board.alerts.map((a) => [a.id ?? `${a.rule}:${JSON.stringify(a.scope)}`, a]));
  }
  document.body.dataset.source = source;
  renderTiles(board);
  renderApps(board);
  renderSites(board);
  renderStaffing(board);
  renderAte(board);
  renderAlerts();
  updateHealth();
}

function applyAlert(message) {
  const alert = message.alert;
  if (!alert) return;
  const key = alert.id ?? `${alert.rule}:${JSON.stringify(alert.scope)}`;
  if (message.state === "cleared") state.alerts.delete(key);
  else state.alerts.set(key, alert);
  renderAlerts();
}

// ------------------------------------------------------------- live feed

function connect() {
  clearTimeout(state.reconnectTimer);
  const params = new URLSearchParams({ token: getToken() || "" });
  if (scope.site) params.set("site", scope.site);
  if (scope.queue) params.set("queue", scope.queue);
  let socket;
  try {
    socket = new WebSocket(wsUrl(`/api/v1/live?${params}`));
  } catch {
    scheduleReconnect();
    return;
  }
  state.socket = socket;
  setConn("connecting", "Connecting…");

  socket.addEventListener("message", (event) => {
    if (state.socket !== socket) return;
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return; // not ours to understand; keep the socket
    }
    state.lastSocketMessageAt = Date.now();
    // Any message on a socket that has delivered its snapshot proves the
    // feed is alive, so the data shown is current (the hub sends boards
    // only when something changed).
    if (state.socketLive) state.lastDataAt = state.lastSocketMessageAt;
    if (message.type === "snapshot" || message.type === "board") {
      if (message.type === "snapshot") {
        // The socket works: stop polling and start the next outage's
        // backoff from the beginning.
        state.socketLive = true;
        state.feedLost = false;
        state.backoffMs = BACKOFF_MIN_MS;
        stopPolling();
      }
      state.seq = message.seq ?? state.seq;
      document.body.dataset.seq = String(state.seq ?? "");
      applyBoard(message.board, "live");
    } else if (message.type === "alert") {
      applyAlert(message);
    }
  });

  socket.addEventListener("close", () => {
    if (state.socket !== socket) return;
    state.socket = null;
    state.socketLive = false;
    state.feedLost = true;
    updateHealth();
    startPolling();
    scheduleReconnect();
  });
  // "error" is always followed by "close", which does the work.
}

/**
 * Replaces a socket that went quiet with a fresh one (whose snapshot
 * proves the path works) without raising the "feed lost" alarm: the old
 * socket is detached first, so its close event is ignored.
 */
function reopen() {
  const old = state.socket;
  state.socket = null;
  state.socketLive = false;
  old?.close();
  connect();
}

function scheduleReconnect() {
  clearTimeout(state.reconnectTimer);
  const delay = state.backoffMs * (0.8 + Math.random() * 0.4);
  state.backoffMs = Math.min(BACKOFF_MAX_MS, state.backoffMs * 2);
  state.reconnectTimer = setTimeout(connect, delay);
}

function startPolling() {
  if (state.pollTimer) return;
  pollOnce();
  state.pollTimer = setInterval(pollOnce, POLL_MS);
}

function stopPolling() {
  clearInterval(state.pollTimer);
  state.pollTimer = null;
}

/** One GET /api/v1/board; a 401 sends the display back to the sign-in form. */
async function pollOnce() {
  if (state.polling) return;
  state.polling = true;
  state.lastPollAt = Date.now();
  let board;
  try {
    board = await api("GET", "/api/v1/board");
  } catch (err) {
    if (err.status === 401 || err.status === 403) {
      showLogin(err.status === 401 ? "This token was not accepted. Sign in again." : "This token may not view the board.");
    }
    return; // other failures: the stale banner tells the room
  } finally {
    state.polling = false;
  }
  applyBoard(board, state.socketLive ? "live" : "poll");
}

/** Runs every second: stale banner, connection badge, quiet-socket checks. */
function watchdog() {
  if (!state.started) return;
  const now = Date.now();
  if (state.socketLive) {
    const quiet = now - state.lastSocketMessageAt;
    // A quiet socket may just mean nothing changed; confirm with one REST
    // read before the stale threshold, and reopen a socket that stays
    // silent for long (it may be half-dead behind a proxy).
    if (quiet > QUIET_CHECK_MS && now - state.lastDataAt > QUIET_CHECK_MS && now - state.lastPollAt > POLL_MS) pollOnce();
    if (quiet > QUIET_RECONNECT_MS && state.socket) reopen();
  }
  updateHealth();
}

function updateHealth() {
  const now = Date.now();
  const age = now - Math.max(state.lastDataAt, state.startedAt);
  const stale = age > THRESHOLDS.staleAfterMs;
  const banner = $("stale-banner");
  // "As of" is when the numbers were last known to be current: the hub
  // publishes only changes, so a board computed a while ago is still
  // today's truth as long as the socket (or a poll) says so.
  const asOf = state.lastDataAt ? fmtTime(new Date(state.lastDataAt)) : null;
  const asOfNode = $("as-of");
  if (asOfNode.textContent !== (asOf ?? "—")) {
    asOfNode.textContent = asOf ?? "—";
    asOfNode.dateTime = state.lastDataAt ? new Date(state.lastDataAt).toISOString() : "";
  }
  const since = asOf ? `data as of ${asOf}` : "no data yet";
  if (!state.socketLive && !state.feedLost && !stale) {
    // First connection attempt still under way: no alarm yet.
    setConn("connecting", "Connecting…");
    banner.hidden = true;
  } else if (!state.socketLive) {
    setConn(stale ? "down" : "poll", stale ? "Offline" : "Polling");
    banner.hidden = false;
    banner.dataset.level = stale ? "bad" : "warn";
    banner.textContent = stale
      ? `Live feed lost — ${since}. Reconnecting…`
      : `Live feed lost — updating every ${POLL_MS / 1000} s while reconnecting (${since})`;
  } else if (stale) {
    setConn("down", "No updates");
    banner.hidden = false;
    banner.dataset.level = "bad";
    banner.textContent = `No update for ${Math.round(age / 1000)} s — ${since}`;
  } else {
    setConn("live", "Live");
    banner.hidden = true;
  }
  document.body.classList.toggle("is-stale", stale && state.board !== null);
}

function setConn(kind, text) {
  const conn = $("conn");
  if (conn.dataset.state === kind && $("conn-text").textContent === text) return;
  conn.dataset.state = kind;
  $("conn-text").textContent = text;
}

// ------------------------------------------------------------- sign-in

function showLogin(message) {
  clearToken();
  state.started = false;
  if (state.socket) {
    const s = state.socket;
    state.socket = null;
    s.close();
  }
  state.socketLive = false;
  stopPolling();
  clearTimeout(state.reconnectTimer);
  $("board").hidden = true;
  $("stale-banner").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  setConn("down", "Signed out");
  $("login-token").focus();
}

async function onLogin(event) {
  event.preventDefault();
  const token = $("login-token").value.trim();
  if (!token) {
    $("login-error").textContent = "Enter a token.";
    return;
  }
  setToken(token);
  try {
    await api("GET", "/api/v1/session");
  } catch (err) {
    clearToken();
    $("login-error").textContent = err.status === 401 ? "This token was not accepted." : err.message;
    // Selected, so pasting the right token replaces the wrong one.
    $("login-token").focus();
    $("login-token").select();
    return;
  }
  $("login-token").value = "";
  start();
}

function start() {
  $("login").hidden = true;
  $("board").hidden = false;
  state.started = true;
  state.startedAt = Date.now();
  state.feedLost = false;
  state.backoffMs = BACKOFF_MIN_MS;
  // Paint quickly from REST (also checks the token), and open the socket.
  startPolling();
  connect();
}

function init() {
  adoptTokenFromUrl();
  if (scope.site || scope.queue) {
    const label = scope.site ? `Site: ${scope.site}` : `Queue: ${scope.queue}`;
    $("scope").textContent = label;
    $("scope").hidden = false;
    document.title = `golive — ${label}`;
  }
  // A queue's display shows calls and staffing; ticket tables belong to
  // site and center-wide displays (the hub sends no ticket groups to it).
  $("board").dataset.scope = scope.queue ? "queue" : scope.site ? "site" : "all";
  // Ticket groups are one dimension at a time, so on a site's display the
  // application table still counts every site's tickets: say so.
  if (scope.site) $("apps-sub").textContent = "last 60 min · all sites · by pain";
  buildTiles();
  $("login-form").addEventListener("submit", onLogin);
  setInterval(watchdog, 1000);
  if (getToken()) start();
  else showLogin("");
}

init();
