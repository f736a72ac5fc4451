// Bar charts as inline SVG, with no DOM: groups along the bottom (their
// labels thinned out when there are many), a few value ticks up the side,
// and per group one bar per series, either stacked or drawn over each
// other (the first behind: a 90th percentile behind its median). Each bar
// has a <title> with its exact value and `data-key` / `data-value` for
// tests; the SVG is one role="img" with a summary, as the numbers are in
// the page's table too. Sized by its viewBox, coloured by CSS classes.

import { html } from '../../shared/html.js';

/** The drawing's size in viewBox units; the page scales it to its width. */
export const SIZE = { width: 600, height: 220, left: 50, right: 8, top: 12, bottom: 24 };

const plotWidth = SIZE.width - SIZE.left - SIZE.right;
const plotHeight = SIZE.height - SIZE.top - SIZE.bottom;
const round = (n) => Math.round(n * 100) / 100;

/** Steps for counts: 1, 2, 5, 10, 20, 50, … */
function countSteps(max) {
  const steps = [];
  for (let power = 1; power <= Math.max(10, max * 10); power *= 10) steps.push(power, 2 * power, 5 * power);
  return steps;
}

/** Steps for durations in seconds, in units people count in. */
export const DURATION_STEPS = [
  1, 2, 5, 10, 15, 30,
  60, 120, 300, 600, 900, 1_800,
  3_600, 7_200, 10_800, 21_600, 43_200,
  86_400, 172_800, 432_000, 864_000, 1_728_000, 4_320_000, 8_640_000, 17_280_000, 34_560_000,
];

/**
 * The value ticks for values up to `max`: `{top, ticks}`, 0 first, at most
 * `most` steps, `top` the last tick (at least one step, so an empty chart
 * has an axis). `steps` as for durations, else counts' 1-2-5.
 */
export function niceTicks(max, { steps = null, most = 4 } = {}) {
  const value = Math.max(0, Number(max) || 0);
  const choices = steps ?? countSteps(value);
  const step = choices.find((s) => Math.ceil(value / s) <= most) ?? Math.ceil(value / most);
  const count = Math.max(1, Math.ceil(value / step));
  return { top: count * step, ticks: Array.from({ length: count + 1 }, (_, i) => i * step) };
}

/** Show every how-manieth label so that labels `labelWidth` wide do not overlap. */
export function labelEvery(groups, width = plotWidth, labelWidth = 46) {
  const room = Math.max(1, Math.floor(width / labelWidth));
  return Math.max(1, Math.ceil(groups / room));
}

/** A label cut to `chars` characters with an ellipsis. */
export function clip(text, chars) {
  const value = String(text ?? '');
  return value.length <= chars ? value : `${value.slice(0, Math.max(1, chars - 1))}…`;
}

const numeric = (value) => (value === null || value === undefined || !Number.isFinite(Number(value)) ? null : Number(value));

/**
 * Where everything goes: `{top, ticks, yOf, columns: [{key, x, width, middle,
 * bars: [{key, series, value, x, width, y, height}]}]}`.
 * `groups`: `[{key, label, title}]`; `series`: `[{name, values}]`, values
 * in the groups' order (null for none).
 */
export function layout({ groups, series, stacked = false, steps = null }) {
  const sums = groups.map((_, i) => series.map((s) => numeric(s.values[i]) ?? 0)
    .reduce((a, b) => (stacked ? a + b : Math.max(a, b)), 0));
  const { top, ticks } = niceTicks(Math.max(0, ...sums), { steps });
  const band = groups.length ? plotWidth / groups.length : plotWidth;
  const width = round(Math.max(1, Math.min(band * 0.72, 56)));
  const yOf = (value) => round(SIZE.top + plotHeight - (value / top) * plotHeight);
  const columns = groups.map((group, i) => {
    const x = round(SIZE.left + band * i + (band - width) / 2);
    let below = 0;
    const bars = series.map((s) => {
      const value = numeric(s.values[i]);
      const base = stacked ? below : 0;
      const upper = base + (value ?? 0);
      below = upper;
      return { key: group.key, series: s.name, value, x, width, y: yOf(upper), height: round(yOf(base) - yOf(upper)) };
    });
    return { key: group.key, x: round(SIZE.left + band * i), width: round(band), middle: round(SIZE.left + band * (i + 0.5)), bars };
  });
  return { top, ticks, yOf, columns };
}

