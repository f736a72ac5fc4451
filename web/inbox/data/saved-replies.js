// Saved replies: the workspace's (owners and admins change them) and the
// member's own, listed after `/` in the composer and kept in Settings.

import { get, post, put, del } from './api.js';

const BASE = '/api/v1/saved-replies';
const replyPath = (id) => `${BASE}/${encodeURIComponent(id)}`;

/** The workspace's and yours, by shortcut. */
export async function listSavedReplies(options) {
  const answer = await get(BASE, options);
  return Array.isArray(answer?.data) ? answer.data : [];
}

/** `{title, shortcut, body, personal}`; answers with the reply. */
export const createSavedReply = (body) => post(BASE, body);

/** `{title, shortcut, body}` replaces them. */
export const updateSavedReply = (id, body) => put(replyPath(id), body);

/** Deletes one; one already gone counts as deleted. */
export async function deleteSavedReply(id) {
  try {
    await del(replyPath(id));
  } catch (error) {
    if (error.status !== 404) throw error;
  }
}
