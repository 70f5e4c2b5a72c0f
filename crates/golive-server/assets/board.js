// board.js — the live board (GET /): signs in with the display token from
// the URL or sessionStorage, follows the WebSocket feed /api/v1/live
// (snapshot, then board updates and alert messages), falls back to polling
// GET /api/v1/board while the socket is down, warns when the data may be
// stale, and renders the severity-1 strip, the alerts as a triage, the
// headline tiles and the application, site and phone-queue tables.
//
// The server cuts the board to this display's scope (`?site=` / `?queue=`)
// and sends the colour thresholds with it (from the alerts' own `[alerts]`
// configuration); this page neither scopes nor decides thresholds. It
// fits the screen: values shrink to their tile and long lists page on
// their own (fit.js), so nothing is ever cut or scrolled.
//
// With ?replay=YYYY-MM-DD the page replays that day instead of following
// the feed (replay.js): each position is the board as of that moment.
//
// The board JSON holds aggregates only; this page never fetches tickets, so
// no ticket text or person names can reach a wall screen.

import {
  adoptTokenFromUrl, getToken, setToken, clearToken, api, wsUrl, h,
  fmtInt, fmtPct, fmtDuration, fmtTime, fmtDecimal, DASH,
} from "/assets/common.js";
import { Pager, overflows, shrinkToFit } from "/assets/fit.js";
import { Replay, dayStart, dayText } from "/assets/replay.js";

/** Polling interval for GET /api/v1/board while the socket is down. */
const POLL_MS = 5_000;
/** Reconnect backoff: first retry after 1 s, doubling up to 30 s (+ jitter). */
const BACKOFF_MIN_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;
/** A socket silent this long gets a REST check (before the stale threshold). */
const QUIET_CHECK_MS = 7_000;
/** A socket silent this long is assumed half-dead and is reopened. */
const QUIET_RECONNECT_MS = 30_000;
/** No fresh data for this long shows the stale banner. */
const STALE_AFTER_MS = 10_000;
/** Time each page of a long list stays on screen. */
const PAGE_TURN_MS = 8_000;
/**
 * Boxes whose lists shrink their type (down to this share) to show every
 * item at once before they page: the severity-1 places and the alerts.
 */
const SHRINK_BEFORE_PAGING = { "sev1-list": 0.7, "alerts-box": 0.8 };
/** Places a group of alerts names before "+N more" (worst first). */
const GROUP_PLACES = 3;
/** Trend shown in sparklines: the last two hours of per-minute points. */
const TREND_POINTS = 120;

// ---------------------------------------------------------------- state

const page = new URL(window.location.href);
const scope = {
  site: page.searchParams.get("site")?.trim() || null,
  queue: page.searchParams.get("queue")?.trim() || null,
};
const scopeKind = scope.queue ? "queue" : scope.site ? "site" : "all";
/** The day being replayed (`?replay=YYYY-MM-DD`; bare `?replay` is today), or null when live. */
const replayDay = page.searchParams.has("replay")
  ? dayStart(page.searchParams.get("replay")) ?? dayStart(dayText(Date.now()))
  : null;
/** Trend blocks of a known issue, lowest to highest. */
const BLOCKS = "▁▂▃▄▅▆▇█";

const state = {
  board: null, // last board received (scoped by the server)
  alerts: new Map(), // alert id → alert, kept current by boards + alert messages
  seq: null,
  clockOffsetMs: 0, // server clock − this display's clock, from `as_of`
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
  layouts: 0,
  replayAt: null, // in replay: the moment shown (the board's as_of)
};

const $ = (id) => document.getElementById(id);

const pagers = {};

// ------------------------------------------------------------- colours

/** "ok" / "warn" / "bad" for a value against {warn, bad} (strictly above). */
function levelAbove(value, level) {
  if (value === null || value === undefined || !level) return "none";
  if (value > level.bad) return "bad";
  if (value > level.warn) return "warn";
  return "ok";
}

/** Call-rate colours only once enough calls make the rate mean something. */
function callLevel(calls, value, level, thresholds) {
  if (!calls || (calls.offered ?? 0) < (thresholds?.min_calls ?? 0)) return "none";
  return levelAbove(value, level);
}

function serviceLevelState(sl, target) {
  if (sl === null || sl === undefined) return "none";
  return sl < target ? "warn" : "ok";
}

// ------------------------------------------------------------- time

/** The server's "now", from this display's clock and the last board. */
function serverNow() {
  return state.replayAt ?? Date.now() + state.clockOffsetMs;
}

/** "12 min", "3 h 5 m": how long since an RFC 3339 time, on the server clock. */
function ageOf(since) {
  const then = Date.parse(since);
  if (Number.isNaN(then)) return DASH;
  return fmtDuration(Math.max(0, (serverNow() - then) / 1000), true);
}

