// The knowledge base: articles (a page of the list, one article, its
// revisions), the search the bot and the help center use, and import /
// export as Markdown files. Anyone on the team reads and writes articles.

import { get, post, put, del } from './api.js';

const BASE = '/api/v1/articles';
const path = (id, rest = '') => `${BASE}/${encodeURIComponent(id)}${rest}`;
const listOf = (answer) => (Array.isArray(answer) ? answer : answer?.data ?? []);

/**
 * A page of articles, newest change first: `{data, next}` (`next` is the
 * cursor of the page after, or null). `status`: 'draft' | 'published'.
 */
export async function listArticles({ status = '', collection = '', limit = 50, after = null, signal } = {}) {
  const params = new URLSearchParams({ limit: String(limit) });
  if (status) params.set('status', status);
  if (collection) params.set('collection', collection);
  if (after) params.set('after', after);
  const answer = await get(`${BASE}?${params}`, { signal });
  return { data: listOf(answer), next: answer?.next ?? null };
}

export const getArticle = (id) => get(path(id));

/** `{title, body, collection?, language?, status?, slug?}`; answers with the article. */
export const createArticle = (body) => post(BASE, body);

/** All of title, body, collection, language and status (slug optional); answers with the article. */
export const updateArticle = (id, body) => put(path(id), body);

/** Deletes one; one already gone counts as deleted. */
export async function deleteArticle(id) {
  try {
    await del(path(id));
  } catch (error) {
    if (error.status !== 404) throw error;
  }
}

/** The kept revisions, newest first: `[{revision, title, collection, language, status, body, author_id, created_at}]`. */
export const listRevisions = async (id) => listOf(await get(path(id, '/revisions')));

/**
 * The passages that answer `q` best: `{mode: 'keywords' | 'hybrid', data:
 * [{article_id, slug, title, collection, language, heading, text, confidence, url}]}`.
 */
export async function searchArticles(q, { limit = 10, signal } = {}) {
  const params = new URLSearchParams({ q, limit: String(limit) });
  const answer = await get(`${BASE}/search?${params}`, { signal });
  return { mode: answer?.mode ?? 'keywords', data: listOf(answer) };
}

/** `files`: `[{name: 'slug.md', content}]`; answers `{created, updated, unchanged}`. */
export const importArticles = (files) => post(`${BASE}/import`, { files });

/** Every article as a file: `{files: [{name, content}]}`. */
export const exportArticles = () => get(`${BASE}/export`);
