// The "Search help" screen's markup, with no DOM: the search box, and the
// help center articles that match (title, the section's heading, a snippet,
// the page opened in a new tab). Touches no DOM, so that `node --test` can
// load it.

import { html } from '../shared/html.js';
import { plainText } from '../shared/markdown.js';
import { safeHref } from '../shared/links.js';
import { t } from './i18n.js';

/** Shorter queries are not sent. */
export const MIN_QUERY = 2;
const SNIPPET_MAX = 180;

export function snippetText(text) {
  const plain = plainText(text);
  if (plain.length <= SNIPPET_MAX) return plain;
  const cut = plain.slice(0, SNIPPET_MAX);
  const space = cut.lastIndexOf(' ');
  return `${(space > SNIPPET_MAX * 0.6 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

export function helpView(query = '') {
  return html`
    <section class="help" aria-labelledby="help-title" data-testid="messenger-help">
      <h2 id="help-title" class="section-title">${t('searchHelp')}</h2>
      <form class="help-search" role="search" data-testid="messenger-help-form">
        <label class="sr-only" for="help-query">${t('searchArticles')}</label>
        <input id="help-query" type="search" value="${query}" placeholder="${t('searchForAnswers')}" autocomplete="off"
          enterkeyhint="search" maxlength="200" data-testid="messenger-help-input">
      </form>
      <div id="help-results" class="help-results-region" aria-live="polite"></div>
    </section>`;
}

function result(hit) {
  const href = safeHref(hit?.url);
  const inner = html`<span class="help-result-title">${hit?.title || t('untitled')}</span>
    ${hit?.heading ? html`<span class="help-result-heading">${hit.heading}</span>` : ''}
    ${hit?.snippet ? html`<span class="help-result-snippet">${snippetText(hit.snippet)}</span>` : ''}`;
  return html`<li>${href
    ? html`<a class="help-result" href="${href}" target="_blank" rel="noopener noreferrer" data-testid="messenger-help-result">${inner}
      <span class="sr-only">(opens in a new tab)</span></a>`
    : html`<div class="help-result" data-testid="messenger-help-result">${inner}</div>`}</li>`;
}

const askUs = html`<p class="help-ask">Can't find it?
  <button type="button" class="link-button" data-action="new" data-testid="messenger-help-ask">${t('sendUsAMessage')}</button></p>`;

/**
 * The results region for `{query, status: 'idle' | 'searching' | 'done' |
 * 'error', results, error}`.
 */
export function helpResultsView({ query = '', status = 'idle', results = [], error = '' } = {}) {
  const q = String(query).trim();
  if (q.length < MIN_QUERY || status === 'idle') {
    return html`<p class="muted help-hint">${t('typeToSearch')}</p>${askUs}`;
  }
  if (status === 'error') return html`<p class="part-error" role="alert">${error || t('searchUnavailable')}</p>${askUs}`;
  if (status === 'searching' && !results.length) return html`<p class="muted help-hint">${t('searching')}</p>`;
  if (!results.length) return html`<p class="muted help-hint" data-testid="messenger-help-empty">No articles match “${q}”.</p>${askUs}`;
  return html`<ul class="help-results" data-testid="messenger-help-results">${results.map(result)}</ul>${askUs}`;
}
