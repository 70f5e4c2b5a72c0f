// console.js — the agent console (GET /console): sign-in (token + display
// name, both in sessionStorage only), keyboard-first ticket entry (POST
// /api/v1/tickets with the agent as assignee) and "my open tickets" with
// quick status actions (PATCH /api/v1/tickets/{id}). The open known issues
// (GET /api/v1/known-issues) of the application being typed are one-key
// picks (Alt+Shift+1…9), so a ticket about a known problem is linked as it
// is logged, and the agent sees the workaround to give.
//
// Ticket summaries may hold PHI: they are shown to the signed-in agent and
// sent to the API, and never written to the browser console or storage.

import {
  adoptTokenFromUrl, getToken, setToken, clearToken, api, h, fmtAgo,
} from "/assets/common.js";

const NAME_KEY = "golive.agentName";
/** "My open tickets" refresh interval. */
const REFRESH_MS = 15_000;
/** Pick-lists are re-gathered this often (new sites/apps appear in go-live). */
const PICKLIST_REFRESH_MS = 5 * 60_000;
/** Roles that may both create and read tickets (contract §2). */
const CONSOLE_ROLES = ["agent", "lead", "admin"];
const ACTIVE = new Set(["open", "in_progress", "pending", "escalated"]);

/** Categories in shortcut order: Alt+1 is how-to, … Alt+8 is other. */
const CATEGORIES = [
  ["how_to", "How-to"],
  ["break_fix", "Break/fix"],
  ["access", "Access"],
  ["hardware", "Hardware"],
  ["workflow", "Workflow"],
  ["data", "Data"],
  ["interface", "Interface"],
  ["other", "Other"],
];
const SEVERITIES = [
  [1, "1 Critical"],
  [2, "2 High"],
  [3, "3 Medium"],
  [4, "4 Low"],
];
const DEFAULT_SEVERITY = 3;
const STATUS_LABELS = {
  open: "Open", in_progress: "In progress", pending: "Pending", escalated: "Escalated",
  resolved: "Resolved", closed: "Closed",
};
/** Common caller roles offered before any ticket has named one. */
const DEFAULT_ROLES = ["nurse", "charge nurse", "physician", "resident", "pharmacist", "unit clerk", "registrar", "therapist", "lab tech", "manager"];
/** The form's text fields kept for the next call. */
const KEPT_FIELDS = ["site", "department", "application"];
const TEXT_FIELDS = ["site", "department", "application", "reporter_role", "summary"];

const $ = (id) => document.getElementById(id);
const state = {
  name: null,
  role: null,
  submitting: false,
  refreshTimer: null,
  picklistTimer: null,
  picklists: { site: new Set(), department: new Set(), application: new Set(), reporter_role: new Set(DEFAULT_ROLES) },
  loadingMine: false,
  knownIssues: [], // open known issues, from the API
};

function getName() {
  try {
    return window.sessionStorage.getItem(NAME_KEY);
  } catch {
    return null;
  }
}

function setName(name) {
  try {
    window.sessionStorage.setItem(NAME_KEY, name);
  } catch {
    /* storage disabled: kept in memory for this page only */
  }
}

// ------------------------------------------------------------- sign-in

/**
 * Shows the sign-in form. `prefill`: put the stored token in the token
 * field (a token from the URL needs no retyping: only the name is asked
 * for); false when that token is the wrong kind (a display's).
 */
function showLogin(message, prefill = true) {
  stopTimers();
  $("console").hidden = true;
  $("who").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  const token = prefill ? getToken() : null;
  $("login-name").value = getName() || "";
  if (token && !$("login-token").value) $("login-token").value = token;
  (token && !$("login-name").value ? $("login-name") : $("login-token")).focus();
}

async function onLogin(event) {
  event.preventDefault();
  const token = $("login-token").value.trim();
  const name = $("login-name").value.trim();
  if (!token) return loginError("Enter your token.", "login-token");
  if (!name) return loginError("Enter your display name (it is recorded as the assignee).", "login-name");
  if (name.length > 64) return loginError("The display name can have at most 64 characters.", "login-name");
  setToken(token);
  let session;
  try {
    session = await api("GET", "/api/v1/session");
  } catch (err) {
    clearToken();
    return loginError(err.status === 401 ? "This token was not accepted." : err.message, "login-token");
  }
  if (!CONSOLE_ROLES.includes(session?.role)) {
    clearToken();
    return loginError(`A ${session?.role ?? "unknown"} token cannot log tickets here; use an agent token.`, "login-token");
  }
  setName(name);
  $("login-token").value = "";
  start(session.role);
}

