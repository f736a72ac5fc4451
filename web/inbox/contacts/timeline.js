// A contact's timeline, the parts with no DOM: the kind filter's chips and
// the `kinds=` they ask for, what each entry says in one line, and merging
// pages with live entries. Touches no DOM, so that `node --test` can load
// it (the view passes its Markdown-to-text in).

import { describeEmailEntry } from '../data/email.js';
import { messageInOneLine } from '../data/attachments.js';

export const TIMELINE_FILTERS = [
  { key: 'all', label: 'All', kinds: null },
  { key: 'messages', label: 'Messages', kinds: ['message'] },
  { key: 'emails', label: 'Emails', kinds: ['emailed', 'not_emailed'] },
  { key: 'events', label: 'Events', kinds: ['event'] },
  { key: 'conversations', label: 'Conversations', kinds: ['conversation_started', 'status_changed', 'assigned', 'rated', 'tagged', 'untagged'] },
  { key: 'bulk', label: 'Bulk sends', kinds: ['bulk_send_received'] },
  { key: 'automations', label: 'Automations', kinds: ['automation', 'contact_updated'] },
];

function filterByKey(key) {
  return TIMELINE_FILTERS.find((f) => f.key === key) ?? TIMELINE_FILTERS[0];
}

/** " (automation, node n)" for an entry an automation caused. */
function causedBy(cause) {
  return cause?.node ? ` (automation, step ${cause.node})` : '';
}

/** The editor of the automation behind an entry, if one is. */
function automationHref(cause) {
  return cause?.automation_id ? `#/automations/${encodeURIComponent(cause.automation_id)}` : null;
}

/** The timeline request's query string: `limit=30&cursor=…&kinds=a,b`. */
export function timelineQuery({ limit = 30, cursor = null, filter = 'all' } = {}) {
  const parts = [`limit=${encodeURIComponent(limit)}`];
  if (cursor) parts.push(`cursor=${encodeURIComponent(cursor)}`);
  const { kinds } = filterByKey(filter);
  // Kind names are plain words: the comma is left as it is for readability.
  if (kinds) parts.push(`kinds=${kinds.map(encodeURIComponent).join(',')}`);
  return parts.join('&');
}

/** Whether a (live) entry belongs under the chosen chip. */
export function entryMatchesFilter(entry, filter = 'all') {
  const { kinds } = filterByKey(filter);
  return !kinds || kinds.includes(entry?.kind);
}

/** Existing entries plus new ones, each once (by `seq`), newest first. */
export function mergeEntries(existing, incoming) {
  const bySeq = new Map(existing.map((entry) => [entry.seq, entry]));
  for (const entry of incoming) {
    if (entry && entry.seq !== undefined && !bySeq.has(entry.seq)) bySeq.set(entry.seq, entry);
  }
  return [...bySeq.values()].sort((a, b) => b.seq - a.seq);
}

const EXCERPT_CHARS = 160;

function excerptOf(text, chars = EXCERPT_CHARS) {
  const flat = String(text ?? '').replace(/\s+/g, ' ').trim();
  return flat.length > chars ? `${flat.slice(0, chars - 1)}…` : flat;
}

function words(text) {
  return String(text ?? '').replaceAll('_', ' ');
}

/**
 * What a timeline entry says: `{icon, label, text, tone, href}`; `href`
 * is where the entry leads (its conversation, its bulk send) or null.
 * `names.agent(id)` and `names.contact` name people; `names.plainText`
 * turns a message's Markdown into text (defaults to the raw text).
 */
