// The knowledge base's parts with no DOM: the editor's values checked and
// turned into a request (as the server checks them), slugs, a revision as
// the request that restores it, the Markdown preview with `##` headings,
// search results, and the files an import reads (in batches that fit the
// server's body limit). Touches no DOM, so that `node --test` can load it.

import { html } from '../../shared/html.js';
import { markdown, plainText } from '../../shared/markdown.js';
import { safeHref } from '../../shared/links.js';

export const STATUSES = [['draft', 'Draft'], ['published', 'Published']];
export const DEFAULT_COLLECTION = 'General';
export const DEFAULT_LANGUAGE = 'en';

const LANGUAGE_TAG = /^[a-z]{2,3}(?:-[a-z0-9]{1,8})*$/;
const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$/;
const MAX_TITLE = 200;
const MAX_COLLECTION = 80;
export const MAX_BODY = 100_000;

export const statusLabel = (status) => STATUSES.find(([value]) => value === status)?.[1] ?? status;

/** The server's slug for a title: ASCII letters and digits, the rest as single hyphens. */
export function slugify(title) {
  let slug = '';
  for (const ch of String(title ?? '')) {
    if (/[A-Za-z0-9]/.test(ch)) slug += ch.toLowerCase();
    else if (slug && !slug.endsWith('-')) slug += '-';
    if (slug.length >= 80) break;
  }
  slug = slug.replace(/-+$/, '');
  return slug || 'article';
}

export function languageError(text) {
  const tag = String(text ?? '').trim().toLowerCase();
  return LANGUAGE_TAG.test(tag) && tag.length <= 24 ? null : 'A language tag such as en, de or pt-br.';
}

/**
 * The editor's values (`title`, `collection`, `language`, `status`, `slug`,
 * `body`) as `{body, errors: [{field, message}]}`; an empty slug is left
 * out (the server makes one from the title, or keeps the article's).
 */
export function articleRequest(values) {
  const errors = [];
  const title = String(values.title ?? '').trim();
  const collection = String(values.collection ?? '').trim() || DEFAULT_COLLECTION;
  const language = String(values.language ?? '').trim().toLowerCase() || DEFAULT_LANGUAGE;
  const status = STATUSES.some(([value]) => value === values.status) ? values.status : 'draft';
  const slug = String(values.slug ?? '').trim();
  const text = String(values.body ?? '');
  if (!title) errors.push({ field: 'title', message: 'Give the article a title.' });
  else if (title.length > MAX_TITLE || /[\n\r]/.test(title)) errors.push({ field: 'title', message: `One line of at most ${MAX_TITLE} characters.` });
  if (collection.length > MAX_COLLECTION) errors.push({ field: 'collection', message: `At most ${MAX_COLLECTION} characters.` });
  const languageProblem = languageError(language);
  if (languageProblem) errors.push({ field: 'language', message: languageProblem });
  if (slug && !SLUG.test(slug)) errors.push({ field: 'slug', message: 'Lowercase letters, digits and hyphens (not at either end), at most 100.' });
  if (!text.trim()) errors.push({ field: 'body', message: 'Write the article.' });
  else if (text.length > MAX_BODY) errors.push({ field: 'body', message: `At most ${MAX_BODY.toLocaleString('en')} characters.` });
  const body = { title, collection, language, status, body: text };
  if (slug) body.slug = slug;
  return { body, errors };
}

/** The PUT body that makes an article what `revision` was. */
export function revisionRequest(revision) {
  const body = {
    title: revision.title,
    body: revision.body,
    collection: revision.collection,
    language: revision.language,
    status: revision.status,
  };
  if (revision.slug) body.slug = revision.slug;
  return body;
}

/** Whether the editor's values differ from the article as saved. */
export function isChanged(article, values) {
  const saved = article ?? {};
  return ['title', 'collection', 'language', 'status', 'slug', 'body']
    .some((field) => String(values[field] ?? '') !== String(saved[field] ?? ''));
}

/** The collections of the articles, by name, with `also` (the chosen filter) kept. */
export function collectionsOf(articles, also = '') {
  const names = new Set((articles ?? []).map((a) => a?.collection).filter(Boolean));
  if (also) names.add(also);
  return [...names].sort((a, b) => a.localeCompare(b));
}

