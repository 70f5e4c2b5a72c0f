// lead.js — the lead's page (GET /lead): signs in with a lead or admin
// token (sessionStorage only), then
// - lists the active alerts (from GET /api/v1/board) and acknowledges one
//   with a note (POST /api/v1/alerts/{id}/ack);
// - edits each phone queue's agents staffed and targets (PUT
//   /api/v1/queues/{queue});
// - creates a display token for a wall screen (POST /api/v1/tokens) and
//   shows its kiosk URL and a QR code of it (POST /api/v1/qr, an SVG);
// - lists tokens and revokes them (DELETE /api/v1/tokens/{id});
// - keeps the known issues: adds one (POST /api/v1/known-issues), edits its
//   workaround, resolves or reopens it (PATCH /api/v1/known-issues/{id}),
//   and shows whether tickets stopped after a resolution.
// Everything is a form control or a button, so the page works by keyboard.

import { adoptTokenFromUrl, getToken, setToken, clearToken, api, h, fmtTime, DASH } from "/assets/common.js";

/** The lists refresh this often (alerts change on their own). */
const REFRESH_MS = 5_000;
/** An acknowledgement is on the boards within a push interval (1 s). */
const ACK_SHOWN_MS = 1_500;

const $ = (id) => document.getElementById(id);
let refreshTimer = null;
let role = null;
let kioskObjectUrl = null;

function status(text, kind = "ok") {
  const node = $("status");
  node.textContent = text;
  node.dataset.kind = kind;
}

// ------------------------------------------------------------- alerts

function renderAlerts(alerts) {
  $("alerts-count").textContent = alerts.length ? `${alerts.length}` : "";
  $("alerts-empty").hidden = alerts.length > 0;
  // Keep a note being typed: rebuild only rows whose alert changed.
  const list = $("lead-alerts");
  const existing = new Map([...list.children].map((li) => [li.dataset.id, li]));
  const rows = alerts.map((alert) => {
    const signature = JSON.stringify([alert.message, alert.severity, alert.acknowledged ?? null]);
    const old = existing.get(alert.id);
    if (old && old.dataset.signature === signature) return old;
    const noteId = `note-${btoa(unescape(encodeURIComponent(alert.id))).replace(/[^a-z0-9]/gi, "")}`;
    const ack = alert.acknowledged;
    return h("li", { class: `lead-alert alert-${alert.severity}${ack ? " is-acked" : ""}`, "data-testid": "lead-alert", dataset: { id: alert.id, signature } },
      h("p", { class: "lead-alert-msg" }, h("strong", { text: alert.severity === "critical" ? "Critical: " : "Warning: " }), alert.message),
      h("p", { class: "panel-sub", text: `since ${fmtTime(alert.since || alert.raised_at)}${ack ? ` · acknowledged by ${ack.by} at ${fmtTime(ack.at)}${ack.note ? `: ${ack.note}` : ""}` : ""}` }),
      h("form", { class: "inline-form", onsubmit: (event) => acknowledge(event, alert.id, noteId) },
        h("label", { for: noteId, text: "Note" }),
        h("input", { id: noteId, maxlength: 500, "data-testid": "ack-note" }),
        h("button", { type: "submit", class: "btn", "data-testid": "ack" }, ack ? "Acknowledge again" : "Acknowledge")));
  });
  list.replaceChildren(...rows);
}

async function acknowledge(event, id, noteId) {
  event.preventDefault();
  const note = $(noteId)?.value ?? "";
  try {
    await api("POST", `/api/v1/alerts/${encodeURIComponent(id)}/ack`, { note });
    status("Alert acknowledged: every display shows it dimmed.");
    // The boards carry it from the next push on.
    setTimeout(() => refresh().catch(() => {}), ACK_SHOWN_MS);
  } catch (err) {
    status(err.message, "error");
  }
}

// ------------------------------------------------------------- queues

const QUEUE_FIELDS = [
  { key: "agents_staffed", label: "Agents staffed", scale: 1, step: "1", min: 0 },
  { key: "answer_target_seconds", label: "Answer target (s)", scale: 1, step: "1", min: 1 },
  { key: "service_level_target", label: "Service level target (%)", scale: 100, step: "1", min: 1 },
  { key: "max_occupancy", label: "Max occupancy (%)", scale: 100, step: "1", min: 1 },
  { key: "shrinkage", label: "Shrinkage (%)", scale: 100, step: "1", min: 0 },
];

function queueRow(queue) {
  const formId = `queue-form-${queue.queue.replace(/[^a-z0-9]/gi, "-")}`;
  const inputs = QUEUE_FIELDS.map((f) => h("td", {},
    h("input", {
      type: "number", form: formId, name: f.key, step: f.step, min: f.min,
      value: String(Math.round(queue[f.key] * f.scale * 100) / 100),
      "aria-label": `${f.label}, ${queue.queue}`, "data-testid": `queue-${f.key}`,
    })));
  return h("tr", { dataset: { name: queue.queue }, "data-testid": "queue-row" },
    h("th", { scope: "row", text: queue.queue }),
    ...inputs,
    h("td", {},
      h("form", { id: formId, onsubmit: (event) => saveQueue(event, queue.queue) },
        h("button", { type: "submit", class: "btn", "data-testid": "queue-save", "aria-label": `Save ${queue.queue}` }, "Save"))));
}

