// The Inbox's data layer starts here. Views read `state`, subscribe to
// topics and re-render what they show; they change things only through
// the functions of the modules in this folder (conversation-list.js,
// conversations.js, tags.js, search.js, activity.js, people.js, contacts.js,
// bulk-sends.js, automations.js, settings.js, teams.js, knowledge.js, bot.js,
// session.js), never by importing api.js, so every request has one home
// and live frames and API answers land in the same state.
//
// Topics: session, agents, list, detail, typing, connection, route, schema, tags.
//
// This module holds the state, the topics, the session, the team and what
// is known about contacts; the others hold the rest.

import { get } from './api.js';

export const FILTERS_KEY = 'rapport.inbox.filters';
export const SEEN_KEY = 'rapport.inbox.seen';

function loadJson(key, fallback) {
  try {
    const value = JSON.parse(localStorage.getItem(key));
    return value && typeof value === 'object' ? value : fallback;
  } catch {
    return fallback;
  }
}

export function saveJson(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Private mode or a full quota: the Inbox still works, it just forgets.
  }
}

// "All" first: on a new workspace nothing is assigned yet, and new visitors must show up.
const DEFAULT_FILTERS = { status: 'open', assignee: 'all', sort: 'newest', tag: null };

// The list's filters as they are remembered: not the one-contact filter,
// which comes from the address (`#/?contact=…`). `tag` is a conversation
// tag, or null for any.
export function savedFilters({ status, assignee, sort, tag }) {
  return { status, assignee, sort, tag: typeof tag === 'string' && tag ? tag : null };
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
  conversationTags: null, // GET /conversation-tags: [{name, conversations}], most used first
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

// Counts sign-outs: a module's request begun in one session checks it
// before its answer lands, so nothing from the last session (perhaps
// another workspace) fills the next one's state.
let session = 0;

/** The current session's number; it changes when `clearAll` runs. */
export const sessionNumber = () => session;

export function clearAll() {
  session += 1;
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
  state.conversationTags = null;
  state.filters = { ...state.filters, contactId: null };
  state.contactFilterName = null;
  emit('session', 'list', 'detail', 'agents', 'schema', 'tags');
}

/** The workspace's `email` settings, once something has read them (the settings page). */
export function setWorkspaceEmail(email) {
  if (!state.workspace || !email) return;
  state.workspace = { ...state.workspace, email };
  emit('session');
}

/** The workspace's `attachments` (`{max_bytes, kinds, server_max_bytes}`): the composer's paperclip, `accept` and size limit. */
export function setWorkspaceAttachments(attachments) {
  if (!state.workspace || !attachments) return;
  state.workspace = { ...state.workspace, attachments };
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

export function rememberOnline(contact) {
  if (contact && typeof contact.online === 'boolean' && !state.contactOnline.has(contact.id)) {
    state.contactOnline.set(contact.id, contact.online);
  }
}

// --- Announcements and the connection --------------------------------------------

const announcers = new Set();

/** `fn(text)` for things worth announcing to screen readers. */
export function onAnnounce(fn) {
  announcers.add(fn);
}

export function announce(text) {
  for (const fn of announcers) fn(text);
}

export function setConnected(connected) {
  state.connected = connected;
  state.everConnected ||= connected;
  emit('connection');
}
