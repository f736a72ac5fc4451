// The profile's timeline: everything that happened to the contact, newest
// first, one line each. Chips narrow it to a few kinds (sent as `kinds=`);
// older entries load as the end of the list scrolls into view; live
// entries for this contact are added as they happen.

import { html, render } from '../../shared/html.js';
import { plainText } from '../../shared/markdown.js';
import { timelinePage } from '../data/contacts.js';
import { agentName, subscribe } from '../data/store.js';
import { onActivity } from '../data/activity.js';
import { renderKeepingFocus } from '../ui/focus.js';
import { relativeTime, fullTime, messageTime } from '../ui/time.js';
import {
  TIMELINE_FILTERS, timelineQuery, entryMatchesFilter, mergeEntries, describeEntry,
} from './timeline.js';

const PAGE_SIZE = 30;

/** `getContactName()` names the contact in lines like "Ada read the conversation". */
export function mountContactTimeline(element, { contactId, getContactName }) {
  let alive = true;
  let filter = 'all';
  let entries = [];
  let nextCursor = null;
  let status = 'loading'; // loading | ready | error
  let error = '';
  let loadingMore = false;
  let generation = 0;

  render(element, html`
    <div class="card-head">
      <h2 id="timeline-title">Timeline</h2>
    </div>
    <div class="chip-row" role="group" aria-label="Show on the timeline" data-region="chips"></div>
    <ol class="timeline" aria-labelledby="timeline-title" data-testid="timeline" data-region="list"></ol>
    <div class="timeline-end" data-region="end"></div>`);
  const chips = element.querySelector('[data-region="chips"]');
  const list = element.querySelector('[data-region="list"]');
  const end = element.querySelector('[data-region="end"]');

  const names = () => ({ agent: agentName, contact: getContactName(), plainText });

  const entryView = (entry) => {
    const line = describeEntry(entry, names());
    const text = line.href
      ? html`<a href="${line.href}" data-focus-key="${`entry:${entry.seq}`}">${line.text}</a>` : line.text;
    return html`
      <li class="timeline-entry tone-${line.tone}" data-testid="timeline-entry" data-kind="${entry.kind}" data-seq="${entry.seq}">
        <span class="timeline-icon" aria-hidden="true">${line.icon}</span>
        <div class="timeline-text">
          <span class="timeline-label">${line.label}</span>
          <span class="timeline-line" data-testid="timeline-text">${text}${line.until
            ? html` until <time datetime="${line.until}">${messageTime(line.until)}</time>` : ''}</span>
        </div>
        <time class="timeline-time" datetime="${entry.created_at}" title="${fullTime(entry.created_at)}">${relativeTime(entry.created_at)}</time>
      </li>`;
  };

  const drawChips = () => {
    renderKeepingFocus(chips, html`${TIMELINE_FILTERS.map((f) => html`
      <button type="button" class="chip-button" aria-pressed="${String(f.key === filter)}" data-filter="${f.key}"
        data-focus-key="${`filter:${f.key}`}" data-testid="${`timeline-filter-${f.key}`}">${f.label}</button>`)}`);
  };

  const draw = () => {
    renderKeepingFocus(list, entries.length
      ? html`${entries.map(entryView)}`
      : html`<li class="timeline-empty muted">${status === 'loading' ? 'Loading…'
        : status === 'error' ? '' : 'Nothing here yet.'}</li>`);
    if (status === 'error') {
      render(end, html`<p class="form-error" role="alert">${error}
        <button type="button" class="button small" data-action="retry">Try again</button></p>`);
    } else if (nextCursor) {
      render(end, html`<button type="button" class="button ghost small wide" data-action="more" data-testid="timeline-more"
        ${loadingMore ? html`disabled` : ''}>${loadingMore ? 'Loading…' : 'Show older'}</button>`);
    } else {
      render(end, entries.length ? html`<p class="muted small">That is everything.</p>` : html``);
    }
  };

  const load = async ({ more = false, merge = false } = {}) => {
    const mine = more ? generation : ++generation;
    if (more) {
      if (!nextCursor || loadingMore) return;
      loadingMore = true;
    } else if (!merge) {
      status = 'loading';
      entries = [];
      nextCursor = null;
    }
    draw();
    try {
      const page = await timelinePage(contactId,
        timelineQuery({ limit: PAGE_SIZE, cursor: more ? nextCursor : null, filter }));
      if (!alive || mine !== generation) return;
      const data = page?.data ?? [];
      if (more) {
        entries = mergeEntries(entries, data);
        nextCursor = page?.next_cursor ?? null;
      } else if (merge) {
        // Newest entries again (after sending): add what is new, keep the place in older pages.
        entries = mergeEntries(entries, data);
        if (!entries.length || !nextCursor) nextCursor = page?.next_cursor ?? null;
      } else {
        entries = mergeEntries([], data);
        nextCursor = page?.next_cursor ?? null;
      }
      status = 'ready';
    } catch (failure) {
      if (!alive || mine !== generation) return;
      if (more) console.warn('timeline:', failure.message);
      else {
        status = 'error';
        error = failure.status === 404 ? 'No such contact.' : failure.message;
      }
    } finally {
      if (more) loadingMore = false;
    }
    if (alive) draw();
  };

  element.addEventListener('click', (event) => {
    const chip = event.target.closest('[data-filter]');
    if (chip) {
      if (chip.dataset.filter === filter) return;
      filter = chip.dataset.filter;
      drawChips();
      load();
      return;
    }
    const action = event.target.closest('[data-action]')?.dataset.action;
    if (action === 'more') load({ more: true });
    else if (action === 'retry') load();
  });

  // Older entries as the end of the list comes near.
  const observer = new IntersectionObserver((seen) => {
    if (seen.some((entry) => entry.isIntersecting) && nextCursor && status === 'ready' && !loadingMore) {
      load({ more: true });
    }
  }, { rootMargin: '300px' });
  observer.observe(end);

  const offs = [
    onActivity((frame) => {
      if (frame.contact_id !== contactId || status !== 'ready' || !entryMatchesFilter(frame, filter)) return;
      const { type: _type, ...entry } = frame;
      entries = mergeEntries(entries, [entry]);
      draw();
    }),
    subscribe('agents', () => draw()),
  ];

  drawChips();
  load();

  return {
    /** Reads the newest entries again (after sending a message). */
    refresh: () => load({ merge: true }),
    destroy() {
      alive = false;
      observer.disconnect();
      offs.forEach((off) => off());
    },
  };
}