// ------------------------------------------------------------- tiles

const EMPTY_T = {
  opened: 0, resolved: 0, reopened: 0, escalated: 0, backlog: 0,
  resolution_rate: null, first_contact_resolution_rate: null,
  mttr_seconds: { mean: null, p50: null, p90: null },
};
const EMPTY_C = {
  offered: 0, answered: 0, abandoned: 0, abandonment_rate: null,
  service_level: null, asa_seconds: null, aht_seconds: null,
};
const tickets = (b, w) => b.windows?.[w]?.tickets ?? EMPTY_T;
const calls = (b, w) => b.windows?.[w]?.calls ?? EMPTY_C;

/*
 * Each tile: id (→ #tile-ID, data-testid "tile-ID", value in
 * data-testid "tile-ID-value" with the raw number in data-value), label,
 * window (the span the number covers; empty for "right now"), scopes (the
 * displays that show it), spark (trend field drawn under the value), and
 * compute(board) → {value, text, state, sub}.
 */
const TILES = [
  {
    id: "backlog", label: "Open backlog", window: "", scopes: ["all", "site"],
    compute(b) {
      const t = tickets(b, "60m");
      const bySev = b.backlog_by_severity || {};
      const sub = ["1", "2", "3", "4"].map((s) => `S${s} ${fmtInt(bySev[s] ?? 0)}`).join(" · ");
      return { value: t.backlog, text: fmtInt(t.backlog), state: "none", sub };
    },
  },
  {
    id: "sev1", label: "Severity 1 open", window: "", scopes: ["all", "site"],
    compute(b) {
      const n = b.open_sev1 ?? 0;
      const places = (b.sev1 || []).length;
      const state = b.thresholds?.sev1_open === false ? "none" : n > 0 ? "bad" : "ok";
      return { value: n, text: fmtInt(n), state, sub: n ? `at ${fmtInt(places)} place${places === 1 ? "" : "s"}` : "patient safety" };
    },
  },
  {
    id: "opened", label: "Opened", window: "60m", spark: "opened", scopes: ["all", "site"],
    compute(b) {
      const t = tickets(b, "60m");
      return { value: t.opened, text: fmtInt(t.opened), state: "none", sub: `15 min: ${fmtInt(tickets(b, "15m").opened)}` };
    },
  },
  {
    id: "resolved", label: "Resolved", window: "60m", spark: "resolved", scopes: ["all", "site"],
    compute(b) {
      const t = tickets(b, "60m");
      return { value: t.resolved, text: fmtInt(t.resolved), state: "none", sub: `15 min: ${fmtInt(tickets(b, "15m").resolved)}` };
    },
  },
  {
    id: "resolution-rate", label: "Resolved / opened", window: "60m", scopes: ["all", "site"],
    compute(b) {
      const t = tickets(b, "60m");
      return { value: t.resolution_rate, text: fmtPct(t.resolution_rate), state: "none", sub: `MTTR p50 ${fmtDuration(t.mttr_seconds?.p50, true)}` };
    },
  },
  {
    id: "aging", label: "Open over 1 h", window: "", scopes: ["all", "site"],
    compute(b) {
      const a = b.aging || {};
      const oldest = a.oldest_opened_at ? `oldest ${ageOf(a.oldest_opened_at)}` : "none open";
      return { value: a.over_1h ?? 0, text: fmtInt(a.over_1h ?? 0), state: "none", sub: `>4 h ${fmtInt(a.over_4h ?? 0)} · >24 h ${fmtInt(a.over_24h ?? 0)} · ${oldest}` };
    },
  },
  {
    id: "tier", label: "Tier 2/3 open", window: "", scopes: ["all", "site"],
    compute(b) {
      const e = b.escalations || {};
      const n = (e.tier_2 ?? 0) + (e.tier_3 ?? 0);
      const oldest = e.oldest_opened_at ? ` · oldest ${ageOf(e.oldest_opened_at)}` : "";
      return { value: n, text: fmtInt(n), state: "none", sub: `T2 ${fmtInt(e.tier_2 ?? 0)} · T3 ${fmtInt(e.tier_3 ?? 0)} · escalated ${fmtInt(e.status_escalated ?? 0)}${oldest}` };
    },
  },
  {
    id: "golive", label: "Since go-live", window: "", scopes: ["all", "site"],
    compute(b) {
      const w = b.windows?.since_go_live;
      if (!b.go_live || !w) return { value: null, text: DASH, state: "none", sub: "go_live_start not set" };
      const t = w.tickets ?? EMPTY_T;
      const c = w.calls ? ` · calls ${fmtInt(w.calls.offered)}` : "";
      return { value: t.opened, text: fmtInt(t.opened), state: "none", sub: `opened · resolved ${fmtInt(t.resolved)}${c}` };
    },
  },
  {
    id: "calls-waiting", label: "Calls waiting", window: "", scopes: ["all", "queue"],
    compute(b) {
      const total = Object.values(b.calls_waiting || {}).reduce((a, n) => a + (Number(n) || 0), 0);
      return { value: total, text: fmtInt(total), state: "none", sub: `offered 60 min: ${fmtInt(calls(b, "60m").offered)}` };
    },
  },
  {
    id: "service-level", label: "Service level", window: "15m", spark: "offered", scopes: ["all", "queue"],
    compute(b) {
      const c = calls(b, "15m");
      const target = serviceLevelTarget(b);
      return {
        value: c.service_level, text: fmtPct(c.service_level),
        state: c.offered >= (b.thresholds?.min_calls ?? 0) ? serviceLevelState(c.service_level, target) : "none",
        sub: `target ${fmtPct(target)} in ${fmtDuration(answerTarget(b))}`,
      };
    },
  },
  {
    id: "abandonment", label: "Abandoned", window: "15m", spark: "abandoned", scopes: ["all", "queue"],
    compute(b) {
      const c = calls(b, "15m");
      return {
        value: c.abandonment_rate, text: fmtPct(c.abandonment_rate),
        state: callLevel(c, c.abandonment_rate, b.thresholds?.abandonment_rate, b.thresholds),
        sub: `${fmtInt(c.abandoned)} of ${fmtInt(c.offered)} calls`,
      };
    },
  },
  {
    id: "asa", label: "Speed of answer", window: "15m", scopes: ["all", "queue"],
    compute(b) {
      const c = calls(b, "15m");
      return {
        value: c.asa_seconds, text: fmtDuration(c.asa_seconds),
        state: callLevel(c, c.asa_seconds, b.thresholds?.asa_seconds, b.thresholds),
        sub: `handle ${fmtDuration(c.aht_seconds, true)}`,
      };
    },
  },
];

