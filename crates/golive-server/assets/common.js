// common.js — shared by the live board (board.js) and the agent console
// (console.js): token handling, the JSON API helper, safe DOM building and
// the number / percent / duration / time formatting both pages use.
//
// Tokens live in sessionStorage only: a wall display or an agent's tab
// keeps its token across reloads, but it is gone when the tab closes and is
// never written to localStorage or a cookie (shared hospital PCs).

const TOKEN_KEY = "golive.token";

/**
 * Moves a `?token=` from the address bar into sessionStorage and strips it
 * from the visible URL (history.replaceState), so the secret does not sit
 * in the address bar, in screenshots or in a bookmarked link. Other query
 * parameters (`site`, `queue`) are kept.
 */
export function adoptTokenFromUrl() {
  const url = new URL(window.location.href);
  const token = url.searchParams.get("token");
  if (token === null) return;
  if (token.trim() !== "") setToken(token.trim());
  url.searchParams.delete("token");
  const clean = url.pathname + (url.searchParams.toString() ? `?${url.searchParams}` : "") + url.hash;
  window.history.replaceState(window.history.state, "", clean);
}

export function getToken() {
  try {
    return window.sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null; // storage disabled: the user signs in per page load
  }
}

export function setToken(token) {
  try {
    window.sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    /* storage disabled: nothing to keep */
  }
}

export function clearToken() {
  try {
    window.sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* nothing stored */
  }
}

/** An error answer from the API, in the contract's shape. */
export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.name = "ApiError";
    this.status = status; // HTTP status; 0 when the server was not reached
    this.code = code; // the contract's snake_case code
    this.field = field; // details.field when the server named one
  }
}

/**
 * Calls the JSON API with the stored bearer token. Resolves to the parsed
 * body (null for an empty one); rejects with an ApiError carrying the
 * contract's `{"error":{"code","message","details":{"field"}}}`, or status
 * 0 / code "network" when the server could not be reached.
 */
export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers, cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, "network", "The server could not be reached. Check the network and try again.");
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const err = data && data.error ? data.error : {};
    throw new ApiError(
      response.status,
      err.code || `http_${response.status}`,
      err.message || `The server answered ${response.status} ${response.statusText}`,
      err.details && typeof err.details.field === "string" ? err.details.field : undefined,
    );
  }
  return data;
}

/** The WebSocket URL for an API path on this origin (ws: or wss:). */
export function wsUrl(path) {
  const proto = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${window.location.host}${path}`;
}

/**
 * Builds an element without innerHTML: names and messages come from
 * user-entered data, so text always goes in as text nodes.
 * attrs: `class`, `text`, `dataset` (object), `on<event>` handlers, other
 * keys become attributes (false/null/undefined are skipped).
 */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const intFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

export const DASH = "—"; // shown for null / unknown values (rates with a zero denominator)

/** 1234 → "1,234"; null → "—". */
export function fmtInt(n) {
  return n === null || n === undefined || Number.isNaN(n) ? DASH : intFormat.format(n);
}

/** 2.25 → "2.3"; null → "—". */
export function fmtDecimal(n) {
  return n === null || n === undefined || Number.isNaN(n) ? DASH : oneDecimal.format(n);
}

/** A 0..1 rate as a percentage: 0.834 → "83%", 0.0456 → "4.6%" (a decimal below 10 %). */
export function fmtPct(rate) {
  if (rate === null || rate === undefined || Number.isNaN(rate)) return DASH;
  const pct = rate * 100;
  return `${pct < 10 && pct > 0 ? oneDecimal.format(pct) : intFormat.format(pct)}%`;
}

/**
 * Seconds as a short duration: 42 → "42 s", 190 → "3 m 10 s", 3900 →
 * "1 h 5 m". `coarse` drops the seconds past a minute (190 → "3 m") for
 * narrow table columns.
 */
export function fmtDuration(seconds, coarse = false) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return DASH;
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) {
    const m = Math.floor(s / 60);
    const rest = s % 60;
    return rest && m < 10 && !coarse ? `${m} m ${rest} s` : `${m} m`;
  }
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  if (hours >= 48) return `${Math.floor(hours / 24)} d`;
  return minutes ? `${hours} h ${minutes} m` : `${hours} h`;
}

/** A Date or timestamp string as local wall-clock time "HH:MM:SS". */
export function fmtTime(value) {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return DASH;
  const pad = (n) => String(n).padStart(2, "0");
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** Time since a timestamp, coarse: "just now", "4 m ago", "2 h 5 m ago". */
export function fmtAgo(value, now = Date.now()) {
  const then = value instanceof Date ? value.getTime() : Date.parse(value);
  if (Number.isNaN(then)) return DASH;
  const seconds = (now - then) / 1000;
  if (seconds < 45) return "just now";
  return `${fmtDuration(seconds < 3600 ? Math.round(seconds / 60) * 60 : seconds)} ago`;
}
