// The Inbox's state and the actions that change it. Views subscribe to
// topics and re-render what they show; live frames and API responses both
// come through here, so the list, the thread and the side panel agree.
//
// Topics: session, agents, list, detail, typing, connection, route, schema.

import { get, post, ApiError } from './api.js';
import { toMillis } from '../ui/time.js';
import { isEmailEntry, mergeEmailEntries, replyRequest } from './email.js';

const FILTERS_KEY = 'rapport.inbox.filters';
const SEEN_KEY = 'rapport.inbox.seen';
const TYPING_SHOWN_MS = 4000;
const PAGE_SIZE = 50;
// Email fallback entries come from the contact's timeline (newest first,
// at most 100 a page, events included): read a few pages, no further back
// than the conversation's start.
const TIMELINE_PAGE_SIZE = 100;
const TIMELINE_PAGES = 3;

function loadJson(key, fallback) {
  try {
    const value = JSON.parse(localStorage.getItem(key));
    return value && typeof value === 'object' ? value : fallback;
  } catch {
    return fallback;
  }
}

function saveJson(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Private mode or a full quota: the Inbox still works, it just forgets.
  }
}

// "All" first: on a new workspace nothing is assigned yet, and new visitors must show up.
const DEFAULT_FILTERS = { status: 'open', assignee: 'all', sort: 'newest' };

// The list's filters as they are remembered: not the one-contact filter,
// which comes from the address (`#/?contact=…`).
function savedFilters({ status, assignee, sort }) {
  return { status, assignee, sort };
}

export const state = {
  me: null,
  workspace: null,
  agents: new Map(),
  filters: { ...savedFilters({ ...DEFAULT_FILTERS, ...loadJson(FILTERS_KEY, {}) }), contactId: null },
  contactFilterName: null, // the name of the contact the list is narrowed to
  conversations: new Map(),
  listIds: [],
  listStatus: 'idle', // idle | loading | ready | error
  listError: null,
  nextCursor: null,
  cursorId: null, // highlighted row (j/k)
  selectedId: null, // open conversation
  details: new Map(),
  detailStatus: 'idle',
  detailError: null,
  typing: new Map(), // conversation id -> {contactId, until}
  contactOnline: new Map(),
  connected: false,
  everConnected: false,
  seen: loadJson(SEEN_KEY, {}), // conversation id -> ms the agent last looked
  emailLog: new Map(), // conversation id -> its `emailed` / `not_emailed` entries, oldest first
  peopleSchema: null, // GET /people/schema: properties, operators, events, tags
};

const subscribers = new Map();

export function subscribe(topic, fn) {
  if (!subscribers.has(topic)) subscribers.set(topic, new Set());
  subscribers.get(topic).add(fn);
  return () => subscribers.get(topic)?.delete(fn);
}

// Coalesce notifications to one per topic per frame: a replay burst of
// 500 activities re-renders the list once.
const pending = new Set();
let flushScheduled = false;

export function emit(...topics) {
  for (const topic of topics) pending.add(topic);
  if (flushScheduled) return;
  flushScheduled = true;
  queueMicrotask(() => {
    flushScheduled = false;
    const topicsNow = [...pending];
    pending.clear();
    for (const topic of topicsNow) {
      for (const fn of subscribers.get(topic) ?? []) {
        try {
          fn(state);
        } catch (error) {
          console.error(`store: ${topic} subscriber failed`, error);
        }
      }
    }
  });
}

// --- Session and team -------------------------------------------------------

export function setSession(session) {
  state.me = session?.agent ?? null;
  state.workspace = session?.workspace ?? null;
  emit('session');
}

export function clearAll() {
  state.me = null;
  state.workspace = null;
  state.agents.clear();
  state.conversations.clear();
  state.details.clear();
  state.listIds = [];
  state.selectedId = null;
  state.cursorId = null;
  state.typing.clear();
  state.emailLog.clear();
  state.peopleSchema = null;
  state.filters = { ...state.filters, contactId: null };
  state.contactFilterName = null;
  emit('session', 'list', 'detail', 'agents', 'schema');
}

/** The workspace's `email` settings, once something has read them (the settings page). */
export function setWorkspaceEmail(email) {
  if (!state.workspace || !email) return;
  state.workspace = { ...state.workspace, email };
  emit('session');
}

export async function loadAgents() {
  const agents = await get('/api/v1/agents');
  const list = Array.isArray(agents) ? agents : agents?.data ?? [];
  state.agents = new Map(list.map((agent) => [agent.id, agent]));
  emit('agents', 'list', 'detail');
}

export function agentName(id) {
  if (!id) return null;
  return state.agents.get(id)?.name ?? (id === state.me?.id ? state.me.name : 'A teammate');
}