function loginError(message, focusId) {
  $("login-error").textContent = message;
  // Selected, so typing the right value replaces the wrong one.
  $(focusId).focus();
  $(focusId).select();
}

function signOut() {
  clearToken();
  try {
    window.sessionStorage.removeItem(NAME_KEY);
  } catch {
    /* nothing stored */
  }
  $("login-token").value = "";
  $("mine-table").tBodies[0].replaceChildren();
  showLogin("Signed out.");
}

function start(role) {
  state.name = getName();
  state.role = role;
  $("login").hidden = true;
  $("console").hidden = false;
  $("who").hidden = false;
  $("who-name").textContent = state.name;
  $("who-role").textContent = role;
  refreshMine();
  gatherPicklists();
  loadKnownIssues();
  stopTimers();
  state.refreshTimer = setInterval(() => {
    refreshMine();
    loadKnownIssues();
  }, REFRESH_MS);
  state.picklistTimer = setInterval(gatherPicklists, PICKLIST_REFRESH_MS);
  $("f-site").focus();
}

function stopTimers() {
  clearInterval(state.refreshTimer);
  clearInterval(state.picklistTimer);
}

/** An API error that means "sign in again". */
function handleAuthError(err) {
  if (err.status === 401) {
    clearToken();
    showLogin("Your token is no longer accepted. Sign in again.");
    return true;
  }
  return false;
}

// ------------------------------------------------------------- form

function buildChoices() {
  $("category-choices").replaceChildren(...CATEGORIES.map(([value, label], i) =>
    h("label", { class: "choice" },
      h("input", { type: "radio", name: "category", value, "data-testid": `category-${value}` }),
      h("span", {}, label, h("kbd", { "aria-hidden": "true", text: String(i + 1) })))));
  $("severity-choices").replaceChildren(...SEVERITIES.map(([value, label]) =>
    h("label", { class: `choice sev-${value}` },
      h("input", { type: "radio", name: "severity", value: String(value), checked: value === DEFAULT_SEVERITY, "data-testid": `severity-${value}` }),
      h("span", { text: label }))));
}

function radios(name) {
  return [...$("ticket-form").querySelectorAll(`input[name="${name}"]`)];
}

function selectRadio(name, value, focus) {
  const input = radios(name).find((r) => r.value === String(value));
  if (!input) return;
  input.checked = true;
  clearFieldError(name);
  if (focus) input.focus();
}

function checkedValue(name) {
  return radios(name).find((r) => r.checked)?.value ?? null;
}

function cycleSeverity() {
  const current = Number(checkedValue("severity") || DEFAULT_SEVERITY);
  selectRadio("severity", (current % 4) + 1, document.activeElement?.name === "severity");
}

/** Keyboard shortcuts for the whole form (shown in the key legend). */
function onFormKeydown(event) {
  const target = event.target;
  if (event.altKey && !event.ctrlKey && !event.metaKey) {
    // event.code: layout-independent (Alt+digit types symbols on some layouts).
    const known = /^Digit([0-9])$/.exec(event.code);
    if (known && event.shiftKey) {
      event.preventDefault();
      pickKnownIssue(Number(known[1]));
      return;
    }
    const digit = /^Digit([1-8])$/.exec(event.code);
    if (digit) {
      event.preventDefault();
      selectRadio("category", CATEGORIES[Number(digit[1]) - 1][0], false);
      return;
    }
    if (event.code === "KeyS") {
      event.preventDefault();
      cycleSeverity();
      return;
    }
    if (event.code === "KeyF") {
      event.preventDefault();
      $("f-fcr").checked = !$("f-fcr").checked;
      return;
    }
    if (event.code === "KeyN") {
      event.preventDefault();
      $("f-site").focus();
      $("f-site").select();
      return;
    }
  }
  // Plain digits pick a choice while focus is in that group.
  if (!event.altKey && !event.ctrlKey && !event.metaKey && target.type === "radio") {
    const n = /^(?:Digit|Numpad)([1-8])$/.exec(event.code);
    if (n && target.name === "severity" && Number(n[1]) <= 4) {
      event.preventDefault();
      selectRadio("severity", n[1], true);
      return;
    }
    if (n && target.name === "category") {
      event.preventDefault();
      selectRadio("category", CATEGORIES[Number(n[1]) - 1][0], true);
      return;
    }
  }
  if (event.key === "Enter" && !event.isComposing) {
    // Enter logs the ticket from any field; in the summary Shift+Enter
    // keeps a new line. Buttons keep their own Enter.
    if (target.tagName === "BUTTON") return;
    if (target.tagName === "TEXTAREA" && event.shiftKey && !event.ctrlKey) return;
    event.preventDefault();
    submitTicket();
  }
}

