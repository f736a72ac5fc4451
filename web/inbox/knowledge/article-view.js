// `#/knowledge/new` and `#/knowledge/{id}`: one article's editor (title,
// collection, language, status, slug, and the Markdown body with a live
// preview beside it), Ctrl/⌘+S to save, deleting after a confirmation, and
// its revisions (revisions-panel.js) to view and restore.

import { html, render } from '../../shared/html.js';
import { getArticle, createArticle, updateArticle, deleteArticle, listArticles } from '../data/knowledge.js';
import { announce } from '../data/store.js';
import { formError, formValues, showProblem, showFieldErrors, clearErrors, whileBusy } from '../ui/forms.js';
import {
  STATUSES, DEFAULT_COLLECTION, DEFAULT_LANGUAGE, articleRequest, revisionRequest, isChanged, collectionsOf,
  articlePreview, slugify, statusLabel,
} from './articles.js';
import { mountRevisionsPanel } from './revisions-panel.js';

const BLANK = { title: '', collection: DEFAULT_COLLECTION, language: DEFAULT_LANGUAGE, status: 'draft', slug: '', body: '' };

function input(name, label, value, { hint = '', attrs = html`` } = {}) {
  const id = `article-${name}`;
  return html`<div class="${`field kb-field-${name}`}">
    <label for="${id}">${label}</label>
    <input id="${id}" name="${name}" value="${value ?? ''}" autocomplete="off" ${attrs}
      aria-describedby="${id}-error${hint ? ` ${id}-hint` : ''}" data-testid="${id}">
    ${hint ? html`<p class="field-hint" id="${id}-hint">${hint}</p>` : ''}
    <p class="field-error" id="${id}-error" data-error-for="${name}"></p>
  </div>`;
}

function editor(article, isNew) {
  const a = article ?? BLANK;
  return html`<form data-form="article" class="kb-editor" novalidate aria-label="Article">
    ${formError()}
    ${input('title', 'Title', a.title, { attrs: html`required maxlength="200"` })}
    <div class="kb-meta-fields">
      ${input('collection', 'Collection', a.collection, { attrs: html`list="kb-collections" maxlength="80"` })}
      <datalist id="kb-collections" data-region="collections"></datalist>
      ${input('language', 'Language', a.language, { attrs: html`spellcheck="false" maxlength="24"`, hint: 'A tag such as en or pt-br.' })}
      <div class="field">
        <label for="article-status">Status</label>
        <select id="article-status" name="status" aria-describedby="article-status-hint article-status-error" data-testid="article-status-select">
          ${STATUSES.map(([value, label]) => html`<option value="${value}" ${value === a.status ? html`selected` : ''}>${label}</option>`)}
        </select>
        <p class="field-hint" id="article-status-hint">Only published articles are in the help center and the bot's answers.</p>
        <p class="field-error" id="article-status-error" data-error-for="status"></p>
      </div>
      ${input('slug', 'Slug', a.slug, {
        attrs: html`spellcheck="false" maxlength="100" placeholder="${isNew ? slugify(a.title) : ''}"`,
        hint: isNew ? 'Its address in the help center. Empty: made from the title.' : 'Its address in the help center.',
      })}
    </div>
    <div class="kb-write">
      <div class="field">
        <label for="article-body">Body (Markdown)</label>
        <textarea id="article-body" name="body" rows="22" spellcheck="true" data-testid="article-body"
          aria-describedby="article-body-hint article-body-error">${a.body}</textarea>
        <p class="field-hint" id="article-body-hint">Each <code>##</code> section is a passage the bot can answer with;
          **bold**, *italic*, <code>\`code\`</code> and [links](https://…) work.</p>
        <p class="field-error" id="article-body-error" data-error-for="body"></p>
      </div>
      <section class="kb-preview-pane" aria-labelledby="kb-preview-title">
        <h2 id="kb-preview-title" class="kb-preview-title">Preview</h2>
        <div class="kb-preview" data-region="preview" data-testid="article-preview">${articlePreview(a.body)}</div>
      </section>
    </div>
    <div class="form-actions">
      <button type="submit" class="button primary small" data-testid="article-save"
        title="Save (Ctrl/⌘+S)">${isNew ? 'Create article' : 'Save'}</button>
      <span class="saved-note" role="status" data-saved></span>
      <span class="top-spacer"></span>
      ${isNew ? '' : html`<button type="button" class="button ghost small danger-text" data-action="delete"
        data-testid="article-delete">Delete…</button>`}
    </div>
    <div data-region="confirm"></div>
  </form>`;
}