async function saveQueue(event, name) {
  event.preventDefault();
  const form = event.target;
  const body = {};
  for (const f of QUEUE_FIELDS) {
    const input = document.querySelector(`input[form="${form.id}"][name="${f.key}"]`);
    const value = Number(input.value);
    if (input.value === "" || Number.isNaN(value)) {
      status(`${f.label}: enter a number`, "error");
      input.focus();
      return;
    }
    body[f.key] = f.scale === 1 ? value : value / f.scale;
  }
  body.agents_staffed = Math.round(body.agents_staffed);
  try {
    await api("PUT", `/api/v1/queues/${encodeURIComponent(name)}`, body);
    status(`${name} saved.`);
    await loadQueues();
  } catch (err) {
    status(`${name}: ${err.message}`, "error");
  }
}

async function loadQueues() {
  const { queues } = await api("GET", "/api/v1/queues");
  const body = $("queues-table").tBodies[0];
  // Rows being edited keep their values: only add or drop rows.
  const existing = new Map([...body.rows].map((row) => [row.dataset.name, row]));
  body.replaceChildren(...queues.map((q) => existing.get(q.queue) ?? queueRow(q)));
  return queues;
}

async function addQueue(event) {
  event.preventDefault();
  const name = $("queue-add-name").value.trim();
  if (!name) return;
  try {
    await api("PUT", `/api/v1/queues/${encodeURIComponent(name)}`, {});
    $("queue-add-name").value = "";
    status(`${name} added.`);
    await loadQueues();
  } catch (err) {
    status(err.message, "error");
  }
}

// ------------------------------------------------------------- known issues

function knownRow(k) {
  const workaround = h("input", { value: k.workaround ?? "", maxlength: "2000", "aria-label": `Workaround for ${k.title}`, "data-testid": "known-row-workaround" });
  const r = k.resolution;
  const stopped = r ? ` · ${r.tickets_60m_before} in the hour before the fix, ${r.tickets_60m_after} after${r.hour_after_complete ? "" : " so far"}` : "";
  const next = k.status === "open" ? "resolved" : "open";
  return h("tr", { dataset: { id: k.id } },
    h("td", { class: "num", text: k.id }),
    h("td", { text: k.title }),
    h("td", { text: k.application ?? DASH }),
    h("td", {}, workaround),
    h("td", { class: "num", text: `${k.tickets_total} (${k.tickets_60m})` }),
    h("td", { "data-testid": "known-row-status", text: `${k.status}${stopped}` }),
    h("td", { class: "actions" },
      h("button", { type: "button", class: "btn", text: "Save", onclick: () => patchKnown(k, { workaround: workaround.value }) }),
      h("button", {
        type: "button", class: "btn", "data-testid": `known-${next === "resolved" ? "resolve" : "reopen"}`,
        text: next === "resolved" ? "Resolve" : "Reopen",
        onclick: () => patchKnown(k, { status: next, workaround: workaround.value }),
      })));
}

async function loadKnownIssues() {
  const { known_issues: issues } = await api("GET", "/api/v1/known-issues");
  const body = $("known-issues-table").tBodies[0];
  // Keep a workaround being typed: rebuild only rows that are not focused.
  const editing = document.activeElement?.closest?.("#known-issues-table tr")?.dataset.id;
  const existing = new Map([...body.rows].map((row) => [row.dataset.id, row]));
  body.replaceChildren(...issues.map((k) => (k.id === editing ? existing.get(k.id) : null) ?? knownRow(k)));
}

async function patchKnown(issue, body) {
  try {
    await api("PATCH", `/api/v1/known-issues/${encodeURIComponent(issue.id)}`, body);
    status(`Known issue ${issue.id} saved.`);
    document.activeElement?.blur?.();
    await loadKnownIssues();
  } catch (err) {
    status(`Known issue ${issue.id}: ${err.message}`, "error");
  }
}

async function createKnown(event) {
  event.preventDefault();
  const body = { title: $("known-title-input").value.trim() };
  if (!body.title) {
    status("Give the known issue a title.", "error");
    $("known-title-input").focus();
    return;
  }
  const application = $("known-application").value.trim();
  const workaround = $("known-workaround").value.trim();
  if (application) body.application = application;
  if (workaround) body.workaround = workaround;
  try {
    const created = await api("POST", "/api/v1/known-issues", body);
    for (const id of ["known-title-input", "known-application", "known-workaround"]) $(id).value = "";
    status(`Known issue ${created.id} added: agents can link tickets to it.`);
    await loadKnownIssues();
  } catch (err) {
    status(err.message, "error");
  }
}

// ------------------------------------------------------------- wall screens and tokens

