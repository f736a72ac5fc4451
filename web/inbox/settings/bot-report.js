// The AI bot's report as markup, with no DOM: the totals and resolution
// rate, a bar per day with its conversations stacked by outcome (a small
// inline SVG, with the same numbers in a table for screen readers), the
// questions it could not answer most often and the articles it answered
// from most. Touches no DOM, so that `node --test` can load it.

import { html } from '../../shared/html.js';

/** The outcomes, bottom of a bar first; `pending` is what has no outcome yet. */
export const OUTCOMES = [
  ['resolved_confirmed', 'Resolved (confirmed)'],
  ['resolved_assumed', 'Resolved (assumed)'],
  ['handed_over', 'Handed over'],
  ['unanswered', 'Unanswered'],
  ['pending', 'No outcome yet'],
];

const count = (value) => Math.max(0, Math.floor(Number(value) || 0));

/** A day's numbers, with `pending`: conversations without an outcome yet. */
export function dayCounts(day) {
  const counts = {};
  let decided = 0;
  for (const [key] of OUTCOMES.slice(0, 4)) {
    counts[key] = count(day?.[key]);
    decided += counts[key];
  }
  counts.pending = Math.max(0, count(day?.conversations) - decided);
  counts.total = decided + counts.pending;
  return counts;
}

/** The sums over the days, with `conversations`. */
export function totals(days) {
  const sum = { conversations: 0 };
  for (const [key] of OUTCOMES) sum[key] = 0;
  for (const day of days ?? []) {
    const counts = dayCounts(day);
    for (const [key] of OUTCOMES) sum[key] += counts[key];
    sum.conversations += counts.total;
  }
  return sum;
}

/** A rate of 0 to 1 as a percentage, or a dash when there is none. */
export function rateText(rate) {
  if (rate === null || rate === undefined || !Number.isFinite(Number(rate))) return '—';
  return `${Math.round(Math.max(0, Math.min(1, Number(rate))) * 100)}%`;
}

const round = (n) => Math.round(n * 100) / 100;

/**
 * Where each bar and segment goes in a chart `height` high and at most
 * `maxWidth` wide: `{width, height, max, bars: [{day, x, width, total,
 * segments: [{key, value, y, height}]}]}`, days oldest first. Segments
 * stack from the bottom, in OUTCOMES' order, without gaps.
 */
export function chartData(days, { height = 120, maxWidth = 640 } = {}) {
  const sorted = [...(days ?? [])].filter((d) => d && d.day).sort((a, b) => String(a.day).localeCompare(String(b.day)));
  const step = sorted.length ? Math.max(4, Math.min(28, Math.floor(maxWidth / sorted.length))) : 28;
  const barWidth = Math.max(2, Math.round(step * 0.72));
  const counted = sorted.map((day) => ({ day: day.day, counts: dayCounts(day) }));
  const max = Math.max(0, ...counted.map((d) => d.counts.total));
  const bars = counted.map(({ day, counts }, i) => {
    const segments = [];
    let below = 0;
    for (const [key] of OUTCOMES) {
      const value = counts[key];
      if (!value) continue;
      const top = height - ((below + value) / max) * height;
      const bottom = height - (below / max) * height;
      segments.push({ key, value, y: round(top), height: round(bottom - top) });
      below += value;
    }
    return { day, x: i * step, width: barWidth, total: counts.total, counts, segments };
  });
  return { width: sorted.length * step, height, max, bars };
}

/** "2026-03-01: 5 conversations — 2 resolved (confirmed), …" for a bar's tooltip. */
export function barLabel(bar) {
  const parts = OUTCOMES.filter(([key]) => bar.counts[key]).map(([key, label]) => `${bar.counts[key]} ${label.toLowerCase()}`);
  return `${bar.day}: ${bar.total} ${bar.total === 1 ? 'conversation' : 'conversations'}${parts.length ? ` — ${parts.join(', ')}` : ''}`;
}

const AXIS = 16; // room under the bars for the first and last day