// A heading line: `#` to `######`, a space, the text.
const HEADING = /^(#{1,6})[ \t]+(.+?)[ \t#]*$/;

/**
 * An article's body for the preview: markdown.js for the text, and `#`
 * headings (the passages the bot answers from begin at `##`) as headings.
 */
export function articlePreview(body) {
  const out = [];
  let block = [];
  const flush = () => {
    if (block.length) out.push(markdown(block.join('\n')));
    block = [];
  };
  for (const line of String(body ?? '').replace(/\r\n?/g, '\n').split('\n')) {
    const match = HEADING.exec(line);
    if (match) {
      flush();
      const level = Math.min(6, match[1].length + 2);
      out.push(html`<p class="${`preview-heading level-${level}`}" role="heading" aria-level="${level}">${match[2]}</p>`);
    } else {
      block.push(line);
    }
  }
  flush();
  return html`${out}`;
}

/** Text cut to about `max` characters at a word boundary, with an ellipsis. */
export function clip(text, max = 220) {
  const plain = plainText(text);
  if (plain.length <= max) return plain;
  const cut = plain.slice(0, max);
  const space = cut.lastIndexOf(' ');
  return `${(space > max * 0.6 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

/** A confidence of 0 to 1 as a whole percentage. */
export function percent(value) {
  const n = Number(value);
  return Number.isFinite(n) ? `${Math.round(Math.max(0, Math.min(1, n)) * 100)}%` : '';
}

export const searchModeText = (mode) => (mode === 'hybrid' ? 'Keywords + embeddings (hybrid)' : 'Keywords only (BM25)');

/** One search result: the article (in the Inbox), its passage's heading and text, how sure, the help center page. */
export function searchResultView(hit) {
  const href = safeHref(hit?.url);
  return html`<li class="kb-hit" data-testid="kb-search-result" data-article-id="${hit?.article_id ?? ''}">
    <div class="kb-hit-head">
      <a href="${`#/knowledge/${encodeURIComponent(hit?.article_id ?? '')}`}" class="kb-hit-title">${hit?.title || 'Untitled'}</a>
      ${hit?.heading ? html`<span class="muted"> › ${hit.heading}</span>` : ''}
      <span class="kb-confidence" title="Confidence">${percent(hit?.confidence)}</span>
    </div>
    <p class="kb-hit-text">${clip(hit?.text)}</p>
    <p class="muted small">${hit?.collection ?? ''}${hit?.language ? ` · ${hit.language}` : ''}${href ? html` · <a href="${href}"
      target="_blank" rel="noopener noreferrer">Help center page</a>` : ''}</p>
  </li>`;
}

// --- Import and export ----------------------------------------------------------------

export const MAX_IMPORT_FILES = 1000;
export const MAX_FILE_BYTES = 512 * 1024;
/** The server takes JSON bodies up to 1 MiB: each request stays under this. */
export const MAX_BATCH_BYTES = 900 * 1024;
const MARKDOWN_FILE = /\.(?:md|markdown)$/i;

/** Reads a File as text with a FileReader. */
export function readAsText(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result ?? ''));
    reader.onerror = () => reject(reader.error ?? new Error(`Could not read ${file.name}`));
    reader.readAsText(file);
  });
}

/** A file's name as the server reads it: the slug (made from the name) and `.md`. */
export function importName(fileName) {
  const base = String(fileName ?? '').split(/[/\\]/).pop();
  return `${slugify(base.replace(MARKDOWN_FILE, ''))}.md`;
}

/**
 * The files chosen or dropped, ready for POST /articles/import: Markdown
 * files only, read as text, named by their slug. `skipped`: `[{name,
 * reason}]` for the others. `read` reads one file (a FileReader by default).
 */
export async function readImportFiles(list, read = readAsText) {
  const files = [];
  const skipped = [];
  for (const file of Array.from(list ?? [])) {
    const original = String(file?.name ?? '');
    const name = importName(original);
    if (!MARKDOWN_FILE.test(original)) skipped.push({ name: original, reason: 'not a Markdown (.md) file' });
    else if (Number(file.size) > MAX_FILE_BYTES) skipped.push({ name: original, reason: 'larger than 512 KB' });
    else if (files.length >= MAX_IMPORT_FILES) skipped.push({ name: original, reason: `more than ${MAX_IMPORT_FILES} files at once` });
    else if (files.some((f) => f.name === name)) skipped.push({ name: original, reason: `another file is also ${name}` });
    else {
      try {
        files.push({ name, content: await read(file) });
      } catch {
        skipped.push({ name: original, reason: 'could not be read' });
      }
    }
  }
  return { files, skipped };
}

const encodedSize = (value) => new TextEncoder().encode(JSON.stringify(value)).length;

/** The files in requests of at most `maxBytes` of JSON each (one file too big goes alone). */
export function importBatches(files, maxBytes = MAX_BATCH_BYTES) {
  const batches = [];
  let batch = [];
  let size = 0;
  for (const file of files) {
    const bytes = encodedSize(file) + 1;
    if (batch.length && size + bytes > maxBytes) {
      batches.push(batch);
      batch = [];
      size = 0;
    }
    batch.push(file);
    size += bytes;
  }
  if (batch.length) batches.push(batch);
  return batches;
}

/** Adds one import answer's counts to `total`. */
export function addCounts(total, answer) {
  return {
    created: (total.created ?? 0) + (Number(answer?.created) || 0),
    updated: (total.updated ?? 0) + (Number(answer?.updated) || 0),
    unchanged: (total.unchanged ?? 0) + (Number(answer?.unchanged) || 0),
  };
}

export function importSummary({ created = 0, updated = 0, unchanged = 0 }) {
  return `${created} created, ${updated} updated, ${unchanged} unchanged.`;
}

/** What a failed import request says: each of its `errors`, or its message. */
export function problemMessages(error) {
  const listed = (error?.problem?.errors ?? []).map(({ field, message }) => (field && field !== 'file' && !String(message).includes(field)
    ? `${field}: ${message}` : message)).filter(Boolean);
  return listed.length ? listed : [error?.message ?? 'The import failed.'];
}

/** The export's file name for a day: `knowledge-base-2026-03-01.json`. */
export function exportFileName(now = new Date()) {
  return `knowledge-base-${now.toISOString().slice(0, 10)}.json`;
}
