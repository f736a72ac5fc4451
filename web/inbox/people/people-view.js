// `#/people`: everyone the workspace talks to. Saved segments on the left
// (segments.js); the filter builder, the live count, and a table of the
// people who match (people-table.js: sortable, with columns of one's
// choosing, more rows as one scrolls; people-search.js asks). Rows can be
// ticked, or every match chosen at once, and sent a chat message
// (bulk-compose.js). The filter, sort and columns outlive a visit to a
// profile and back.

import { html, render } from '../../shared/html.js';
import { state, subscribe } from '../data/store.js';
import { loadPeopleSchema } from '../data/people.js';
import { renderKeepingFocus } from '../ui/focus.js';
import { mountFilterBuilder } from './filter-builder.js';
import { newGroup, propertyTypes } from './people-filter.js';
import { canBulkSend, bulkAudience, previewRecipients } from './bulk-sends.js';
import { openBulkComposer } from './bulk-compose.js';
import {
  loadColumns, saveColumns, selectionSize, pageTicked, countView, toolbarView, columnsMenu, bannerView, tableView,
  footerView,
} from './people-table.js';
import { createSegments } from './segments.js';
import { createSearch } from './people-search.js';

// What the page remembers between visits (until the Inbox is reloaded).
const memory = {
  group: null,
  segmentId: null,
  sort: 'last_seen_at',
  order: 'desc',
};

const layout = () => html`
  <main id="main" class="page wide-page people-page" tabindex="-1" data-testid="people-view">
    <div class="people-layout">
      <nav class="segment-nav" aria-label="Segments" data-region="segments"></nav>
      <div class="people-main">
        <div class="page-head">
          <h1>People</h1>
          <span class="people-count" role="status" aria-live="polite" data-testid="people-count"></span>
          <span class="top-spacer"></span>
          <a class="button small" href="#/bulk-sends" data-testid="bulk-sends-link">Bulk sends</a>
          <a class="button small" href="#/people/import" data-testid="people-import-link">Import CSV</a>
        </div>
        <section class="card filter-card" aria-label="Filter" data-region="builder"></section>
        <div class="people-actions">
          <div class="people-actions-main" data-region="actions"></div>
          <div data-region="columns"></div>
        </div>
        <div data-region="segment-form"></div>
        <div data-region="banner"></div>
        <div class="table-wrap" data-region="table"></div>
        <div class="table-footer" data-region="footer"></div>
      </div>
    </div>
  </main>`;

