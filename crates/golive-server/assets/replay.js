// replay.js — the board's replay mode (/?replay=YYYY-MM-DD), for
// after-action reviews: a time slider over one day (the display's local
// day) and play / pause at 60× or 600×. Every position is a board fetched
// from GET /api/v1/board?as_of=T, which the server computes from the log
// with the live board's own definitions (nothing stored, nothing
// interpolated here). The page is marked REPLAY so nobody takes it for the
// live board. This module only keeps the time and the controls; board.js
// fetches and draws.

const DAY_MS = 24 * 60 * 60 * 1000;
/** How often a playing replay moves on. */
const TICK_MS = 250;
/** The server refuses a moment in its future: stay this far behind now. */
const BEHIND_NOW_MS = 2_000;

/** Midnight (local) starting the day `text` (YYYY-MM-DD), or null. */
export function dayStart(text) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text || "");
  if (!match) return null;
  const start = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  return Number.isNaN(start.getTime()) ? null : start.getTime();
}

/** YYYY-MM-DD of a local date. */
export function dayText(ms) {
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/**
 * The replay controls. `els`: {day, slider, play, speed, time} elements;
 * `show(atMs)` fetches and draws the board as of that moment and returns a
 * promise (one at a time: a move while one is loading is shown next).
 */
export class Replay {
  constructor(els, start, show) {
    this.els = els;
    this.show = show;
    this.start = start;
    this.at = start;
    this.timer = null;
    this.loading = false;
    this.wanted = null;
    els.slider.min = "0";
    els.slider.max = String(DAY_MS / 60_000);
    els.slider.step = "1";
    els.day.value = dayText(start);
    els.slider.addEventListener("input", () => {
      this.pause();
      this.seek(this.start + Number(els.slider.value) * 60_000);
    });
    els.play.addEventListener("click", () => (this.timer ? this.pause() : this.play()));
    els.day.addEventListener("change", () => {
      const start = dayStart(els.day.value);
      if (start === null) return;
      this.pause();
      this.start = start;
      this.seek(start);
    });
  }

  /** The latest moment that may be shown. */
  latest() {
    return Math.min(this.start + DAY_MS, Date.now() - BEHIND_NOW_MS);
  }

  /** Moves to `atMs` (kept within the day and the past) and shows it. */
  seek(atMs) {
    this.at = Math.max(this.start, Math.min(atMs, this.latest()));
    const minutes = Math.floor((this.at - this.start) / 60_000);
    if (this.els.slider.value !== String(minutes)) this.els.slider.value = String(minutes);
    const when = new Date(this.at);
    this.els.time.dateTime = when.toISOString();
    this.els.time.textContent = when.toLocaleString(undefined, {
      month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
    this.request(this.at);
  }

  request(atMs) {
    if (this.loading) {
      this.wanted = atMs;
      return;
    }
    this.loading = true;
    Promise.resolve(this.show(atMs)).finally(() => {
      this.loading = false;
      const next = this.wanted;
      this.wanted = null;
      if (next !== null && next !== atMs) this.request(next);
    });
  }

  play() {
    if (this.at >= this.latest()) this.seek(this.start);
    this.els.play.textContent = "Pause";
    this.els.play.setAttribute("aria-pressed", "true");
    this.timer = setInterval(() => {
      const speed = Number(this.els.speed.value) || 60;
      const next = this.at + speed * TICK_MS;
      if (next >= this.latest()) {
        this.seek(this.latest());
        this.pause();
        return;
      }
      this.seek(next);
    }, TICK_MS);
  }

  pause() {
    clearInterval(this.timer);
    this.timer = null;
    this.els.play.textContent = "Play";
    this.els.play.setAttribute("aria-pressed", "false");
  }
}