/** The strictest service-level target among the queues shown. */
function serviceLevelTarget(b) {
  const targets = (b.staffing || []).map((q) => q.service_level_target).filter((t) => typeof t === "number");
  return targets.length ? Math.max(...targets) : 0.8;
}

/** The shortest answer target (seconds) among the queues shown. */
function answerTarget(b) {
  const targets = (b.staffing || []).map((q) => q.answer_target_seconds).filter((t) => typeof t === "number");
  return targets.length ? Math.min(...targets) : 20;
}

const SPARK_LABELS = {
  opened: "tickets opened per minute",
  resolved: "tickets resolved per minute",
  offered: "calls offered per minute",
  abandoned: "calls abandoned per minute",
};

const shownTiles = () => TILES.filter((t) => t.scopes.includes(scopeKind));

function buildTiles() {
  const root = $("tiles");
  root.replaceChildren($("tiles-title") || h("h2", { id: "tiles-title", class: "visually-hidden", text: "Headline numbers" }));
  for (const tile of shownTiles()) {
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
  for (const tile of shownTiles()) {
    const r = tile.compute(b);
    const node = $(`tile-${tile.id}`);
    node.dataset.state = r.state;
    const value = $(`tile-${tile.id}-value`);
    if (value.textContent !== r.text) value.textContent = r.text;
    value.dataset.value = r.value === null || r.value === undefined ? "null" : String(r.value);
    const sub = $(`tile-${tile.id}-sub`);
    if (sub.textContent !== (r.sub || "")) sub.textContent = r.sub || "";
    if (tile.spark) renderSpark($(`tile-${tile.id}-spark`), b, tile.spark);
  }
}

// ------------------------------------------------------------- sparklines

const SVG_NS = "http://www.w3.org/2000/svg";

function svgEl(tag, attrs = {}) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

/**
 * Per-minute values of `field` over the last two hours, ending at the
 * minute holding the server's "now": drawn from the clock, so the line
 * moves on even while no new board arrives (boards are sent on change).
 */
function trendSeries(b, field) {
  const points = Array.isArray(b.trend?.points) ? b.trend.points : [];
  const byMinute = new Map(points.map((p) => [Math.floor(Date.parse(p.at) / 60000), Number(p[field]) || 0]));
  const last = Math.floor((serverNow() - 1) / 60000);
  const values = [];
  for (let m = last - TREND_POINTS + 1; m <= last; m += 1) values.push(byMinute.get(m) ?? 0);
  return values;
}

/** Draws a filled line sparkline into an inline SVG (viewBox 120×30). */
function renderSpark(svg, b, field) {
  const values = trendSeries(b, field);
  svg.replaceChildren();
  const max = Math.max(1, ...values);
  const total = values.reduce((a, v) => a + v, 0);
  const title = svgEl("title");
  title.textContent = `${SPARK_LABELS[field]}, last 2 h: ${total} in all, at most ${max} a minute`;
  svg.append(title);
  svg.setAttribute("aria-label", title.textContent);
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
  return h("span", {
    class: "badge badge-surge",
    "data-testid": "surge",
    title: `Surge: ${surge.last_15m} in the last 15 min against a baseline of ${fmtDecimal(surge.baseline_15m)}`,
  }, `▲ ×${fmtDecimal(surge.ratio)}`);
}

/** Replaces a table's bodies with `bodies` and pages them in their box. */
function fillTable(tableId, pagerId, bodies) {
  const table = $(tableId);
  for (const old of [...table.tBodies]) old.remove();
  table.append(...bodies);
  pagers[pagerId].items = bodies;
}

function groupRows(b, dimension, extraCells, colspan, emptyText) {
  const groups = b.windows?.["60m"]?.tickets_by?.[dimension] || {};
  const rows = Object.entries(groups).sort(byPain);
  if (!rows.length) {
    return [h("tbody", {}, h("tr", { class: "empty" }, h("td", { colspan, text: emptyText })))];
  }
  return rows.map(([name, t]) => h("tbody", {},
    h("tr", { dataset: { name } },
      h("th", { scope: "row", class: "name" }, name, surgeBadge(b, dimension, name)),
      h("td", { class: "num", text: fmtInt(t.opened) }),
      h("td", { class: "num", text: fmtInt(t.resolved) }),
      h("td", { class: `num backlog${t.backlog > 0 ? " strong" : ""}`, text: fmtInt(t.backlog) }),
      h("td", { class: "num", text: fmtDuration(t.mttr_seconds?.p50, true) }),
      ...extraCells(name),
    )));
}

function renderApps(b) {
  const forecast = new Map((b.forecast || []).map((f) => [f.application, f]));
  fillTable("apps-table", "apps", groupRows(b, "application", (name) => {
    const f = forecast.get(name);
    return [h("td", { class: "num muted", title: f ? `forecast method: ${f.method}` : null, text: f ? fmtInt(Math.round(f.tickets_next_60m)) : DASH })];
  }, 6, "No tickets in the last hour"));
}

function renderSites(b) {
  const ate = new Map((b.ate || []).map((a) => [a.site, a]));
  fillTable("sites-table", "sites", groupRows(b, "site", (name) => {
    const a = ate.get(name);
    return [h("td", {
      class: "num strong",
      title: a ? `${fmtDecimal(a.tickets_per_hour)} at-the-elbow tickets an hour; ${fmtInt(a.roaming_staff)} roaming` : null,
      text: a ? fmtInt(a.recommended_staff) : DASH,
    })];
  }, 6, "No tickets in the last hour"));
}

/** The open known issues with the most tickets in the last hour. */
function renderKnown(b) {
  const lines = b.known_issues || [];
  if (!lines.length) {
    fillTable("known-table", "known", [h("tbody", {}, h("tr", { class: "empty" }, h("td", { colspan: 4, text: "No open known issues" })))]);
    return;
  }
  fillTable("known-table", "known", lines.map((k) => {
    const max = Math.max(1, ...k.trend);
    const blocks = k.trend.map((n) => BLOCKS[Math.round((n / max) * (BLOCKS.length - 1))]).join("");
    const rising = k.tickets > k.previous ? "▲" : k.tickets < k.previous ? "▼" : "";
    return h("tbody", {},
      h("tr", { dataset: { id: k.id } },
        h("th", { scope: "row", class: "name" }, k.title, k.application ? h("span", { class: "known-app", text: k.application }) : null),
        h("td", { class: `num strong`, "data-testid": "known-tickets", text: fmtInt(k.tickets) }),
        h("td", { class: "num muted", text: `${fmtInt(k.previous)} ${rising}`.trim() }),
        h("td", { class: "num known-trend", title: `per 10 min: ${k.trend.join(", ")}`, text: blocks }),
      ));
  }));
}

function gapCell(q, thresholds) {
  const delta = q.delta;
  if (delta === null || delta === undefined || Number.isNaN(delta)) return h("td", { class: "num", text: DASH });
  if (delta > 0) {
    const level = thresholds?.agents_short;
    const cls = level && delta >= level.bad ? "state-bad" : level && delta >= level.warn ? "state-warn" : "";
    return h("td", { class: `num ${cls}`, "data-testid": "queue-short" }, `short ${fmtInt(delta)}`);
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

function renderQueues(b) {
  const queues = [...(b.staffing || [])].sort((a, z) => (z.delta ?? 0) - (a.delta ?? 0) || a.queue.localeCompare(z.queue));
  const waiting = b.calls_waiting || {};
  const first = queues[0];
  if (first) {
    $("queues-sub").textContent = `last ${fmtInt(Math.round(first.interval_seconds / 60))} min, ${fmtTime(first.interval_from).slice(0, 5)}–${fmtTime(first.interval_to).slice(0, 5)}`;
  }
  const bodies = queues.map((q) => {
    const sl = q.expected_service_level_now;
    const slState = serviceLevelState(sl, q.service_level_target ?? 0.8);
    const measured = q.measured_service_level;
    const next = q.forecast ? ` Next hour: ~${fmtInt(Math.round(q.forecast.calls_next_60m))} calls need ${fmtInt(q.forecast.required_agents)}.` : "";
    return h("tbody", { class: "queue", dataset: { name: q.queue } },
      h("tr", { dataset: { name: q.queue } },
        h("th", { scope: "row", class: "name", text: q.queue }),
        h("td", { class: "num", text: fmtInt(waiting[q.queue] ?? 0) }),
        h("td", { class: "num", text: fmtInt(q.agents_staffed) }),
        h("td", { class: "num", text: fmtInt(q.required_agents) }),
        erlangACell(q.erlang_a),
        gapCell(q, b.thresholds),
        h("td", { class: `num state-${slState}`, title: `target ${fmtPct(q.service_level_target)} in ${fmtDuration(q.answer_target_seconds)}`, text: fmtPct(sl) }),
        h("td", { class: `num state-${serviceLevelState(measured, q.service_level_target ?? 0.8)}`, text: fmtPct(measured) }),
      ),
      h("tr", { class: "explain" },
        h("td", { colspan: 8, "data-testid": "queue-explanation", text: `${q.explanation}${next}` })),
    );
  });
  if (!bodies.length) bodies.push(h("tbody", {}, h("tr", { class: "empty" }, h("td", { colspan: 8, text: "No phone queues yet" }))));
  fillTable("staffing-table", "queues", bodies);
}

// ------------------------------------------------------------- alerts

const SEVERITY_TEXT = { critical: "CRITICAL", warning: "WARNING" };

function ackText(ack) {
  if (!ack) return "";
  const note = ack.note ? `: ${ack.note}` : "";
  return `✓ ${ack.by} ${fmtTime(ack.at).slice(0, 5)}${note}`;
}

function sinceText(alert) {
  const since = alert.since || alert.raised_at;
  return since ? `for ${ageOf(since)} (since ${fmtTime(since).slice(0, 5)})` : "";
}

/** Where an alert holds, in words: "Main Campus · MAR". */
function place(alert) {
  const s = alert.scope || {};
  return [s.site, s.application, s.queue].filter(Boolean).join(" · ");
}

function alertItem(alert) {
  const severity = alert.severity === "critical" ? "critical" : "warning";
  const acked = Boolean(alert.acknowledged);
  return h("li", {
    class: `alert alert-${severity}${acked ? " is-acked" : ""}`,
    "data-testid": "alert",
    dataset: { rule: alert.rule ?? "", id: alert.id ?? "", acknowledged: acked ? "true" : "false" },
  },
  h("span", { class: "alert-sev", text: acked ? "ACKED" : SEVERITY_TEXT[severity] }),
  h("span", { class: "alert-msg", text: alert.message ?? alert.rule ?? "alert" }),
  h("span", { class: "alert-since", "data-since": alert.since || alert.raised_at || "", text: sinceText(alert) }),
  acked ? h("span", { class: "alert-ack", "data-testid": "alert-ack", text: ackText(alert.acknowledged) }) : null);
}

/** One line for several alerts of a rule, each named with its figure. */
function groupItem(group, members) {
  const severity = group.severity === "critical" ? "critical" : "warning";
  const allAcked = group.acknowledged === group.count;
  // Severity-1 places are in the strip above, each with its own time.
  // The worst three by name, then how many more: the group says where
  // without taking the whole strip.
  const places = members.map((a) => place(a) || a.id);
  const shown = places.slice(0, GROUP_PLACES);
  if (places.length > shown.length) shown.push(`+${places.length - shown.length} more`);
  const where = group.rule === "sev1_open" ? "" : shown.join(" · ");
  return h("li", {
    class: `alert alert-${severity}${allAcked ? " is-acked" : ""}`,
    "data-testid": "alert",
    dataset: { rule: group.rule, group: String(group.count), id: members.map((a) => a.id).join("|") },
  },
  h("span", { class: "alert-sev", text: allAcked ? "ACKED" : SEVERITY_TEXT[severity] }),
  h("span", { class: "alert-msg", text: group.summary }),
  h("span", { class: "alert-since", "data-since": group.since, text: `for ${ageOf(group.since)} (since ${fmtTime(group.since).slice(0, 5)})` }),
  group.acknowledged ? h("span", { class: "alert-ack", text: `✓ ${group.acknowledged} of ${group.count} acknowledged` }) : null,
  where ? h("span", { class: "alert-where", text: where }) : null);
}

function renderSev1(b) {
  const groups = b.sev1 || [];
  $("sev1").hidden = !groups.length;
  const items = groups.map((g) => {
    const alert = state.alerts.get(`sev1_open:${g.site}:${g.application}`);
    const ack = alert?.acknowledged;
    return h("li", { class: `sev1-item${ack ? " is-acked" : ""}`, "data-testid": "sev1-item", dataset: { site: g.site, application: g.application } },
      h("span", { class: "tag", text: "SEV-1" }),
      h("span", { class: "what", text: `${g.application} · ${g.site}` }),
      h("span", { class: "for", "data-since": g.since, text: `${fmtInt(g.open)} open · for ${ageOf(g.since)}` }),
      ack ? h("span", { class: "ack", text: ackText(ack) }) : null);
  });
  $("sev1-list").replaceChildren(...items);
  pagers.sev1.items = items;
}

function renderAlerts(b) {
  const alerts = [...state.alerts.values()];
  const groups = Array.isArray(b?.alert_groups) ? b.alert_groups : [];
  const grouped = new Set(groups.flatMap((g) => g.ids));
  const byId = new Map(alerts.map((a) => [a.id, a]));
  // Triage order: the server's order, a group standing where its first
  // alert stands.
  const items = [];
  const placed = new Set();
  for (const alert of alerts) {
    if (!grouped.has(alert.id)) {
      items.push(alertItem(alert));
      continue;
    }
    const group = groups.find((g) => g.ids.includes(alert.id));
    if (group && !placed.has(group.rule)) {
      placed.add(group.rule);
      items.push(groupItem(group, group.ids.map((id) => byId.get(id)).filter(Boolean)));
    }
  }
  $("alerts").dataset.count = String(alerts.length);
  const critical = alerts.filter((a) => a.severity === "critical").length;
  $("alerts-sub").textContent = alerts.length ? `${fmtInt(alerts.length)} active · ${fmtInt(critical)} critical` : "";
  const status = alerts.length ? `${alerts.length} active alerts, ${critical} critical` : "No active alerts";
  if ($("alerts-status").textContent !== status) $("alerts-status").textContent = status;
  $("alerts-none").hidden = alerts.length > 0;
  $("alert-list").replaceChildren(...items);
  pagers.alerts.items = items;
}

// ------------------------------------------------------------- layout

/**
 * Fits everything to the screen: tile texts shrink to their tile, tables
 * to their panel's width, then every list is paged to its box. Runs after
 * each board and on every resize; `data-layout` tells tests it is done.
 */
function layout() {
  if (!state.board) return;
  for (const tile of document.querySelectorAll(".tile")) {
    const value = tile.querySelector(".tile-value");
    tile.style.fontSize = "";
    // The value takes the room the label, the line under it and the
    // sparkline leave, and shrinks to it; the rest shrinks only if even
    // that does not fit.
    shrinkToFit(value, value, 0.15);
    shrinkToFit(tile, tile, 0.5);
  }
  for (const pager of Object.values(pagers)) {
    for (const item of pager.items) item.hidden = false;
    const content = pager.box.matches("ul") ? pager.box : pager.box.querySelector("table, ul");
    if (content) {
      // Wide enough for every row's columns: shrink while the box
      // overflows sideways (rows are paged, so height does not count yet).
      content.style.fontSize = "";
      shrinkWidth(pager.box, content);
      // Lists better seen at once (the severity-1 places, the alerts) first
      // take somewhat smaller type before they page.
      const least = SHRINK_BEFORE_PAGING[pager.box.id];
      if (least) shrinkToFit(pager.box, content, least);
    }
    pager.layout();
    // A page of one item still too big for its box: smaller text.
    if (content && overflows(pager.box)) {
      shrinkToFit(pager.box, content, 0.5);
      pager.layout();
    }
    for (const item of pager.items) {
      if (!item.hidden && item.matches(".alert, .sev1-item")) shrinkToFit(item, item, 0.6);
    }
  }
  state.layouts += 1;
  document.body.dataset.layout = `${window.innerWidth}x${window.innerHeight}:${state.layouts}`;
}

/** Shrinks `target`'s text while `box` overflows sideways. */
function shrinkWidth(box, target) {
  const wide = () => box.scrollWidth > box.clientWidth + 1;
  if (!wide()) return;
  const base = parseFloat(getComputedStyle(target).fontSize) || 16;
  let scale = 1;
  while (wide() && scale > 0.4) {
    scale *= 0.92;
    target.style.fontSize = `${(base * scale).toFixed(2)}px`;
  }
}

function turnPages() {
  for (const pager of Object.values(pagers)) pager.next();
}

/** Durations ("for 12 min") follow the clock between boards. */
function refreshAges() {
  for (const node of document.querySelectorAll("[data-since]")) {
    const since = node.dataset.since;
    if (!since) continue;
    const text = node.textContent;
    node.textContent = text.replace(/for [^(·]+?(?= \(| ·|$)/, `for ${ageOf(since)}`);
  }
}

// ------------------------------------------------------------- rendering

/**
 * Shows a board. `fresh`: it was computed just now (a pushed update or a
 * REST answer, not a snapshot that may have waited since the last change),
 * so its `as_of` sets this display's clock to the server's.
 */
function applyBoard(board, source, fresh) {
  if (!state.started || !board || typeof board !== "object") return;
  state.board = board;
  state.lastDataAt = Date.now();
  const asOf = Date.parse(board.as_of);
  if (!Number.isNaN(asOf) && fresh) state.clockOffsetMs = asOf - Date.now();
  // The board's alert list is the authoritative set; alert messages in
  // between only make the strip react faster.
  if (Array.isArray(board.alerts)) state.alerts = new Map(board.alerts.map((a) => [a.id, a]));
  document.body.dataset.source = source;
  renderGoLive(board);
  renderTiles(board);
  renderSev1(board);
  renderAlerts(board);
  if (scopeKind !== "queue") {
    renderApps(board);
    renderSites(board);
    renderKnown(board);
  }
  if (scopeKind !== "site") renderQueues(board);
  layout();
  updateHealth();
}

function renderGoLive(b) {
  const node = $("golive-day");
  if (!b.go_live) {
    node.hidden = true;
    return;
  }
  node.hidden = false;
  const start = new Date(b.go_live.start);
  const text = `since ${start.toLocaleDateString(undefined, { month: "short", day: "numeric" })} ${fmtTime(start).slice(0, 5)}`;
  node.replaceChildren(h("strong", { text: `Day ${b.go_live.day} of go-live` }), ` · ${text}`);
}

function applyAlert(message) {
  const alert = message.alert;
  if (!alert || !alert.id) return;
  if (message.state === "cleared") state.alerts.delete(alert.id);
  else state.alerts.set(alert.id, alert);
  if (!state.board) return;
  renderSev1(state.board);
  renderAlerts(state.board);
  layout();
}

// ------------------------------------------------------------- live feed

function scopeParams(params) {
  if (scope.site) params.set("site", scope.site);
  if (scope.queue) params.set("queue", scope.queue);
  return params;
}

function connect() {
  clearTimeout(state.reconnectTimer);
  const params = scopeParams(new URLSearchParams({ token: getToken() || "" }));
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
      applyBoard(message.board, "live", message.type === "board");
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
  if (!state.started) return;
  clearTimeout(state.reconnectTimer);
  const delay = state.backoffMs * (0.8 + Math.random() * 0.4);
  state.backoffMs = Math.min(BACKOFF_MAX_MS, state.backoffMs * 2);
  state.reconnectTimer = setTimeout(connect, delay);
}

function startPolling() {
  if (state.pollTimer || !state.started) return;
  pollOnce();
  state.pollTimer = setInterval(pollOnce, POLL_MS);
}

function stopPolling() {
  clearInterval(state.pollTimer);
  state.pollTimer = null;
}

/**
 * One GET /api/v1/board for this scope; a 401 sends the display back to
 * the sign-in form, a 404 says the scope is unknown (and stops trying).
 */
async function pollOnce() {
  if (state.polling) return;
  state.polling = true;
  state.lastPollAt = Date.now();
  let board;
  try {
    board = await api("GET", `/api/v1/board?${scopeParams(new URLSearchParams())}`);
  } catch (err) {
    if (err.status === 401 || err.status === 403) {
      showLogin(err.status === 401 ? "This token was not accepted. Sign in again." : "This token may not view the board.");
    } else if (err.status === 404 || err.status === 422) {
      showScopeError(err.message);
    }
    return; // other failures: the stale banner tells the room
  } finally {
    state.polling = false;
  }
  applyBoard(board, state.socketLive ? "live" : "poll", true);
}

/** The display's address names a site or queue the server does not know. */
function showScopeError(detail) {
  stop();
  const what = scope.site ? `site “${scope.site}”` : `queue “${scope.queue}”`;
  $("scope-error").textContent = `This display is set to show the ${what}, which golive does not know (${detail}). Check the spelling in this screen's address.`;
  $("scope-error").hidden = false;
  $("board").hidden = true;
  setConn("down", "Unknown scope");
}

/** Runs every second: stale banner, connection badge, quiet-socket checks. */
function watchdog() {
  if (!state.started || replayDay !== null) return;
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
  // A replay is not live, so not stale either: its moment is in the bar.
  if (replayDay !== null) return;
  const now = Date.now();
  const age = now - Math.max(state.lastDataAt, state.startedAt);
  const stale = age > STALE_AFTER_MS;
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
  const wasShown = !banner.hidden;
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
  // The banner takes height from the board: lay it out again.
  if (wasShown !== !banner.hidden) layout();
}

function setConn(kind, text) {
  const conn = $("conn");
  if (conn.dataset.state === kind && $("conn-text").textContent === text) return;
  conn.dataset.state = kind;
  $("conn-text").textContent = text;
}

// ------------------------------------------------------------- sign-in

function stop() {
  state.started = false;
  if (state.socket) {
    const s = state.socket;
    state.socket = null;
    s.close();
  }
  state.socketLive = false;
  stopPolling();
  clearTimeout(state.reconnectTimer);
}

function showLogin(message) {
  clearToken();
  stop();
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
  if (replayDay !== null) {
    startReplay();
    return;
  }
  state.startedAt = Date.now();
  state.feedLost = false;
  state.backoffMs = BACKOFF_MIN_MS;
  // Paint quickly from REST, which also checks the token and the scope;
  // then open the socket (not for a scope the server does not know).
  pollOnce().then(() => {
    if (!state.started) return;
    connect();
    if (!state.socketLive) startPolling();
  });
}

// ------------------------------------------------------------- replay

/** Replay mode: no feed; each slider position fetches the board as of then. */
function startReplay() {
  document.body.classList.add("is-replay");
  $("replay-bar").hidden = false;
  setConn("poll", "Replay");
  document.title = `golive — REPLAY ${dayText(replayDay)}`;
  const replay = new Replay({
    day: $("replay-day"), slider: $("replay-slider"), play: $("replay-play"),
    speed: $("replay-speed"), time: $("replay-time"),
  }, replayDay, showAsOf);
  replay.seek(replayDay);
}

/** Fetches and shows the board as of `atMs`. */
async function showAsOf(atMs) {
  const params = scopeParams(new URLSearchParams({ as_of: new Date(atMs).toISOString() }));
  let board;
  try {
    board = await api("GET", `/api/v1/board?${params}`);
  } catch (err) {
    if (err.status === 401 || err.status === 403) showLogin("This token was not accepted. Sign in again.");
    else if (err.status === 404) showScopeError(err.message);
    return; // 422: a moment the server does not have yet; the next one will do
  }
  if (!state.started) return;
  state.replayAt = Date.parse(board.as_of);
  applyBoard(board, "replay", false);
  const asOf = $("as-of");
  asOf.textContent = fmtTime(new Date(state.replayAt));
  asOf.dateTime = board.as_of;
  document.body.dataset.asOf = board.as_of;
}

function init() {
  adoptTokenFromUrl();
  if (scope.site || scope.queue) {
    const label = scope.site ? `Site: ${scope.site}` : `Queue: ${scope.queue}`;
    $("scope").textContent = label;
    $("scope").hidden = false;
    document.title = `golive — ${label}`;
  }
  $("board").dataset.scope = scopeKind;
  if (scope.site) $("apps-sub").textContent = "this site · last 60 min · by pain";
  pagers.sev1 = new Pager($("sev1-list"), $("sev1-page"));
  pagers.alerts = new Pager($("alerts-box"), $("alerts-page"));
  pagers.apps = new Pager($("apps-box"), $("apps-page"));
  pagers.sites = new Pager($("sites-box"), $("sites-page"));
  pagers.queues = new Pager($("queues-box"), $("queues-page"));
  pagers.known = new Pager($("known-box"), $("known-page"));
  const replayLink = scopeParams(new URLSearchParams({ replay: dayText(Date.now()) }));
  $("replay-link").href = `/?${replayLink}`;
  $("replay-link").hidden = replayDay !== null;
  $("replay-exit").href = `/?${scopeParams(new URLSearchParams())}`;
  buildTiles();
  $("login-form").addEventListener("submit", onLogin);
  setInterval(watchdog, 1000);
  setInterval(turnPages, PAGE_TURN_MS);
  setInterval(refreshAges, 30_000);
  let resizing = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(layout, 100);
  });
  if (getToken()) start();
  else showLogin("");
}

init();
