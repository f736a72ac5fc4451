// `#/knowledge`: the knowledge base's articles, filtered by status and
// collection, a page at a time; a search box that asks the search the bot
// uses (its passages, with how sure it is); a new article; importing
// Markdown files (chosen, or dropped anywhere on the page; see
// kb-import.js) and exporting every article as one JSON file.

import { html, render } from '../../shared/html.js';
import { listArticles, searchArticles, exportArticles } from '../data/knowledge.js';
import { announce, agentName } from '../data/store.js';
import { relativeTime, fullTime } from '../ui/time.js';
import { downloadJson } from '../automations/automation-bits.js';
import { STATUSES, statusLabel, collectionsOf, searchResultView, searchModeText, exportFileName } from './articles.js';
import { mountImport } from './kb-import.js';

const SEARCH_DEBOUNCE_MS = 250;

function statusBadge(status) {
  return html`<span class="${`status-badge kb-${status}`}" data-testid="article-status" data-status="${status}">${statusLabel(status)}</span>`;
}

function articleRow(article) {
  return html`<tr data-testid="article-row" data-article-id="${article.id}">
    <td><a href="${`#/knowledge/${encodeURIComponent(article.id)}`}">${article.title || 'Untitled'}</a>
      <span class="muted small kb-slug">/${article.slug}</span></td>
    <td>${article.collection}</td>
    <td>${article.language}</td>
    <td>${statusBadge(article.status)}</td>
    <td class="numeric">${article.revision}</td>
    <td><time datetime="${article.updated_at}" title="${fullTime(article.updated_at)}">${relativeTime(article.updated_at)}</time>
      ${article.author_id ? html`<span class="muted small"> · ${agentName(article.author_id)}</span>` : ''}</td>
  </tr>`;
}

export function mountKnowledgeView(element) {
  let alive = true;
  const listening = new AbortController();
  const listen = (type, fn) => element.addEventListener(type, fn, { signal: listening.signal });
  const view = {
    status: '',
    collection: '',
    articles: [],
    collections: [],
    next: null,
    loading: true,
    loadingMore: false,
    error: '',
    query: '',
    search: null, // {mode, data} while a query is shown
    searchError: '',
  };
  let listAbort = null;
  let searchAbort = null;
  let searchTimer = null;

  render(element, html`
    <main id="main" class="page wide-page kb-page" tabindex="-1" data-testid="knowledge-view">
      <div class="page-head">
        <h1>Knowledge base</h1>
        <span class="top-spacer"></span>
        <a class="button small primary" href="#/knowledge/new" data-testid="article-new">New article</a>
        <label class="button small file-button" data-testid="kb-import">Import…
          <input type="file" accept=".md,.markdown,text/markdown" multiple class="visually-hidden"
            data-action="import" data-testid="kb-import-file"></label>
        <button type="button" class="button small" data-action="export" data-testid="kb-export">Export</button>
      </div>
      <p class="muted">Published articles are what the help center shows and what the AI bot answers from, one
        <code>##</code> section at a time. Drop Markdown files anywhere on this page to import them.</p>
      <div data-region="import"></div>
      <p class="form-error" role="alert" data-region="error"></p>
      <div class="kb-tools">
        <div class="field kb-search">
          <label for="kb-search">Search the articles</label>
          <input id="kb-search" type="search" autocomplete="off" placeholder="A question, as a visitor would ask it"
            aria-describedby="kb-search-hint" data-testid="kb-search">
          <p class="field-hint" id="kb-search-hint" data-region="search-hint">Searches published articles the way the bot does.</p>
        </div>
        <div class="field">
          <label for="kb-status">Status</label>
          <select id="kb-status" data-filter="status" data-testid="kb-filter-status">
            <option value="">All</option>
            ${STATUSES.map(([value, label]) => html`<option value="${value}">${label}</option>`)}
          </select>
        </div>
        <div class="field">
          <label for="kb-collection">Collection</label>
          <select id="kb-collection" data-filter="collection" data-testid="kb-filter-collection"></select>
        </div>
      </div>
      <div data-region="results"></div>
      <div data-region="list"><p role="status">Loading…</p></div>
    </main>`);
  const main = element.querySelector('main');
  const listRegion = element.querySelector('[data-region="list"]');
  const resultsRegion = element.querySelector('[data-region="results"]');
  const errorLine = element.querySelector('[data-region="error"]');
  const searchHint = element.querySelector('[data-region="search-hint"]');
  const collectionSelect = element.querySelector('[data-filter="collection"]');

  const drawCollections = () => {
    view.collections = collectionsOf([...view.collections.map((c) => ({ collection: c })), ...view.articles], view.collection);
    render(collectionSelect, html`<option value="">All</option>
      ${view.collections.map((name) => html`<option value="${name}" ${name === view.collection ? html`selected` : ''}>${name}</option>`)}`);
  };

  const drawList = () => {
    render(errorLine, html`${view.error}`);
    listRegion.hidden = Boolean(view.query);
    if (view.loading) {
      render(listRegion, html`<p role="status">Loading…</p>`);
      return;
    }
    if (!view.articles.length) {
      const filtered = view.status || view.collection;
      render(listRegion, html`<p class="muted" data-testid="articles-empty">${filtered
        ? 'No articles match these filters.'
        : 'No articles yet. Write one, or import Markdown files.'}</p>`);
      return;
    }
    render(listRegion, html`<table class="data-table" data-testid="articles-table">
      <caption class="visually-hidden">Articles</caption>
      <thead><tr><th scope="col">Title</th><th scope="col">Collection</th><th scope="col">Language</th>
        <th scope="col">Status</th><th scope="col" class="numeric">Revision</th><th scope="col">Updated</th></tr></thead>
      <tbody>${view.articles.map(articleRow)}</tbody></table>
      ${view.next ? html`<div class="table-footer"><button type="button" class="button small" data-action="more"
        data-testid="articles-more" ${view.loadingMore ? html`disabled` : ''}>${view.loadingMore ? 'Loading…' : 'Show more'}</button></div>` : ''}`);
  };

  const drawSearch = () => {
    listRegion.hidden = Boolean(view.query);
    render(searchHint, html`${view.search ? `Search: ${searchModeText(view.search.mode)}.` : 'Searches published articles the way the bot does.'}`);
    if (!view.query) {
      render(resultsRegion, html``);
      return;
    }
    if (view.searchError) {
      render(resultsRegion, html`<p class="form-error" role="alert">Could not search: ${view.searchError}</p>`);
      return;
    }
    if (!view.search) {
      render(resultsRegion, html`<p class="muted" role="status">Searching…</p>`);
      return;
    }
    render(resultsRegion, view.search.data.length
      ? html`<h2 class="kb-results-title">Best passages for “${view.query}”</h2>
        <ol class="kb-hits" data-testid="kb-search-results">${view.search.data.map(searchResultView)}</ol>`
      : html`<p class="muted" data-testid="kb-search-empty">No published article answers “${view.query}”.</p>`);
  };

  const load = async ({ more = false } = {}) => {
    listAbort?.abort();
    const abort = new AbortController();
    listAbort = abort;
    if (more) view.loadingMore = true;
    else view.loading = !view.articles.length;
    drawList();
    try {
      const page = await listArticles({
        status: view.status, collection: view.collection, after: more ? view.next : null, signal: abort.signal,
      });
      if (!alive || abort.signal.aborted) return;
      view.articles = more ? [...view.articles, ...page.data] : page.data;
      view.next = page.next;
      view.error = '';
    } catch (error) {
      if (!alive || abort.signal.aborted || error.name === 'AbortError') return;
      view.error = `Could not load the articles: ${error.message}`;
    }
    view.loading = false;
    view.loadingMore = false;
    drawCollections();
    drawList();
  };

  const search = async () => {
    searchAbort?.abort();
    const q = view.query;
    if (!q) {
      view.search = null;
      view.searchError = '';
      drawSearch();
      drawList();
      return;
    }
    const abort = new AbortController();
    searchAbort = abort;
    try {
      const answer = await searchArticles(q, { signal: abort.signal });
      if (!alive || abort.signal.aborted) return;
      view.search = answer;
      view.searchError = '';
      announce(`${answer.data.length} ${answer.data.length === 1 ? 'passage' : 'passages'} found`);
    } catch (error) {
      if (!alive || abort.signal.aborted || error.name === 'AbortError') return;
      view.search = null;
      view.searchError = error.message;
    }
    drawSearch();
  };

  listen('input', (event) => {
    if (event.target.id !== 'kb-search') return;
    const q = event.target.value.trim();
    if (q === view.query) return;
    view.query = q;
    view.search = null;
    view.searchError = '';
    clearTimeout(searchTimer);
    searchTimer = setTimeout(search, q ? SEARCH_DEBOUNCE_MS : 0);
    if (!q) drawList();
    drawSearch();
  });

  listen('keydown', (event) => {
    // Esc in the search box clears it (the browser does for type=search; this also brings the list back).
    if (event.key === 'Escape' && event.target.id === 'kb-search' && event.target.value) {
      event.preventDefault();
      event.target.value = '';
      event.target.dispatchEvent(new Event('input', { bubbles: true }));
    }
  });

  listen('change', (event) => {
    const { filter } = event.target.dataset;
    if (!filter) return;
    view[filter] = event.target.value;
    view.articles = [];
    view.next = null;
    load();
  });

  listen('click', async (event) => {
    const button = event.target.closest('button');
    if (!button) return;
    if (button.dataset.action === 'more') load({ more: true });
    else if (button.dataset.action === 'export') {
      button.disabled = true;
      try {
        const data = await exportArticles();
        downloadJson(data, exportFileName());
        const count = data?.files?.length ?? 0;
        announce(`Exported ${count} ${count === 1 ? 'article' : 'articles'}.`);
      } catch (error) {
        if (!alive) return;
        view.error = `Could not export: ${error.message}`;
        drawList();
      } finally {
        button.disabled = false;
      }
    }
  });

  const destroyImport = mountImport(element.querySelector('[data-region="import"]'), {
    dropTarget: main,
    fileInput: element.querySelector('[data-action="import"]'),
    onImported: () => {
      view.articles = [];
      load();
      if (view.query) search();
    },
  });

  drawCollections();
  main.focus();
  load();
  return () => {
    alive = false;
    listening.abort();
    listAbort?.abort();
    searchAbort?.abort();
    clearTimeout(searchTimer);
    destroyImport();
  };
}