function clearFieldError(field) {
  const err = $(`err-${field}`);
  if (err) err.textContent = "";
  const input = fieldElement(field);
  if (input) input.removeAttribute("aria-invalid");
}

function fieldElement(field) {
  if (field === "category" || field === "severity") return $(`f-${field}`);
  if (field === "status" || field === "resolved_at") return $("f-fcr");
  return $(`f-${field}`);
}

function clearErrors() {
  for (const field of [...TEXT_FIELDS, "category", "severity", "channel"]) clearFieldError(field);
  setStatus($("form-status"), "", "");
}

/** Shows an error next to the field it names (or in the form status). */
function showFieldError(field, message) {
  const err = field ? $(`err-${field}`) : null;
  if (!err) {
    setStatus($("form-status"), message, "error");
    return;
  }
  err.textContent = message;
  const input = fieldElement(field);
  if (input) input.setAttribute("aria-invalid", "true");
}

function setStatus(node, text, kind) {
  node.textContent = text;
  node.dataset.kind = kind;
}

function readForm() {
  const value = (id) => $(`f-${id}`).value.trim();
  const body = {
    site: value("site"),
    department: value("department"),
    application: value("application"),
    category: checkedValue("category"),
    severity: Number(checkedValue("severity")),
    channel: $("f-channel").value,
    assignee: state.name,
  };
  const summary = $("f-summary").value;
  if (summary.trim()) body.summary = summary;
  const role = value("reporter_role");
  if (role) body.reporter_role = role;
  if ($("f-fcr").checked) body.status = "resolved";
  const known = checkedValue("known_issue");
  if (known) body.known_issue = known;
  return body;
}

/** The checks the server would make, done first so the agent is not kept waiting. */
function validate(body) {
  const errors = [];
  for (const field of ["site", "department", "application"]) {
    if (!body[field]) errors.push([field, "Required."]);
    else if (body[field].length > 64) errors.push([field, "At most 64 characters."]);
  }
  if (!body.category) errors.push(["category", "Pick a category (Alt+1…8)."]);
  if (!(body.severity >= 1 && body.severity <= 4)) errors.push(["severity", "Pick a severity (1…4)."]);
  return errors;
}

async function submitTicket() {
  if (state.submitting) return; // Enter held down or pressed twice: one ticket
  clearErrors();
  const body = readForm();
  const errors = validate(body);
  if (errors.length) {
    for (const [field, message] of errors) showFieldError(field, message);
    const first = fieldElement(errors[0][0]);
    (first?.querySelector?.("input") || first)?.focus();
    return;
  }
  state.submitting = true;
  $("submit").disabled = true;
  setStatus($("form-status"), "Saving…", "");
  try {
    const ticket = await api("POST", "/api/v1/tickets", body);
    rememberValues(ticket);
    resetForNextCall();
    const fixed = ticket.status === "resolved" ? " (resolved)" : "";
    setStatus($("form-status"), `Logged ticket #${ticket.id}${fixed}`, "ok");
    $("form-status").dataset.id = ticket.id;
    refreshMine();
  } catch (err) {
    if (handleAuthError(err)) return;
    const field = err.field && $(`err-${err.field}`) ? err.field : null;
    showFieldError(field, err.message);
    if (field) {
      const el = fieldElement(field);
      (el?.querySelector?.("input") || el)?.focus();
    }
  } finally {
    state.submitting = false;
    $("submit").disabled = false;
  }
}

/** Clears the form for the next call but keeps where the agent is working. */
function resetForNextCall() {
  for (const field of TEXT_FIELDS) {
    if (!KEPT_FIELDS.includes(field)) $(`f-${field}`).value = "";
  }
  for (const r of radios("category")) r.checked = false;
  selectRadio("severity", DEFAULT_SEVERITY, false);
  $("f-channel").value = "phone";
  $("f-fcr").checked = false;
  pickKnownIssue(0);
  $("f-site").focus();
  $("f-site").select();
}

// ------------------------------------------------------------- pick-lists

function rememberValues(ticket) {
  let changed = false;
  for (const field of Object.keys(state.picklists)) {
    const v = typeof ticket[field] === "string" ? ticket[field].trim() : "";
    if (v && !state.picklists[field].has(v)) {
      state.picklists[field].add(v);
      changed = true;
    }
  }
  if (changed) renderPicklists();
}

