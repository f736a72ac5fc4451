// An article's revisions, newest first, beside its editor: each one can be
// viewed (its fields and a preview of its body) and restored, which saves
// its fields as a new revision (the editor's `onRestore`). Esc goes back
// from a revision to the list.
//
//   const panel = mountRevisionsPanel(element, { articleId, onRestore, isDirty });
//   panel.refresh(); panel.destroy();

import { html, render } from '../../shared/html.js';
import { listRevisions } from '../data/knowledge.js';
import { agentName } from '../data/store.js';
import { relativeTime, fullTime } from '../ui/time.js';
import { articlePreview, statusLabel } from './articles.js';

function byline(revision) {
  return revision.author_id ? agentName(revision.author_id) : 'an import';
}

export function mountRevisionsPanel(element, { articleId, onRestore, isDirty = () => false }) {
  let alive = true;
  const listening = new AbortController();
  const listen = (type, fn) => element.addEventListener(type, fn, { signal: listening.signal });
  let revisions = [];
  let status = 'loading'; // loading | ready | error
  let loadError = '';
  let viewing = null; // revision number shown
  let restoring = false;
  let restoreError = '';

  const current = () => revisions[0]?.revision;

  const listView = () => html`<ol class="kb-revisions" data-testid="article-revisions">
    ${revisions.map((revision) => html`<li data-revision="${revision.revision}">
      <button type="button" class="kb-revision" data-view-revision="${revision.revision}" data-testid="article-revision"
        aria-label="${`View revision ${revision.revision}`}">
        <span><strong>Revision ${revision.revision}</strong>${revision.revision === current() ? html` <span class="muted">(current)</span>` : ''}</span>
        <span class="muted small"><time datetime="${revision.created_at}" title="${fullTime(revision.created_at)}">${relativeTime(revision.created_at)}</time>
          · ${byline(revision)} · ${statusLabel(revision.status)}</span>
      </button>
    </li>`)}
  </ol>`;

  const revisionView = (revision) => html`<div class="kb-revision-view" data-testid="article-revision-view">
    <h3 tabindex="-1" data-focus="revision-title">Revision ${revision.revision}</h3>
    <dl class="kb-revision-meta">
      <dt>Title</dt><dd>${revision.title}</dd>
      <dt>Collection</dt><dd>${revision.collection}</dd>
      <dt>Language</dt><dd>${revision.language}</dd>
      <dt>Status</dt><dd>${statusLabel(revision.status)}</dd>
      ${revision.slug ? html`<dt>Slug</dt><dd><code>${revision.slug}</code></dd>` : ''}
      <dt>Saved</dt><dd><time datetime="${revision.created_at}">${fullTime(revision.created_at)}</time> by ${byline(revision)}</dd>
    </dl>
    <div class="kb-preview scroll-box" data-testid="article-revision-body">${articlePreview(revision.body)}</div>
    ${restoreError ? html`<p class="form-error" role="alert">${restoreError}</p>` : ''}
    ${revision.revision !== current() && isDirty()
      ? html`<p class="field-hint">Restoring replaces the unsaved changes in the editor.</p>` : ''}
    <div class="form-actions">
      ${revision.revision !== current() ? html`<button type="button" class="button small primary" data-restore="${revision.revision}"
        data-testid="article-restore" ${restoring ? html`disabled` : ''}>${restoring ? 'Restoring…' : 'Restore this revision'}</button>` : ''}
      <button type="button" class="button ghost small" data-action="revisions-back">Back to revisions</button>
    </div>
  </div>`;

  const draw = (focus = null) => {
    let body;
    if (status === 'loading') body = html`<p role="status" class="muted">Loading…</p>`;
    else if (status === 'error') body = html`<p class="form-error" role="alert">Could not load the revisions: ${loadError}</p>`;
    else if (!revisions.length) body = html`<p class="muted">No revisions yet.</p>`;
    else {
      const shown = viewing !== null && revisions.find((r) => r.revision === viewing);
      body = shown ? revisionView(shown) : listView();
    }
    render(element, html`<section class="card kb-revisions-card" aria-labelledby="kb-revisions-title">
      <h2 id="kb-revisions-title">Revisions</h2>${body}</section>`);
    if (focus) element.querySelector(focus)?.focus();
  };

  const refresh = async () => {
    try {
      const list = await listRevisions(articleId);
      if (!alive) return;
      revisions = list.slice().sort((a, b) => b.revision - a.revision);
      status = 'ready';
    } catch (error) {
      if (!alive) return;
      status = 'error';
      loadError = error.message;
    }
    draw();
  };

  const back = () => {
    const from = viewing;
    viewing = null;
    restoreError = '';
    draw(from === null ? null : `[data-view-revision="${from}"]`);
  };

  listen('click', async (event) => {
    const button = event.target.closest('button');
    if (!button) return;
    if (button.dataset.viewRevision) {
      viewing = Number(button.dataset.viewRevision);
      restoreError = '';
      draw('[data-focus="revision-title"]');
    } else if (button.dataset.action === 'revisions-back') {
      back();
    } else if (button.dataset.restore) {
      const revision = revisions.find((r) => r.revision === Number(button.dataset.restore));
      if (!revision || restoring) return;
      restoring = true;
      restoreError = '';
      draw();
      try {
        await onRestore(revision);
        if (!alive) return;
        restoring = false;
        viewing = null;
        await refresh();
        element.querySelector('[data-view-revision]')?.focus();
      } catch (error) {
        if (!alive) return;
        restoring = false;
        restoreError = `Not restored: ${error.message}`;
        draw('[data-restore]');
      }
    }
  });

  listen('keydown', (event) => {
    if (event.key === 'Escape' && viewing !== null && !event.defaultPrevented) {
      event.preventDefault();
      back();
    }
  });

  draw();
  refresh();
  return {
    refresh,
    destroy() {
      alive = false;
      listening.abort();
    },
  };
}
