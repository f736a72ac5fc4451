// The articles a bot answer or a suggested reply came from, as links: the
// help center page (in a new tab) and the article in the knowledge base.

import { html } from '../../shared/html.js';
import { safeHref } from '../../shared/links.js';

/** `sources`: `[{article_id, title, url}]`; nothing when there are none. */
export function sourceLinks(sources, { label = 'Sources' } = {}) {
  const list = (Array.isArray(sources) ? sources : []).filter((s) => s && (s.title || s.article_id));
  if (!list.length) return '';
  return html`<div class="source-links" data-testid="source-links">
    <span class="source-label">${label}:</span>
    <ul>${list.map((source) => {
      const href = safeHref(source.url);
      const title = source.title || 'Untitled article';
      return html`<li data-testid="source-link" data-article-id="${source.article_id ?? ''}">${href
        ? html`<a href="${href}" target="_blank" rel="noopener noreferrer">${title}</a>` : html`<span>${title}</span>`}${source.article_id
        ? html` <a class="source-edit" href="${`#/knowledge/${encodeURIComponent(source.article_id)}`}"
          aria-label="${`Open ${title} in the knowledge base`}">edit</a>` : ''}</li>`;
    })}</ul>
  </div>`;
}
