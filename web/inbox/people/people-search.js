// The People page's search: the filter builder's filter, with the sort, as
// one request at a time (a newer one aborts the older), a page of rows
// more as one scrolls, and the server's 422 placed on the filter row its
// field names.

import { searchContacts } from '../data/people.js';
import { locateField, canonicalJson } from './people-filter.js';

const PAGE_SIZE = 50;
const SEARCH_DEBOUNCE_MS = 250;

/**
 * Searches for the People page whose state is `page` (people-view.js);
 * `busy(on)` marks the page busy, `drawProgress` shows a search starting,
 * `drawAll` its answer.
 */
export function createSearch({ page, builder, busy, drawProgress, drawAll }) {
  const { view } = page;
  let timer = null;
  let abort = null;

  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(() => search(), SEARCH_DEBOUNCE_MS);
  };

  // A 422 lands on the row its field names; anything else says what went wrong above the table.
  const showProblem = (error, paths) => {
    const rowErrors = {};
    const loose = [];
    for (const { field, message } of error.problem?.errors ?? []) {
      const place = locateField(field, paths);
      if (place?.id) rowErrors[place.id] = { message, part: place.part ?? '' };
      else loose.push(field && !place ? `${field}: ${message}` : message);
    }
    const top = loose.join(' ') || (Object.keys(rowErrors).length ? '' : error.message);
    builder.showErrors(rowErrors, error.status === 422 ? top : '');
    // A 422 is shown on the filter itself; anything else above the table.
    view.error = error.status === 422 ? '' : error.message;
  };

  const search = async ({ more = false } = {}) => {
    const { filter, paths } = builder.compiled();
    const filterKey = canonicalJson(filter);
    const requestKey = `${filterKey}|${page.sort}|${page.order}`;
    // The same question again (an input's change after its input events): nothing to do.
    if (!more && requestKey === page.lastRequestKey && view.status !== 'error') return;
    // More rows only for the rows on screen (a new filter's answer is on its way otherwise).
    if (more && (!view.nextCursor || view.loadingMore || view.status !== 'ready')) return;
    abort?.abort();
    const mine = new AbortController();
    abort = mine;
    const body = { filter, sort: page.sort, order: page.order, limit: PAGE_SIZE };
    if (more) {
      body.cursor = view.nextCursor;
      view.loadingMore = true;
    } else {
      page.lastRequestKey = requestKey;
      view.status = 'loading';
      busy(true);
    }
    drawProgress();
    try {
      const answer = await searchContacts(body, mine.signal);
      if (!page.alive || mine.signal.aborted) return;
      const data = answer?.data ?? [];
      if (more) {
        const known = new Set(view.rows.map((row) => row.id));
        view.rows = [...view.rows, ...data.filter((row) => !known.has(row.id))];
      } else {
        view.rows = data;
        if (filterKey !== page.lastFilterKey) {
          page.selected = new Set();
          page.allMatching = false;
        }
        page.lastFilterKey = filterKey;
      }
      view.count = typeof answer?.count === 'number' ? answer.count : view.rows.length;
      view.nextCursor = answer?.next_cursor ?? null;
      view.status = 'ready';
      view.error = '';
      builder.showErrors({}, '');
    } catch (error) {
      if (!page.alive || mine.signal.aborted || error.name === 'AbortError') return;
      if (more) {
        view.error = error.message;
      } else {
        view.status = 'error';
        page.lastRequestKey = null;
        showProblem(error, paths);
      }
    } finally {
      if (abort === mine) {
        view.loadingMore = false;
        busy(false);
      }
    }
    if (!page.alive || mine.signal.aborted) return;
    drawAll();
  };

  const stop = () => {
    clearTimeout(timer);
    abort?.abort();
  };

  return { search, schedule, stop };
}