async function createWall(event) {
  event.preventDefault();
  const name = $("wall-name").value.trim();
  if (!name) {
    status("Give the screen a name.", "error");
    $("wall-name").focus();
    return;
  }
  try {
    const created = await api("POST", "/api/v1/tokens", { role: "display", name });
    const params = new URLSearchParams({ token: created.token });
    const [kind, value] = $("wall-scope").value.split(":", 2);
    if (kind && value) params.set(kind, value);
    const url = `${window.location.origin}/?${params}`;
    $("kiosk-url").href = url;
    $("kiosk-url").textContent = url;
    $("kiosk").hidden = false;
    await showQr(url);
    $("wall-name").value = "";
    status(`Display token "${name}" created.`);
    $("kiosk-url").focus();
    await loadTokens();
  } catch (err) {
    status(err.message, "error");
  }
}

/** The QR code comes from the server as SVG; the URL travels in a body. */
async function showQr(url) {
  const response = await fetch("/api/v1/qr", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${getToken()}` },
    body: JSON.stringify({ text: url }),
    cache: "no-store",
  });
  if (!response.ok) throw new Error(`QR code: the server answered ${response.status}`);
  const svg = await response.blob();
  if (kioskObjectUrl) URL.revokeObjectURL(kioskObjectUrl);
  kioskObjectUrl = URL.createObjectURL(svg);
  $("kiosk-qr").src = kioskObjectUrl;
}

async function loadTokens() {
  let tokens;
  try {
    ({ tokens } = await api("GET", "/api/v1/tokens"));
  } catch (err) {
    status(err.message, "error");
    return;
  }
  $("tokens-table").tBodies[0].replaceChildren(...tokens.map((t) => h("tr", { dataset: { id: String(t.id), role: t.role }, "data-testid": "token-row" },
    h("td", { text: String(t.id) }),
    h("td", { text: t.name }),
    h("td", { text: t.role }),
    h("td", { text: fmtTime(t.created_at) }),
    h("td", { text: t.revoked_at ? fmtTime(t.revoked_at) : DASH }),
    h("td", {}, t.revoked_at || !mayRevoke(t) ? null : h("button", {
      type: "button", class: "btn", "data-testid": "token-revoke", "aria-label": `Revoke ${t.name}`,
      onclick: () => revoke(t),
    }, "Revoke")))));
}

/** A lead revokes display tokens; an admin any. */
function mayRevoke(token) {
  return role === "admin" || token.role === "display";
}

async function revoke(token) {
  try {
    await api("DELETE", `/api/v1/tokens/${token.id}`);
    status(`Token "${token.name}" revoked: its screens close within two seconds.`);
    await loadTokens();
  } catch (err) {
    status(err.message, "error");
  }
}

// ------------------------------------------------------------- page

async function refresh() {
  const board = await api("GET", "/api/v1/board");
  renderAlerts(board.alerts || []);
  // Scopes a new wall screen can show: the sites and queues on the board.
  const select = $("wall-scope");
  const options = [
    ...Object.keys(board.windows?.["60m"]?.tickets_by?.site || {}).map((s) => [`site:${s}`, `site ${s}`]),
    ...(board.staffing || []).map((q) => [`queue:${q.queue}`, `queue ${q.queue}`]),
  ];
  const have = new Set([...select.options].map((o) => o.value));
  for (const [value, label] of options) {
    if (!have.has(value)) select.append(h("option", { value, text: label }));
  }
}

async function start() {
  let session;
  try {
    session = await api("GET", "/api/v1/session");
  } catch (err) {
    showLogin(err.status === 401 ? "This token was not accepted." : err.message);
    return;
  }
  if (session.role !== "lead" && session.role !== "admin") {
    showLogin("This page needs a lead or admin token.");
    return;
  }
  role = session.role;
  $("who-role").textContent = session.role;
  $("who").hidden = false;
  $("login").hidden = true;
  $("lead").hidden = false;
  await Promise.all([refresh(), loadQueues(), loadTokens(), loadKnownIssues()]).catch((err) => status(err.message, "error"));
  clearInterval(refreshTimer);
  refreshTimer = setInterval(() => {
    refresh().catch(() => {});
    loadKnownIssues().catch(() => {});
  }, REFRESH_MS);
}

function showLogin(message) {
  clearToken();
  clearInterval(refreshTimer);
  $("lead").hidden = true;
  $("who").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
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
  $("login-token").value = "";
  await start();
}

function init() {
  adoptTokenFromUrl();
  $("login-form").addEventListener("submit", onLogin);
  $("queue-add").addEventListener("submit", addQueue);
  $("wall-form").addEventListener("submit", createWall);
  $("known-form").addEventListener("submit", createKnown);
  $("sign-out").addEventListener("click", () => showLogin(""));
  $("kiosk-copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText($("kiosk-url").href);
      status("Kiosk address copied.");
    } catch {
      status("Copy was refused by the browser: select the address instead.", "error");
    }
  });
  if (getToken()) start();
  else showLogin("");
}

init();
