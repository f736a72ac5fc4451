// Bulk sends: one chat message to many people, and their progress.

import { get, post } from './api.js';

const sendPath = (id) => `/api/v1/bulk-sends/${encodeURIComponent(id)}`;

/** A page of sends, newest first: `{sends, nextCursor}`. */
export async function listBulkSends(cursor = null) {
  const params = new URLSearchParams({ limit: '50' });
  if (cursor) params.set('cursor', cursor);
  const page = await get(`/api/v1/bulk-sends?${params}`);
  return {
    sends: Array.isArray(page) ? page : page?.data ?? [],
    nextCursor: Array.isArray(page) ? null : page?.next_cursor ?? null,
  };
}

export const getBulkSend = (id) => get(sendPath(id));
export const createBulkSend = (request) => post('/api/v1/bulk-sends', request);
export const cancelBulkSend = (id) => post(`${sendPath(id)}/cancel`);