export function describeEntry(entry, names = {}) {
  const agent = (id) => (id ? names.agent?.(id) ?? 'A teammate' : null);
  const contact = names.contact || 'The contact';
  const plain = names.plainText ?? ((text) => text);
  const data = entry?.data ?? {};
  const conversationHref = entry?.conversation_id ? `#/conversations/${encodeURIComponent(entry.conversation_id)}` : null;
  switch (entry?.kind) {
    case 'contact_created':
      return { icon: '★', label: 'Contact created', text: `${contact} became a contact`, tone: 'quiet', href: null };
    case 'event': {
      if (data.name === '$page_view') {
        const url = data.params?.url;
        return { icon: '◉', label: 'Page view', text: url ? `Viewed ${url}` : 'Viewed a page', tone: 'quiet', href: null };
      }
      return { icon: '⚑', label: 'Event', text: `${data.name ?? 'An event'}`, tone: 'event', href: null };
    }
    case 'conversation_started':
      return { icon: '◆', label: 'Conversation', text: 'Conversation started', tone: 'quiet', href: conversationHref };
    case 'message': {
      const author = data.author ?? {};
      const who = author.type === 'contact' ? contact
        : author.type === 'bot' ? 'Bot' : agent(author.id) ?? 'The team';
      const note = data.type === 'note';
      return {
        icon: note ? '✎' : '✉',
        label: note ? 'Note' : 'Message',
        text: `${who}: ${excerptOf(messageInOneLine(plain(data.body ?? ''), data.attachments))}`,
        tone: note ? 'note' : author.type === 'contact' ? 'contact' : 'team',
        href: conversationHref,
      };
    }
    case 'status_changed': {
      const by = data.by ? ` by ${agent(data.by)}` : '';
      const text = data.status === 'closed' ? `Conversation closed${by}`
        : data.status === 'snoozed' ? `Conversation snoozed${by}`
          : data.status === 'open' ? `Conversation reopened${by}`
            : `Conversation ${words(data.status)}${by}`;
      return { icon: '⇄', label: 'Conversation', text, tone: 'quiet', href: conversationHref, until: data.status === 'snoozed' ? data.snoozed_until ?? null : null };
    }
    case 'assigned': {
      const by = data.by ? ` by ${agent(data.by)}` : '';
      const text = data.assignee_id ? `Assigned to ${agent(data.assignee_id)}${by}` : `Unassigned${by}`;
      return { icon: '→', label: 'Conversation', text, tone: 'quiet', href: conversationHref };
    }
    case 'tagged':
    case 'untagged': {
      const by = data.by ? ` by ${agent(data.by)}` : '';
      const text = entry.kind === 'tagged' ? `Tagged the conversation “${data.tag ?? ''}”${by}`
        : `Removed the tag “${data.tag ?? ''}”${by}`;
      return { icon: '#', label: 'Tag', text, tone: 'quiet', href: conversationHref };
    }
    case 'read':
      return { icon: '✓', label: 'Read', text: `${contact} read the conversation`, tone: 'quiet', href: conversationHref };
    case 'emailed':
    case 'not_emailed': {
      const { text, tone } = describeEmailEntry(entry);
      return { icon: '✉', label: 'Email', text, tone: tone === 'failed' ? 'failed' : 'quiet', href: conversationHref };
    }
    case 'contact_updated': {
      const changes = [];
      if (data.properties?.length) changes.push(`set ${data.properties.join(', ')}`);
      if (data.tags_added?.length) changes.push(`tagged ${data.tags_added.join(', ')}`);
      if (data.tags_removed?.length) changes.push(`untagged ${data.tags_removed.join(', ')}`);
      const text = `${changes.join('; ') || 'Profile updated'}${causedBy(data.cause)}`;
      return { icon: '✎', label: 'Profile', text: text.charAt(0).toUpperCase() + text.slice(1), tone: 'quiet', href: automationHref(data.cause) };
    }
    case 'automation': {
      const what = { started: 'started', done: 'finished', goal_reached: 'reached its goal', stopped: 'stopped', failed: 'failed' }[data.what] ?? words(data.what ?? 'ran');
      const detail = data.detail ? `: ${data.detail}` : '';
      return {
        icon: '⚙',
        label: 'Automation',
        text: `An automation ${what}${detail}`,
        tone: data.what === 'failed' ? 'failed' : 'quiet',
        href: automationHref(data),
      };
    }
    case 'bulk_send_received':
      return {
        icon: '⇶',
        label: 'Bulk send',
        text: 'Received a bulk message',
        tone: 'quiet',
        href: data.bulk_send_id ? `#/bulk-sends/${encodeURIComponent(data.bulk_send_id)}` : conversationHref,
      };
    case 'rated': {
      const word = { 1: 'bad', 2: 'OK', 3: 'great' }[data.score] ?? String(data.score);
      return {
        icon: { 1: '😞', 2: '😐', 3: '😀' }[data.score] ?? '★',
        label: 'Rating',
        text: data.comment ? `Rated the conversation ${word}: “${data.comment}”` : `Rated the conversation ${word}`,
        tone: 'quiet',
        href: conversationHref,
      };
    }
    default:
      return { icon: '•', label: 'Activity', text: words(entry?.kind ?? 'Something happened'), tone: 'quiet', href: conversationHref };
  }
}