/** The chart: an SVG of stacked bars, its legend, and a table of the same numbers for screen readers. */
export function reportChart(days) {
  const data = chartData(days);
  if (!data.bars.length) return html`<p class="muted" data-testid="bot-chart-empty">No days to show yet.</p>`;
  const first = data.bars[0];
  const last = data.bars[data.bars.length - 1];
  return html`<figure class="bot-chart" data-testid="bot-chart">
    <div class="bot-chart-scroll">
      <svg class="bot-chart-svg" width="${data.width}" height="${data.height + AXIS}" viewBox="${`0 0 ${data.width} ${data.height + AXIS}`}"
        aria-hidden="true" focusable="false">
        <line class="bot-chart-axis" x1="0" x2="${data.width}" y1="${data.height + 0.5}" y2="${data.height + 0.5}"></line>
        ${data.bars.map((bar) => html`<g class="bot-bar" data-day="${bar.day}"><title>${barLabel(bar)}</title>
          <rect class="bot-bar-hit" x="${bar.x}" y="0" width="${bar.width}" height="${data.height}"></rect>
          ${bar.segments.map((s) => html`<rect class="${`bot-seg seg-${s.key}`}" x="${bar.x}" y="${s.y}" width="${bar.width}" height="${s.height}"></rect>`)}
        </g>`)}
        <text class="bot-chart-label" x="0" y="${data.height + AXIS - 3}">${first.day}</text>
        ${data.bars.length > 1 ? html`<text class="bot-chart-label" x="${data.width}" y="${data.height + AXIS - 3}" text-anchor="end">${last.day}</text>` : ''}
        ${data.max ? html`<text class="bot-chart-label" x="${data.width}" y="10" text-anchor="end">${data.max}</text>` : ''}
      </svg>
    </div>
    <figcaption>
      <ul class="bot-legend">${OUTCOMES.map(([key, label]) => html`<li><span class="${`bot-swatch seg-${key}`}" aria-hidden="true"></span>${label}</li>`)}</ul>
    </figcaption>
    <table class="visually-hidden">
      <caption>Conversations per day by outcome</caption>
      <thead><tr><th scope="col">Day</th><th scope="col">Conversations</th>${OUTCOMES.map(([, label]) => html`<th scope="col">${label}</th>`)}</tr></thead>
      <tbody>${data.bars.map((bar) => html`<tr><th scope="row">${bar.day}</th><td>${bar.total}</td>
        ${OUTCOMES.map(([key]) => html`<td>${bar.counts[key]}</td>`)}</tr>`)}</tbody>
    </table>
  </figure>`;
}

/** The whole report: numbers, chart, unanswered questions, articles. */
export function reportView(report) {
  const sum = totals(report?.days);
  const unanswered = report?.unanswered ?? [];
  const articles = report?.articles ?? [];
  return html`
    <dl class="stats" data-testid="bot-report-stats">
      <div class="stat"><dt>Resolution rate</dt><dd data-testid="bot-resolution-rate">${rateText(report?.resolution_rate)}</dd></div>
      <div class="stat"><dt>Conversations</dt><dd>${sum.conversations}</dd></div>
      ${OUTCOMES.slice(0, 4).map(([key, label]) => html`<div class="stat"><dt>${label}</dt><dd>${sum[key]}</dd></div>`)}
    </dl>
    ${reportChart(report?.days)}
    <div class="page-columns bot-report-lists">
      <section aria-labelledby="bot-unanswered-title">
        <h3 id="bot-unanswered-title">Top unanswered questions</h3>
        ${unanswered.length ? html`<ol class="bot-list" data-testid="bot-unanswered">${unanswered.map((q) => html`<li>
          <span class="bot-question">${q.question}</span> <span class="muted small">×${q.count}</span></li>`)}</ol>`
        : html`<p class="muted">No unanswered questions in these days.</p>`}
      </section>
      <section aria-labelledby="bot-articles-title">
        <h3 id="bot-articles-title">Top articles</h3>
        ${articles.length ? html`<ol class="bot-list" data-testid="bot-articles">${articles.map((a) => html`<li>
          <a href="${`#/knowledge/${encodeURIComponent(a.article_id)}`}">${a.title || 'Untitled'}</a>
          <span class="muted small">${a.answers} ${Number(a.answers) === 1 ? 'answer' : 'answers'}</span></li>`)}</ol>`
        : html`<p class="muted">No answers from articles yet.</p>`}
      </section>
    </div>`;
}