export function mountArticleView(element, id) {
  let alive = true;
  const listening = new AbortController();
  const listen = (type, fn) => element.addEventListener(type, fn, { signal: listening.signal });
  const isNew = id === 'new';
  let article = null;
  let revisions = null;
  let previewFrame = 0;

  const form = () => element.querySelector('form[data-form="article"]');
  const dirty = () => Boolean(form()) && isChanged(article ?? { ...BLANK }, formValues(form()));

  const drawHead = () => {
    const head = element.querySelector('[data-region="head"]');
    if (!head) return;
    render(head, html`<h1 id="article-heading" tabindex="-1">${article?.title || 'New article'}</h1>
      ${article ? html`<span class="${`status-badge kb-${article.status}`}" data-testid="article-status-badge">${statusLabel(article.status)}</span>
        <span class="muted small">Revision ${article.revision}</span>` : ''}
      <span class="top-spacer"></span>
      <span class="muted small" role="status" data-region="dirty" data-testid="article-dirty"></span>`);
    drawDirty();
  };

  const drawDirty = () => {
    const note = element.querySelector('[data-region="dirty"]');
    if (note) render(note, html`${dirty() ? 'Unsaved changes' : ''}`);
  };

  const drawPage = () => {
    render(element, html`
      <main id="main" class="page wide-page kb-article-page" tabindex="-1" data-testid="article-view">
        <p class="breadcrumbs"><a href="#/knowledge">Knowledge base</a></p>
        <div class="page-head" data-region="head"></div>
        <div class="${isNew ? 'kb-article-layout is-new' : 'kb-article-layout'}">
          <div>${editor(article, isNew)}</div>
          ${isNew ? '' : html`<aside data-region="revisions" aria-label="Revisions"></aside>`}
        </div>
      </main>`);
    drawHead();
    if (!isNew) {
      revisions?.destroy();
      revisions = mountRevisionsPanel(element.querySelector('[data-region="revisions"]'), {
        articleId: id, onRestore: restore, isDirty: dirty,
      });
    }
  };

  /** The editor's fields as `saved` has them, leaving alone the ones that already say so. */
  const fill = (saved) => {
    const f = form();
    for (const name of ['title', 'collection', 'language', 'status', 'slug', 'body']) {
      const control = f.elements[name];
      if (control && control.value !== String(saved[name] ?? '')) control.value = saved[name] ?? '';
    }
    schedulePreview();
  };

  const restore = async (revision) => {
    const saved = await updateArticle(id, revisionRequest(revision));
    if (!alive) return;
    article = saved;
    fill(saved);
    drawHead();
    announce(`Restored revision ${revision.revision} as revision ${saved.revision}.`);
  };

  const schedulePreview = () => {
    cancelAnimationFrame(previewFrame);
    previewFrame = requestAnimationFrame(() => {
      const region = element.querySelector('[data-region="preview"]');
      if (region) render(region, articlePreview(form()?.elements.body.value ?? ''));
    });
  };

  const save = async (f) => {
    const { body, errors } = articleRequest(formValues(f));
    if (errors.length) {
      showFieldErrors(f, errors);
      return;
    }
    clearErrors(f);
    try {
      const saved = await whileBusy(f, () => (isNew ? createArticle(body) : updateArticle(id, body)));
      if (!alive) return;
      if (isNew) {
        announce(`Created ${saved.title}.`);
        location.hash = `#/knowledge/${encodeURIComponent(saved.id)}`;
        return;
      }
      const changed = saved.revision !== article?.revision;
      article = saved;
      fill(saved);
      drawHead();
      const note = f.querySelector('[data-saved]');
      render(note, html`${changed ? `Saved as revision ${saved.revision}` : 'Saved (no changes)'}`);
      setTimeout(() => note.isConnected && render(note, html``), 2500);
      if (changed) revisions?.refresh();
    } catch (error) {
      if (alive) showProblem(f, error);
    }
  };

  const drawConfirm = (open) => {
    const region = element.querySelector('[data-region="confirm"]');
    if (!region) return;
    render(region, open ? html`<div class="danger-confirm" role="alertdialog" aria-labelledby="kb-delete-title"
      data-testid="article-delete-confirm">
      <p id="kb-delete-title"><strong>Delete “${article?.title}”?</strong> Its revisions go too, it leaves the help
        center, and the bot stops answering from it. This cannot be undone.</p>
      <div class="form-actions">
        <button type="button" class="button small danger" data-action="delete-confirm" data-testid="article-delete-confirm-button">Delete article</button>
        <button type="button" class="button ghost small" data-action="delete-cancel">Cancel</button>
      </div>
      <p class="form-error" role="alert" data-region="delete-error"></p>
    </div>` : html``);
    if (open) region.querySelector('[data-action="delete-confirm"]').focus();
  };

  listen('submit', (event) => {
    if (event.target.dataset.form !== 'article') return;
    event.preventDefault();
    save(event.target);
  });

  listen('input', (event) => {
    if (!event.target.closest('form[data-form="article"]')) return;
    if (event.target.name === 'body') schedulePreview();
    if (event.target.name === 'title' && isNew) form().elements.slug.placeholder = slugify(event.target.value);
    drawDirty();
  });
  listen('change', drawDirty);

  listen('keydown', (event) => {
    if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === 's' && form()) {
      event.preventDefault();
      form().requestSubmit();
    } else if (event.key === 'Escape' && event.target.closest('[data-region="confirm"]')) {
      event.preventDefault();
      drawConfirm(false);
      element.querySelector('[data-action="delete"]')?.focus();
    }
  });

  listen('click', async (event) => {
    const button = event.target.closest('button');
    if (!button) return;
    const { action } = button.dataset;
    if (action === 'delete') drawConfirm(true);
    else if (action === 'delete-cancel') {
      drawConfirm(false);
      element.querySelector('[data-action="delete"]')?.focus();
    } else if (action === 'delete-confirm') {
      button.disabled = true;
      try {
        await deleteArticle(id);
        if (!alive) return;
        announce(`Deleted ${article?.title ?? 'the article'}.`);
        location.hash = '#/knowledge';
      } catch (error) {
        if (!alive) return;
        button.disabled = false;
        render(element.querySelector('[data-region="delete-error"]'), html`Not deleted: ${error.message}`);
      }
    }
  });

  // The known collections, for the collection field's suggestions.
  const loadCollections = async () => {
    try {
      const page = await listArticles({ limit: 100 });
      const list = element.querySelector('[data-region="collections"]');
      if (alive && list) render(list, html`${collectionsOf(page.data).map((name) => html`<option value="${name}"></option>`)}`);
    } catch {
      // Only suggestions.
    }
  };

  (async () => {
    if (isNew) {
      drawPage();
      form().elements.title.focus();
      loadCollections();
      return;
    }
    render(element, html`<main id="main" class="page" tabindex="-1"><p role="status">Loading the article…</p></main>`);
    try {
      article = await getArticle(id);
    } catch (error) {
      if (!alive) return;
      render(element, html`<main id="main" class="page" tabindex="-1">
        <p class="breadcrumbs"><a href="#/knowledge">Knowledge base</a></p>
        <p class="form-error" role="alert" data-testid="article-error">${error.status === 404
          ? 'This article does not exist (it may have been deleted).' : `Could not load the article: ${error.message}`}</p></main>`);
      element.querySelector('main').focus();
      return;
    }
    if (!alive) return;
    drawPage();
    element.querySelector('#article-heading').focus();
    loadCollections();
  })();

  return () => {
    alive = false;
    listening.abort();
    cancelAnimationFrame(previewFrame);
    revisions?.destroy();
  };
}