function renderPicklists() {
  for (const [field, values] of Object.entries(state.picklists)) {
    const sorted = [...values].sort((a, b) => a.localeCompare(b));
    $(`dl-${field}`).replaceChildren(...sorted.map((v) => h("option", { value: v })));
  }
}

/** Values already seen: recent tickets, plus the board's group keys. */
async function gatherPicklists() {
  const [tickets, board] = await Promise.allSettled([
    api("GET", "/api/v1/tickets?limit=500"),
    api("GET", "/api/v1/board"),
  ]);
  if (tickets.status === "fulfilled") {
    for (const t of tickets.value?.tickets ?? []) rememberValues({ site: t.site, department: t.department, application: t.application, reporter_role: t.reporter_role });
  } else if (handleAuthError(tickets.reason)) {
    return;
  }
  if (board.status === "fulfilled") {
    for (const report of Object.values(board.value?.windows ?? {})) {
      for (const dim of ["site", "application"]) {
        for (const key of Object.keys(report?.tickets_by?.[dim] ?? {})) state.picklists[dim].add(key);
      }
    }
  }
  renderPicklists();
}

// ------------------------------------------------------------- known issues

/** Open known issues from the API (titles and workarounds are leads' text). */
async function loadKnownIssues() {
  try {
    const data = await api("GET", "/api/v1/known-issues");
    state.knownIssues = (data?.known_issues ?? []).filter((k) => k.status === "open");
  } catch (err) {
    if (handleAuthError(err)) return;
    return; // the picks are a convenience: the form works without them
  }
  renderKnownChoices();
}

/** The open known issues offered for the application typed (all without one). */
function offeredKnownIssues() {
  const app = $("f-application").value.trim().toLowerCase();
  return state.knownIssues.filter((k) => !k.application || !app || k.application.toLowerCase() === app).slice(0, 9);
}

function renderKnownChoices() {
  const offered = offeredKnownIssues();
  const kept = checkedValue("known_issue");
  $("f-known_issue").hidden = offered.length === 0;
  const choice = (value, label, key) => h("label", { class: "choice" },
    h("input", { type: "radio", name: "known_issue", value, checked: value === (kept ?? ""), "data-testid": `known-${value || "none"}` }),
    h("span", {}, label, h("kbd", { "aria-hidden": "true", text: key })));
  $("known-choices").replaceChildren(
    choice("", "None", "0"),
    ...offered.map((k, i) => choice(k.id, k.title, String(i + 1))));
  if (!radios("known_issue").some((r) => r.checked)) selectRadio("known_issue", "", false);
  showWorkaround();
}

/** Picks the n-th offered known issue (0: none). */
function pickKnownIssue(n) {
  const offered = offeredKnownIssues();
  const value = n === 0 ? "" : offered[n - 1]?.id;
  if (value === undefined) return;
  selectRadio("known_issue", value, false);
  showWorkaround();
}

function showWorkaround() {
  const id = checkedValue("known_issue");
  const issue = state.knownIssues.find((k) => k.id === id);
  $("known-workaround").textContent = issue?.workaround ? `Workaround: ${issue.workaround}` : "";
}

// ------------------------------------------------------------- my tickets

/**
 * Quick actions: button label, status-line wording, PATCH body, and the
 * states it would not change ("status" or "status:tier"), where it is hidden.
 */
const ACTIONS = [
  { key: "start", label: "Start", done: "started", body: { status: "in_progress" }, hideWhen: ["in_progress"] },
  { key: "pending", label: "Pending", done: "set pending", body: { status: "pending" }, hideWhen: ["pending"] },
  { key: "esc2", label: "Escalate T2", done: "escalated to tier 2", body: { status: "escalated", tier: 2 }, hideWhen: ["escalated:2"] },
  { key: "esc3", label: "Escalate T3", done: "escalated to tier 3", body: { status: "escalated", tier: 3 }, hideWhen: ["escalated:3"] },
  { key: "resolve", label: "Resolve", done: "resolved", body: { status: "resolved" }, hideWhen: [] },
  { key: "close", label: "Close", done: "closed", body: { status: "closed" }, hideWhen: [] },
];

async function refreshMine() {
  if (!state.name || state.loadingMine) return;
  state.loadingMine = true;
  try {
    const data = await api("GET", `/api/v1/tickets?assignee=${encodeURIComponent(state.name)}&limit=200`);
    const mine = (data?.tickets ?? []).filter((t) => ACTIVE.has(t.status));
    renderMine(mine);
    $("mine-updated").textContent = `· updated ${new Date().toLocaleTimeString()}`;
    if ($("mine-status").dataset.kind === "error-load") setStatus($("mine-status"), "", "");
  } catch (err) {
    if (!handleAuthError(err)) setStatus($("mine-status"), `Could not load your tickets: ${err.message}`, "error-load");
  } finally {
    state.loadingMine = false;
  }
}

