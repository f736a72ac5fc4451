// Searching conversations: what a query must be before it is sent, and the
// request. The server answers newest first, across open, snoozed and
// closed conversations; each hit is a list row plus where it matched
// (`match`: field, message_id, excerpt).

import { get } from './api.js';

export const SEARCH_LIMIT = 20;
export const MAX_QUERY_CHARS = 200;

/** Why `text` cannot be searched for, or null when it can (the server's own rules). */
export function searchQueryProblem(text) {
  const q = String(text ?? '').trim();
  if (!q) return 'Type something to search for.';
  if ([...q].length > MAX_QUERY_CHARS) return `A search is at most ${MAX_QUERY_CHARS} characters.`;
  return null;
}

/** The conversations matching `q` (trimmed), newest first. */
export async function searchConversations(q, { signal, limit = SEARCH_LIMIT } = {}) {
  const params = new URLSearchParams({ q: String(q).trim(), limit: String(limit) });
  const answer = await get(`/api/v1/conversations/search?${params}`, { signal });
  return answer?.data ?? [];
}