export function sortedAgents() {
  return [...state.agents.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export function applyAgentPresence({ agent_id: id, status }) {
  const agent = state.agents.get(id);
  if (agent) {
    state.agents.set(id, { ...agent, presence: status });
    emit('agents');
  }
}

// --- Contacts -----------------------------------------------------------------

export function contactName(contact) {
  return contact?.name || contact?.email || 'Visitor';
}

export function isOnline(contact) {
  if (!contact) return false;
  if (state.contactOnline.has(contact.id)) return state.contactOnline.get(contact.id);
  return Boolean(contact.online);
}

export function applyPresence({ contact_id: id, online }) {
  state.contactOnline.set(id, Boolean(online));
  emit('list', 'detail');
}

function rememberOnline(contact) {
  if (contact && typeof contact.online === 'boolean' && !state.contactOnline.has(contact.id)) {
    state.contactOnline.set(contact.id, contact.online);
  }
}

// --- The conversation list -------------------------------------------------------

export function matchesFilters(conversation, filters = state.filters) {
  if (conversation.status !== filters.status) return false;
  if (filters.contactId && (conversation.contact_id ?? conversation.contact?.id) !== filters.contactId) return false;
  if (filters.assignee === 'mine' && conversation.assignee_id !== state.me?.id) return false;
  if (filters.assignee === 'unassigned' && conversation.assignee_id) return false;
  if (filters.sort === 'waiting' && !conversation.waiting_since) return false;
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
function recomputeList() {
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

function upsertSummary(conversation) {
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

function summaryFromDetail(detail) {
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

function markSeen(id) {
  state.seen[id] = Date.now();
  // Only the newest few hundred matter.
  const entries = Object.entries(state.seen);
  if (entries.length > 500) {
    entries.sort((a, b) => b[1] - a[1]);
    state.seen = Object.fromEntries(entries.slice(0, 400));
  }
  saveJson(SEEN_KEY, state.seen);
}

// --- The open conversation ------------------------------------------------------

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
function recordEmailEntries(conversationId, entries) {
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

async function fetchConversation(id) {
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

function addPart(conversationId, part) {
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

function maxTime(a, b) {
  return (toMillis(a) ?? 0) >= (toMillis(b) ?? 0) ? a : b;
}

// --- Live activity ----------------------------------------------------------------

const announcers = new Set();

/** `fn(text)` for things worth announcing to screen readers. */
export function onAnnounce(fn) {
  announcers.add(fn);
}

export function announce(text) {
  for (const fn of announcers) fn(text);
}

const activityWatchers = new Set();

/** `fn(frame)` for every live activity frame (the profile's timeline); returns the unsubscribe. */
export function onActivity(fn) {
  activityWatchers.add(fn);
  return () => activityWatchers.delete(fn);
}

export function applyActivity(frame) {
  for (const fn of activityWatchers) {
    try {
      fn(frame);
    } catch (error) {
      console.error('store: activity watcher failed', error);
    }
  }
  const id = frame.conversation_id ?? frame.data?.conversation_id;
  if (!id) return; // contact_created, events: nothing in the Inbox shows them yet.
  const known = state.conversations.get(id);
  switch (frame.kind) {
    case 'emailed':
    case 'not_emailed':
      // Kept for loaded (or loading) threads only; opening another reads its timeline.
      if ((state.details.has(id) || id === state.selectedId) && recordEmailEntries(id, [frame])
        && id === state.selectedId) emit('detail');
      return;
    case 'conversation_started':
      if (!known) fetchConversation(id);
      break;
    case 'message': {
      const part = frame.data;
      if (!known) {
        fetchConversation(id);
        break;
      }
      addPart(id, part);
      if (part.author?.type === 'contact') {
        if (id === state.selectedId) {
          markSeen(id);
          announce(`New message from ${contactName(known.contact)}: ${part.body.slice(0, 140)}`);
        } else if (matchesFilters(state.conversations.get(id))) {
          announce(`New message from ${contactName(known.contact)}`);
        }
        // A message ends the typing indicator.
        if (state.typing.delete(id)) emit('typing');
      }
      break;
    }
    case 'status_changed':
      if (!known) {
        fetchConversation(id);
        break;
      }
      upsertSummary({
        ...known,
        status: frame.data.status,
        snoozed_until: frame.data.snoozed_until ?? null,
        updated_at: maxTime(known.updated_at, frame.created_at),
      });
      break;
    case 'assigned':
      if (!known) {
        fetchConversation(id);
        break;
      }
      upsertSummary({ ...known, assignee_id: frame.data.assignee_id ?? null });
      break;
    case 'read': {
      const readAt = frame.data?.read_at;
      if (known) upsertSummary({ ...known, contact_read_at: maxTime(known.contact_read_at, readAt) });
      break;
    }
    default:
      return;
  }
  recomputeList();
  if (id === state.selectedId) emit('detail');
}

const typingTimers = new Map();

export function applyTyping({ conversation_id: id, contact_id: contactId }) {
  if (!id) return;
  state.typing.set(id, { contactId, until: Date.now() + TYPING_SHOWN_MS });
  clearTimeout(typingTimers.get(id));
  typingTimers.set(id, setTimeout(() => {
    typingTimers.delete(id);
    state.typing.delete(id);
    emit('typing');
  }, TYPING_SHOWN_MS));
  emit('typing');
}

export function setConnected(connected) {
  state.connected = connected;
  state.everConnected ||= connected;
  emit('connection');
}

// --- Actions on a conversation ------------------------------------------------------

/** `emailFallback`: the composer's "Email if unread" (undefined when it was not offered). */
export async function reply(id, body, type, { emailFallback } = {}) {
  const sent = await post(`/api/v1/conversations/${encodeURIComponent(id)}/reply`,
    replyRequest(body, type, emailFallback));
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

// --- People -----------------------------------------------------------------------

let schemaRequest = null;

/** GET /people/schema, read once per sign-in (or again with `force`, after a change). */
export function loadPeopleSchema({ force = false } = {}) {
  if (state.peopleSchema && !force) return Promise.resolve(state.peopleSchema);
  if (schemaRequest && !force) return schemaRequest;
  const request = get('/api/v1/people/schema').then((schema) => {
    if (schemaRequest === request) {
      state.peopleSchema = schema ?? { properties: [], events: [], tags: [] };
      emit('schema');
    }
    return state.peopleSchema;
  }).finally(() => {
    if (schemaRequest === request) schemaRequest = null;
  });
  schemaRequest = request;
  return request;
}
