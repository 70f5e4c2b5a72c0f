// fit.js — keeps the wall board inside the screen whatever it holds:
// `shrinkToFit` makes a box's text smaller until nothing overflows it (a
// tile's value, a table too wide for its panel), and `Pager` splits a
// long list (table rows, alerts) into pages that each fit their box and
// turns the pages on its own, showing "2/3" in an indicator, instead of
// growing the page. Everything is measured in the browser: no guessed
// row heights.

/** Whether `box`'s content is larger than the box (1 px of slack). */
export function overflows(box) {
  return box.scrollHeight > box.clientHeight + 1 || box.scrollWidth > box.clientWidth + 1;
}

/**
 * Shrinks the text inside `box` (its font size, from the stylesheet's)
 * until it no longer overflows, down to `min` of the original size.
 * `target` is the element whose font size changes (default: the box).
 */
export function shrinkToFit(box, target = box, min = 0.35) {
  target.style.fontSize = "";
  if (!overflows(box)) return 1;
  const base = parseFloat(getComputedStyle(target).fontSize) || 16;
  let low = min;
  let high = 1;
  // Binary search on the scale: a handful of layouts, not one per pixel.
  for (let i = 0; i < 7; i += 1) {
    const mid = (low + high) / 2;
    target.style.fontSize = `${(base * mid).toFixed(2)}px`;
    if (overflows(box)) high = mid;
    else low = mid;
  }
  target.style.fontSize = `${(base * low).toFixed(2)}px`;
  return low;
}

/** Pages a list of items inside a fixed box and turns them. */
export class Pager {
  /**
   * box: the element of fixed size the items must fit in; indicator: where
   * "page/pages" is written (empty with one page).
   */
  constructor(box, indicator) {
    this.box = box;
    this.indicator = indicator;
    this.items = [];
    this.pages = [];
    this.page = 0;
  }

  /** Takes new items (already in the box) and pages them. */
  set(items) {
    this.items = items;
    this.layout();
  }

  /**
   * Cuts the items into pages: each page takes items while the box does
   * not overflow. An item too big for the box alone gets a page of its
   * own (its text is shrunk by the caller's fitting).
   */
  layout() {
    const items = this.items;
    for (const item of items) item.hidden = true;
    this.pages = [];
    let start = 0;
    while (start < items.length) {
      let end = start;
      while (end < items.length) {
        items[end].hidden = false;
        if (overflows(this.box) && end > start) {
          items[end].hidden = true;
          break;
        }
        end += 1;
      }
      this.pages.push([start, end]);
      for (let i = start; i < end; i += 1) items[i].hidden = true;
      start = end;
    }
    if (this.page >= this.pages.length) this.page = 0;
    // For tests and for whoever inspects the page: which items each page holds.
    this.box.dataset.pages = this.pages.map(([a, b]) => `${a}-${b}`).join(" ");
    this.show();
  }

  show() {
    const [start, end] = this.pages[this.page] || [0, 0];
    this.items.forEach((item, i) => {
      item.hidden = i < start || i >= end;
    });
    const count = this.pages.length;
    if (this.indicator) {
      this.indicator.textContent = count > 1 ? `${this.page + 1}/${count}` : "";
      if (count > 1) this.indicator.setAttribute("aria-label", `page ${this.page + 1} of ${count}`);
      else this.indicator.removeAttribute("aria-label");
    }
  }

  /** Turns to the next page (back to the first after the last). */
  next() {
    if (this.pages.length < 2) return;
    this.page = (this.page + 1) % this.pages.length;
    this.show();
  }
}
