// waves.js — the rollout waves page (/waves): fetches GET /api/v1/waves and
// draws each wave's tickets opened and resolved per 100 users by hour
// since its own go-live (overlaid, one colour per wave) beside the backlog
// curve, then the numbers as tables. Plain modules, no build step.

import { adoptTokenFromUrl, getToken, setToken, clearToken, api, h, fmtInt, fmtDecimal, DASH } from "./common.js";
import { lineChart, legendKey } from "./charts.js";

const $ = (id) => document.getElementById(id);
const WAVE_CLASSES = ["series-1", "series-2", "series-3", "series-4", "series-5", "series-6"];
const waveClass = (k) => WAVE_CLASSES[k % WAVE_CLASSES.length];
const when = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** Per hour since go-live, a wave's value (null where the wave has not got that far). */
function column(wave, hours, pick) {
  return Array.from({ length: hours }, (_, k) => (k < wave.hours.length ? pick(wave.hours[k], wave) : null));
}

function render(data) {
  const waves = data.waves;
  const hours = Math.max(0, ...waves.map((w) => w.hours.length));
  $("status").textContent = waves.length
    ? `${waves.length} waves · up to ${hours} hours since each go-live`
    : "No waves configured: add [[waves]] to the configuration file.";
  $("legend").replaceChildren(...waves.flatMap((w, k) => [legendKey(w.name, waveClass(k))]),
    legendKey("resolved", "series-muted", true));
  const labels = Array.from({ length: hours }, (_, k) => `h${k}`);
  const per100 = (n, w) => (n * 100) / w.users;
  $("opened-chart").replaceChildren(lineChart({
    label: "Tickets opened and resolved per 100 users by hour since go-live",
    labels,
    format: (v) => fmtDecimal(v),
    series: waves.flatMap((w, k) => [
      { name: `${w.name} opened`, cls: waveClass(k), values: column(w, hours, (x) => x.opened_per_100_users) },
      { name: `${w.name} resolved`, cls: waveClass(k), dashed: true, values: column(w, hours, (x, wave) => per100(x.resolved, wave)) },
    ]),
  }));
  $("backlog-chart").replaceChildren(lineChart({
    label: "Open backlog by hour since go-live",
    labels,
    format: (v) => fmtInt(v),
    series: waves.map((w, k) => ({ name: `${w.name} backlog`, cls: waveClass(k), values: column(w, hours, (x) => x.backlog) })),
  }));

  $("summary").tBodies[0].replaceChildren(...waves.map((w, k) => {
    const opened = w.hours.reduce((sum, x) => sum + x.opened, 0);
    const resolved = w.hours.reduce((sum, x) => sum + x.resolved, 0);
    const last = w.hours[w.hours.length - 1];
    return h("tr", { "data-testid": "wave-row", dataset: { wave: w.name } },
      h("th", { scope: "row" }, legendKey(w.name, waveClass(k))),
      h("td", { text: when.format(new Date(w.go_live_start)) }),
      h("td", { text: w.sites.join(", ") }),
      h("td", { class: "num", text: fmtInt(w.users) }),
      h("td", { class: "num", text: fmtInt(w.hours.length) }),
      h("td", { class: "num", "data-field": "opened", text: fmtInt(opened) }),
      h("td", { class: "num", text: fmtDecimal((opened * 100) / w.users) }),
      h("td", { class: "num", "data-field": "resolved", text: fmtInt(resolved) }),
      h("td", { class: "num", "data-field": "backlog", text: last ? fmtInt(last.backlog) : DASH }));
  }));

  const head = $("hours-table").tHead;
  head.replaceChildren(
    h("tr", {}, h("th", { scope: "col", rowspan: 2, text: "Hour" }),
      ...waves.map((w) => h("th", { scope: "colgroup", colspan: 4, class: "num", text: w.name }))),
    h("tr", {}, ...waves.flatMap(() => ["Opened", "/100", "Resolved", "Backlog"].map((t) => h("th", { scope: "col", class: "num", text: t })))));
  const fields = ["opened", "opened_per_100_users", "resolved", "backlog"];
  $("hours-table").tBodies[0].replaceChildren(...Array.from({ length: hours }, (_, k) =>
    h("tr", {}, h("th", { scope: "row", text: `h${k}` }),
      ...waves.flatMap((w) => fields.map((field) => {
        const point = w.hours[k];
        const value = point ? point[field] : null;
        const text = value === null ? DASH : field === "opened_per_100_users" ? fmtDecimal(value) : fmtInt(value);
        return h("td", { class: "num", "data-testid": "wave-cell", dataset: { wave: w.name, hour: k, field }, text });
      })))));
}

async function load() {
  $("status").textContent = "Loading…";
  try {
    render(await api("GET", `/api/v1/waves?hours=${$("hours").value}`));
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

function showLogin(message) {
  $("waves").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
}

function start() {
  $("login").hidden = true;
  $("waves").hidden = false;
  load();
}

adoptTokenFromUrl();
const wanted = new URL(window.location.href).searchParams.get("hours");
if (wanted && [...$("hours").options].some((o) => o.value === wanted)) $("hours").value = wanted;
$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = $("login-token").value.trim();
  if (!token) return;
  setToken(token);
  start();
});
$("hours").addEventListener("change", load);
if (getToken()) start();
else showLogin();
