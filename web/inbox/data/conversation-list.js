// The conversation list: its filters (remembered: status, assignee, sort and
// a conversation tag), the rows loaded page by page, the highlighted row,
// and which conversations have news the agent has not seen. Rows are kept
// as "the loaded conversations that match the filters, in the filters'
// order", so live changes move them in and out.

import { get, ApiError } from './api.js';
import { toMillis } from '../ui/time.js';
import {
  state, emit, saveJson, savedFilters, FILTERS_KEY, SEEN_KEY, contactName, rememberOnline,
} from './store.js';

const PAGE_SIZE = 50;

export function matchesFilters(conversation, filters = state.filters) {
  if (conversation.status !== filters.status) return false;
  if (filters.contactId && (conversation.contact_id ?? conversation.contact?.id) !== filters.contactId) return false;
  if (filters.assignee === 'mine' && conversation.assignee_id !== state.me?.id) return false;
  if (filters.assignee === 'unassigned' && conversation.assignee_id) return false;
  if (filters.sort === 'waiting' && !conversation.waiting_since) return false;
  if (filters.tag && !(conversation.tags ?? []).includes(filters.tag)) return false;
  return true;
}

function compareForSort(sort) {
  if (sort === 'waiting') {
    return (a, b) => (toMillis(a.waiting_since) ?? Infinity) - (toMillis(b.waiting_since) ?? Infinity)
      || (a.id < b.id ? -1 : 1);
  }
  return (a, b) => (toMillis(b.updated_at) ?? 0) - (toMillis(a.updated_at) ?? 0) || (a.id < b.id ? 1 : -1);
}

// Keeps the visible list equal to "the loaded rows that match the filters,
// in the filter's order": live changes move rows in and out without a reload.
export function recomputeList() {
  const rows = [...state.conversations.values()].filter((c) => matchesFilters(c));
  rows.sort(compareForSort(state.filters.sort));
  state.listIds = rows.map((c) => c.id);
  if (state.cursorId && !state.listIds.includes(state.cursorId)) {
    state.cursorId = state.listIds.includes(state.selectedId) ? state.selectedId : state.listIds[0] ?? null;
  }
  if (!state.cursorId) state.cursorId = state.listIds[0] ?? null;
  emit('list');
}

function queryString(filters, cursor) {
  const params = new URLSearchParams({ status: filters.status, sort: filters.sort, limit: String(PAGE_SIZE) });
  if (filters.assignee === 'mine') params.set('assignee', 'me');
  if (filters.assignee === 'unassigned') params.set('assignee', 'unassigned');
  if (filters.contactId) params.set('contact_id', filters.contactId);
  if (filters.tag) params.set('tag', filters.tag);
  if (cursor) params.set('cursor', cursor);
  return params.toString();
}

let listRequest = 0;

export async function loadList({ more = false } = {}) {
  const request = ++listRequest;
  const filters = { ...state.filters };
  state.listStatus = 'loading';
  state.listError = null;
  emit('list');
  try {
    const page = await get(`/api/v1/conversations?${queryString(filters, more ? state.nextCursor : null)}`);
    if (request !== listRequest) return;
    if (!more) {
      // Keep what the thread and live updates know; drop only list rows
      // that no longer match so stale rows do not linger.
      for (const [id, c] of state.conversations) {
        if (matchesFilters(c, filters) && id !== state.selectedId) state.conversations.delete(id);
      }
    }
    for (const conversation of page?.data ?? []) upsertSummary(conversation);
    state.nextCursor = page?.next_cursor ?? null;
    state.listStatus = 'ready';
    recomputeList();
  } catch (error) {
    if (request !== listRequest) return;
    state.listStatus = 'error';
    state.listError = error instanceof ApiError ? error.message : String(error);
    emit('list');
  }
}

export function setFilter(key, value) {
  if (state.filters[key] === value) return;
  state.filters = { ...state.filters, [key]: value };
  saveJson(FILTERS_KEY, savedFilters(state.filters));
  state.nextCursor = null;
  recomputeList();
  loadList();
}

/** Narrows the list to one contact's conversations (`#/?contact=…`), or to everyone with null. */
export function setContactFilter(contactId) {
  const id = contactId || null;
  if (state.filters.contactId === id) return;
  state.filters = { ...state.filters, contactId: id };
  state.contactFilterName = null;
  state.nextCursor = null;
  recomputeList();
  loadList();
  if (!id) return;
  get(`/api/v1/contacts/${encodeURIComponent(id)}`).then((contact) => {
    if (state.filters.contactId !== id) return;
    state.contactFilterName = contactName(contact);
    emit('list');
  }, (error) => console.warn('contact filter:', error.message));
}

export function upsertSummary(conversation) {
  const previous = state.conversations.get(conversation.id);
  const merged = { ...previous, ...conversation };
  // Triage endpoints answer with the bare conversation: keep what we knew.
  if (!conversation.contact && previous?.contact) merged.contact = previous.contact;
  if (!conversation.last_part && previous?.last_part) merged.last_part = previous.last_part;
  rememberOnline(merged.contact);
  state.conversations.set(conversation.id, merged);
  const detail = state.details.get(conversation.id);
  if (detail) {
    const { contact: _contact, last_part: _last, parts: _parts, ...fields } = conversation;
    state.details.set(conversation.id, { ...detail, ...fields });
  }
  return merged;
}

export function summaryFromDetail(detail) {
  const { parts, contact, ...conversation } = detail;
  return {
    ...conversation,
    contact: contact && { id: contact.id, name: contact.name, email: contact.email, user_id: contact.user_id, online: contact.online },
    last_part: parts?.length ? parts[parts.length - 1] : null,
  };
}

export function moveCursor(delta) {
  const ids = state.listIds;
  if (!ids.length) return;
  const at = ids.indexOf(state.cursorId);
  const next = at === -1 ? 0 : Math.min(ids.length - 1, Math.max(0, at + delta));
  state.cursorId = ids[next];
  emit('list');
}

export function isUnread(conversation) {
  const last = conversation.last_part;
  if (!last || last.author?.type !== 'contact') return false;
  if (conversation.id === state.selectedId) return false;
  return (toMillis(last.created_at) ?? 0) > (state.seen[conversation.id] ?? 0);
}

export function markSeen(id) {
  state.seen[id] = Date.now();
  // Only the newest few hundred matter.
  const entries = Object.entries(state.seen);
  if (entries.length > 500) {
    entries.sort((a, b) => b[1] - a[1]);
    state.seen = Object.fromEntries(entries.slice(0, 400));
  }
  saveJson(SEEN_KEY, state.seen);
}

/**
 * Whether the workspace has had any conversation at all (open, snoozed or
 * closed): a new one's empty Inbox says how to get the first. Once there
 * is one, there always is; asked again only until then.
 */
let everHad = false;
export async function workspaceHasConversations() {
  if (everHad || state.conversations.size) {
    everHad = true;
    return true;
  }
  const found = await Promise.all(['open', 'snoozed', 'closed'].map((status) =>
    get(`/api/v1/conversations?status=${status}&limit=1`).then((page) => (page?.data ?? page ?? []).length > 0)));
  everHad = found.some(Boolean);
  return everHad;
}