/**
 * The chart: a <figure> with its heading, the SVG and a legend.
 *
 * - `title`: the heading; `summary`: the aria-label's sentence after it.
 * - `groups`: `[{key, label (axis), title (tooltips)}]`.
 * - `series`: `[{name, label (legend), values, describe(value) → "3 new conversations"}]`.
 * - `stacked`: stack the series; else each is drawn from the axis, the first behind.
 * - `tick(value)`: an axis tick's text; `steps`: see niceTicks.
 * - `testid`: the SVG's data-testid; `empty`: what an empty chart says.
 */
export function barChart({ title, summary = '', groups, series, stacked = false, tick = String, steps = null, testid, empty = 'Nothing to show.' }) {
  const id = `${testid}-title`;
  // The legend names the front-most overlaid series first (the median before its 90th percentile).
  const named = stacked ? series : [...series].reverse();
  const legend = series.length > 1
    ? html`<ul class="chart-legend">${named.map((s) => html`<li><span class="${`chart-swatch series-${s.name}`}" aria-hidden="true"></span>${s.label}</li>`)}</ul>`
    : '';
  const head = html`<figcaption><h2 id="${id}">${title}</h2>${legend}</figcaption>`;
  const label = summary ? `${title}. ${summary}` : title;
  const viewBox = `0 0 ${SIZE.width} ${SIZE.height}`;
  if (!groups.length) {
    return html`<figure class="report-chart">${head}
      <svg class="chart-svg" viewBox="${viewBox}" role="img" aria-label="${label}" data-testid="${testid}">
        <text class="chart-empty" x="${SIZE.width / 2}" y="${SIZE.height / 2}" text-anchor="middle">${empty}</text>
      </svg></figure>`;
  }
  const { ticks, yOf, columns } = layout({ groups, series, stacked, steps });
  const every = labelEvery(groups.length);
  const chars = Math.max(3, Math.floor((plotWidth / groups.length) * every / 6.2));
  const baseline = SIZE.top + plotHeight;
  // A column's tooltip: each series' words once (two "no first responses" are one).
  const groupTitle = (i) => `${groups[i].title ?? groups[i].label}: ${
    [...new Set(series.map((s) => s.describe(numeric(s.values[i]))))].join(', ')}`;
  const seriesOf = new Map(series.map((s) => [s.name, s]));
  return html`<figure class="report-chart">${head}
    <svg class="chart-svg" viewBox="${viewBox}" role="img" aria-label="${label}" data-testid="${testid}">
      ${ticks.map((value) => html`<line class="chart-grid" x1="${SIZE.left}" x2="${SIZE.width - SIZE.right}" y1="${yOf(value)}" y2="${yOf(value)}"></line>
        <text class="chart-tick" x="${SIZE.left - 6}" y="${yOf(value) + 3.5}" text-anchor="end">${tick(value)}</text>`)}
      ${columns.map((column, i) => html`<g class="chart-column" data-key="${column.key}"><title>${groupTitle(i)}</title>
        <rect class="chart-hit" x="${column.x}" y="${SIZE.top}" width="${column.width}" height="${plotHeight}"></rect>
        ${column.bars.map((bar) => html`<rect class="${`chart-bar series-${bar.series}`}" data-testid="report-bar"
          data-key="${bar.key}" data-series="${bar.series}" ${bar.value === null ? '' : html`data-value="${bar.value}"`}
          x="${bar.x}" y="${bar.y}" width="${bar.width}" height="${bar.height}"><title>${
            `${groups[i].title ?? groups[i].label}: ${seriesOf.get(bar.series).describe(bar.value)}`}</title></rect>`)}
        ${i % every === 0 ? html`<text class="chart-label" x="${column.middle}" y="${SIZE.height - 8}" text-anchor="middle">${clip(groups[i].label, chars)}</text>` : ''}
      </g>`)}
      <line class="chart-axis" x1="${SIZE.left}" x2="${SIZE.width - SIZE.right}" y1="${baseline}" y2="${baseline}"></line>
    </svg></figure>`;
}
