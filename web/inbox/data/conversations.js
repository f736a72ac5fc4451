// The open conversation and what an agent does to one: its parts, the
// email fallback lines beside them (read from the contact's timeline),
// conversations heard of live before they are loaded, replies, triage
// (assign, close, reopen, snooze) and the snippet preview.

import { get, post } from './api.js';
import { toMillis } from '../ui/time.js';
import { isEmailEntry, mergeEmailEntries, replyRequest } from './email.js';
import { state, emit, rememberOnline } from './store.js';
import { upsertSummary, summaryFromDetail, recomputeList, markSeen } from './conversation-list.js';

// Email fallback entries come from the contact's timeline (newest first,
// at most 100 a page, events included): read a few pages, no further back
// than the conversation's start.
const TIMELINE_PAGE_SIZE = 100;
const TIMELINE_PAGES = 3;

let detailRequest = 0;

export async function selectConversation(id) {
  if (state.selectedId && state.selectedId !== id) markSeen(state.selectedId);
  state.selectedId = id;
  if (id) {
    state.cursorId = id;
    markSeen(id);
  }
  emit('list', 'detail');
  if (!id) return;
  const request = ++detailRequest;
  state.detailStatus = state.details.has(id) ? 'ready' : 'loading';
  state.detailError = null;
  try {
    const detail = await get(`/api/v1/conversations/${encodeURIComponent(id)}`);
    if (request !== detailRequest) return;
    storeDetail(detail);
    state.detailStatus = 'ready';
    loadEmailLog(detail).catch((error) => console.warn('email log:', error.message));
  } catch (error) {
    if (request !== detailRequest) return;
    state.detailStatus = 'error';
    state.detailError = error.status === 404 ? 'This conversation does not exist.' : error.message;
  }
  emit('detail', 'list');
}

function storeDetail(detail) {
  rememberOnline(detail.contact);
  state.details.set(detail.id, detail);
  upsertSummary(summaryFromDetail(detail));
  recomputeList();
}

export function selectedDetail() {
  return state.selectedId ? state.details.get(state.selectedId) ?? null : null;
}

// --- Email fallback ------------------------------------------------------------------

/** Adds entries to a conversation's email log; whether anything was new. */
export function recordEmailEntries(conversationId, entries) {
  const before = state.emailLog.get(conversationId) ?? [];
  const merged = mergeEmailEntries(before, entries);
  if (merged.length === before.length) return false;
  state.emailLog.set(conversationId, merged);
  return true;
}

/** The open conversation's past `emailed` / `not_emailed` entries, from its contact's timeline. */
async function loadEmailLog(detail) {
  const contactId = detail.contact?.id;
  if (!contactId) return;
  const since = toMillis(detail.created_at) ?? toMillis(detail.parts?.[0]?.created_at);
  const found = [];
  let cursor = null;
  for (let page = 0; page < TIMELINE_PAGES; page++) {
    const params = new URLSearchParams({ limit: String(TIMELINE_PAGE_SIZE) });
    if (cursor) params.set('cursor', cursor);
    const result = await get(`/api/v1/contacts/${encodeURIComponent(contactId)}/timeline?${params}`);
    const entries = result?.data ?? [];
    found.push(...entries.filter((entry) => isEmailEntry(entry) && entry.conversation_id === detail.id));
    cursor = result?.next_cursor ?? null;
    const oldest = toMillis(entries[entries.length - 1]?.created_at);
    if (!cursor || (since !== null && oldest !== null && oldest < since)) break;
  }
  if (recordEmailEntries(detail.id, found) && detail.id === state.selectedId) emit('detail');
}

// Conversations we hear about before we have them (a new one, or one
// outside the loaded page): fetch once, then the list shows them.
const fetching = new Set();
const fetchAgain = new Set();

export async function fetchConversation(id) {
  if (fetching.has(id)) {
    // Something changed while the first read was in flight: read once more after.
    fetchAgain.add(id);
    return;
  }
  fetching.add(id);
  try {
    storeDetail(await get(`/api/v1/conversations/${encodeURIComponent(id)}`));
    if (id === state.selectedId) emit('detail');
  } catch (error) {
    console.warn('could not load conversation', id, error);
  } finally {
    fetching.delete(id);
    if (fetchAgain.delete(id)) fetchConversation(id);
  }
}

/** Load a conversation before it is opened (the highlighted row), so Enter is instant. */
export function prefetchConversation(id) {
  if (id && !state.details.has(id) && !fetching.has(id)) fetchConversation(id);
}

export function addPart(conversationId, part) {
  const detail = state.details.get(conversationId);
  if (detail && !detail.parts.some((p) => p.id === part.id)) {
    detail.parts = [...detail.parts, part].sort(
      (a, b) => (toMillis(a.created_at) ?? 0) - (toMillis(b.created_at) ?? 0),
    );
  }
  const summary = state.conversations.get(conversationId);
  if (summary) {
    const changes = { updated_at: maxTime(summary.updated_at, part.created_at) };
    if (!summary.last_part || (toMillis(part.created_at) ?? 0) >= (toMillis(summary.last_part.created_at) ?? 0)) {
      changes.last_part = part;
    }
    // Who waits: a contact message starts the wait, a team comment ends it.
    if (part.author?.type === 'contact') {
      if (!summary.waiting_since) changes.waiting_since = part.created_at;
    } else if (part.type === 'comment') {
      changes.waiting_since = null;
    }
    upsertSummary({ ...summary, ...changes });
  }
}

export function maxTime(a, b) {
  return (toMillis(a) ?? 0) >= (toMillis(b) ?? 0) ? a : b;
}

// --- Actions on a conversation ------------------------------------------------------

/**
 * `emailFallback`: the composer's "Email if unread" (undefined when it was
 * not offered); `attachmentIds`: files uploaded for this message (the body
 * may then be empty).
 */
export async function reply(id, body, type, { emailFallback, attachmentIds = [] } = {}) {
  const request = replyRequest(body, type, emailFallback);
  if (attachmentIds.length) request.attachment_ids = attachmentIds;
  const sent = await post(`/api/v1/conversations/${encodeURIComponent(id)}/reply`, request);
  // The stored message with its conversation beside it; live brings the
  // message too, and parts are kept once by id.
  const { conversation, ...part } = sent ?? {};
  if (part.id) addPart(id, part);
  if (conversation?.id) upsertSummary(conversation);
  recomputeList();
  emit('detail');
  return part;
}

async function triage(id, action, body) {
  const conversation = await post(`/api/v1/conversations/${encodeURIComponent(id)}/${action}`, body);
  if (conversation?.id) {
    upsertSummary(conversation);
    recomputeList();
    emit('detail');
  }
  return conversation;
}

export const assign = (id, assigneeId) => triage(id, 'assign', { assignee_id: assigneeId || null });
export const closeConversation = (id) => triage(id, 'close');
export const reopenConversation = (id) => triage(id, 'open');
export const snoozeConversation = (id, until) => triage(id, 'snooze', { until: until.toISOString() });

/** `body` rendered for a contact; `fromAgentId` fills `{{ agent.* }}` (default: you). */
export async function previewTemplate(contactId, body, signal, fromAgentId) {
  const request = { contact_id: contactId, body };
  if (fromAgentId) request.from_agent_id = fromAgentId;
  const preview = await post('/api/v1/templates/preview', request, { signal });
  return preview?.body ?? '';
}