function renderMine(tickets) {
  // Severity first (sev-1 on top), then oldest first: what needs attention.
  tickets.sort((a, b) => a.severity - b.severity || String(a.opened_at).localeCompare(String(b.opened_at)));
  $("mine-count").textContent = `${tickets.length} active`;
  $("mine-empty").hidden = tickets.length > 0;
  $("mine-table").hidden = tickets.length === 0;
  // Keep focus on the same action button across a refresh.
  const focused = document.activeElement?.dataset?.action ? { id: document.activeElement.dataset.ticket, action: document.activeElement.dataset.action } : null;
  $("mine-table").tBodies[0].replaceChildren(...tickets.map((t) =>
    h("tr", { "data-testid": "my-ticket", dataset: { id: t.id, status: t.status } },
      h("td", { class: "num", text: `#${t.id}` }),
      h("td", { title: t.opened_at, text: fmtAgo(t.opened_at) }),
      h("td", {}, h("span", { class: "sev-pill", dataset: { sev: String(t.severity) }, text: String(t.severity), title: `severity ${t.severity}` })),
      h("td", {}, `${t.application}`, h("br"), h("span", { class: "muted", text: `${t.site} · ${t.department}` })),
      h("td", { class: "summary", text: t.summary ?? "" }),
      h("td", {}, h("span", { class: "status-pill", text: STATUS_LABELS[t.status] ?? t.status }), t.tier ? h("span", { class: "muted", text: ` T${t.tier}` }) : null),
      h("td", { class: "actions" }, ACTIONS.filter((a) => !a.hideWhen.includes(t.status) && !a.hideWhen.includes(`${t.status}:${t.tier}`)).map((a) =>
        h("button", {
          type: "button", class: "btn", text: a.label,
          "aria-label": `${a.label} ticket ${t.id}`,
          "data-testid": `action-${a.key}`,
          dataset: { action: a.key, ticket: t.id },
          onclick: () => act(t.id, a),
        }))),
    )));
  if (focused) {
    const again = $("mine-table").querySelector(`button[data-ticket="${CSS.escape(focused.id)}"][data-action="${CSS.escape(focused.action)}"]`);
    again?.focus();
  }
}

async function act(id, action) {
  setStatus($("mine-status"), `Updating #${id}…`, "");
  try {
    await api("PATCH", `/api/v1/tickets/${encodeURIComponent(id)}`, action.body);
    setStatus($("mine-status"), `#${id} ${action.done}`, "ok");
  } catch (err) {
    if (handleAuthError(err)) return;
    setStatus($("mine-status"), `#${id}: ${err.message}`, "error");
  }
  refreshMine();
}

// ------------------------------------------------------------- start

function init() {
  adoptTokenFromUrl();
  buildChoices();
  $("login-form").addEventListener("submit", onLogin);
  $("sign-out").addEventListener("click", signOut);
  const form = $("ticket-form");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    submitTicket();
  });
  form.addEventListener("keydown", onFormKeydown);
  form.addEventListener("input", (e) => {
    const name = e.target.name;
    if (name) clearFieldError(name);
    if (name === "application") renderKnownChoices();
  });
  form.addEventListener("change", (e) => {
    if (e.target.name === "known_issue") showWorkaround();
  });
  form.addEventListener("change", (e) => {
    const name = e.target.name;
    if (name) clearFieldError(name);
  });
  // Alt+N works from anywhere on the page (e.g. from the ticket list).
  document.addEventListener("keydown", (e) => {
    if (e.altKey && e.code === "KeyN" && !form.contains(e.target) && !$("console").hidden) {
      e.preventDefault();
      $("f-site").focus();
      $("f-site").select();
    }
  });
  const token = getToken();
  const name = getName();
  if (!token || !name) {
    showLogin("");
    return;
  }
  api("GET", "/api/v1/session").then((session) => {
    if (CONSOLE_ROLES.includes(session?.role)) start(session.role);
    else showLogin(`A ${session?.role ?? "unknown"} token cannot log tickets here; use an agent token.`, false);
  }, (err) => {
    if (err.status === 401) clearToken();
    showLogin(err.status === 401 ? "Your token is no longer accepted. Sign in again." : err.message);
  });
}

init();