export function mountPeopleView(element) {
  // Listeners on the shared view element go when the view does.
  const listening = new AbortController();
  const listen = (type, fn) => element.addEventListener(type, fn, { signal: listening.signal });
  // The page's state; people-table.js draws from it, segments.js and people-search.js change it.
  const page = {
    alive: true,
    schema: state.peopleSchema ?? { properties: [], events: [], tags: [] },
    segments: [],
    segmentsStatus: 'loading',
    activeSegmentId: memory.segmentId,
    segmentBaseline: null, // the active segment's filter, canonical, to tell when it was changed
    savingSegment: false, // the "Save as segment" form is open
    confirmDelete: null, // segment id asking "Delete?"
    columns: loadColumns(),
    sort: memory.sort,
    order: memory.order,
    view: {
      rows: [],
      count: null,
      nextCursor: null,
      status: 'loading', // loading | ready | error
      error: '',
      loadingMore: false,
    },
    selected: new Set(),
    allMatching: false,
    lastFilterKey: null, // the filter the rows are for (selection is cleared when it changes)
    lastRequestKey: null,
  };
  const { view } = page;
  let composer = null; // the open bulk composer, closed if the page is left

  render(element, layout());
  const main = element.querySelector('main');
  const regions = Object.fromEntries([...element.querySelectorAll('[data-region]')].map((el) => [el.dataset.region, el]));
  const countSlot = element.querySelector('[data-testid="people-count"]');

  const builder = mountFilterBuilder(regions.builder, {
    initial: memory.group ?? newGroup('and'),
    getSchema: () => page.schema,
    getSegments: () => page.segments,
    onChange: () => {
      memory.group = builder.group;
      drawActions();
      searcher.schedule();
    },
  });

  // --- Drawing ---------------------------------------------------------------------

  const drawCount = () => {
    render(countSlot, countView(page));
    countSlot.classList.toggle('is-stale', view.status === 'loading');
  };
  const drawActions = () => renderKeepingFocus(regions.actions, toolbarView(page, {
    segment: segments.active(),
    changed: segments.changed(),
    allowed: canBulkSend(state.me, state.workspace),
  }));
  // Drawn only when the schema changes, so an open menu stays open.
  const drawColumnsMenu = () => renderKeepingFocus(regions.columns, columnsMenu(page));
  const drawBanner = () => render(regions.banner, bannerView(page));
  const drawTable = () => {
    const fragment = tableView(page, propertyTypes(page.schema));
    if (view.rows.length) renderKeepingFocus(regions.table, fragment);
    else render(regions.table, fragment);
    const pageBox = regions.table.querySelector('[data-action="tick-page"]');
    if (pageBox) pageBox.indeterminate = pageBox.hasAttribute('data-indeterminate');
  };
  const drawFooter = () => render(regions.footer, footerView(page));
  const drawAll = () => {
    drawCount();
    drawActions();
    drawBanner();
    drawTable();
    drawFooter();
  };

  const segments = createSegments({ page, memory, regions, builder, drawActions, search: () => searcher.search() });
  const searcher = createSearch({
    page,
    builder,
    busy: (on) => (on ? main.setAttribute('aria-busy', 'true') : main.removeAttribute('aria-busy')),
    drawProgress: () => {
      drawFooter();
      drawCount();
    },
    drawAll,
  });

  // --- Events ------------------------------------------------------------------------

  const sortBy = (key) => {
    if (page.sort === key) page.order = page.order === 'asc' ? 'desc' : 'asc';
    else {
      page.sort = key;
      page.order = key === 'name' ? 'asc' : 'desc';
    }
    memory.sort = page.sort;
    memory.order = page.order;
    view.nextCursor = null;
    searcher.search();
    drawTable();
  };

  listen('click', (event) => {
    const target = event.target;
    if (segments.click(target)) return;
    const button = target.closest('button');
    if (button?.dataset.sort) {
      sortBy(button.dataset.sort);
      return;
    }
    // A disabled menu does not open.
    if (target.closest('summary[aria-disabled="true"]')) {
      event.preventDefault();
      return;
    }
    switch (button?.dataset.action) {
      case 'more':
        searcher.search({ more: true });
        break;
      case 'select-all':
        page.allMatching = true;
        drawAll();
        regions.banner.querySelector('[data-action="clear-selection"]')?.focus();
        break;
      case 'clear-selection':
        page.allMatching = false;
        page.selected = new Set();
        drawAll();
        regions.table.querySelector('[data-action="tick-page"]')?.focus();
        break;
      case 'chat-message':
        button.closest('details')?.removeAttribute('open');
        openComposer();
        break;
      case 'save-segment':
        page.savingSegment = !page.savingSegment;
        drawActions();
        segments.drawForm();
        break;
      case 'cancel-segment':
        page.savingSegment = false;
        segments.drawForm();
        drawActions();
        regions.actions.querySelector('[data-action="save-segment"]')?.focus();
        break;
      case 'update-segment':
        segments.update(button);
        break;
      default:
    }
  });

  const tick = (box) => {
    if (page.allMatching) {
      // Unticking one of "all matching" leaves everyone shown but them.
      page.allMatching = false;
      page.selected = new Set(view.rows.map((row) => row.id));
    }
    if (box.checked) page.selected.add(box.dataset.tick);
    else page.selected.delete(box.dataset.tick);
    box.closest('tr')?.classList.toggle('is-ticked', box.checked);
    drawActions();
    drawBanner();
    const pageBox = regions.table.querySelector('[data-action="tick-page"]');
    if (pageBox) {
      pageBox.checked = pageTicked(page);
      pageBox.indeterminate = !pageBox.checked && view.rows.some((row) => page.selected.has(row.id));
    }
  };

  listen('change', (event) => {
    const target = event.target;
    if (target.dataset.tick) {
      tick(target);
    } else if (target.dataset.action === 'tick-page') {
      if (target.checked) for (const row of view.rows) page.selected.add(row.id);
      else {
        page.allMatching = false;
        page.selected = new Set();
      }
      drawActions();
      drawBanner();
      drawTable();
    } else if (target.dataset.column) {
      const name = target.dataset.column;
      page.columns = target.checked ? [...new Set([...page.columns, name])] : page.columns.filter((c) => c !== name);
      saveColumns(page.columns);
      drawTable();
    }
  });

  listen('submit', (event) => {
    const form = event.target;
    if (form.dataset.form !== 'segment') return;
    event.preventDefault();
    segments.save(form);
  });

  // Esc closes an open menu and returns to its button.
  listen('keydown', (event) => {
    if (event.key !== 'Escape') return;
    const menu = event.target.closest('details[open]');
    if (menu) {
      menu.removeAttribute('open');
      menu.querySelector('summary')?.focus();
      event.preventDefault();
    }
  });

  const openComposer = () => {
    const { filter } = builder.compiled();
    const { allMatching, selected } = page;
    const audience = bulkAudience({ allMatching, filter, selectedIds: selected });
    if (!audience) return;
    composer = openBulkComposer({
      audience,
      size: selectionSize(page),
      recipients: previewRecipients({ allMatching, rows: view.rows, selectedIds: selected }),
      returnFocus: regions.actions.querySelector('summary'),
    });
  };

  // More rows as the footer comes into view.
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((entry) => entry.isIntersecting) && view.nextCursor && view.status === 'ready' && !view.loadingMore) {
      searcher.search({ more: true });
    }
  }, { rootMargin: '200px' });
  observer.observe(regions.footer);

  const offs = [
    subscribe('schema', (s) => {
      page.schema = s.peopleSchema ?? page.schema;
      builder.redraw();
      drawColumnsMenu();
      drawTable();
      // Property types may change how a value is sent (a number, not text).
      searcher.schedule();
    }),
    subscribe('session', drawActions),
    subscribe('agents', drawActions),
  ];

  segments.draw();
  drawColumnsMenu();
  drawAll();
  main.focus();
  // Read the schema again on each visit: new properties, events and tags appear.
  loadPeopleSchema({ force: true }).catch((error) => console.warn('people schema:', error.message));
  segments.load();
  searcher.search();

  return () => {
    page.alive = false;
    listening.abort();
    memory.group = builder.group;
    searcher.stop();
    observer.disconnect();
    offs.forEach((off) => off());
    composer?.close();
  };
}
