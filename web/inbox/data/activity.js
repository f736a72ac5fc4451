// Live frames as the store applies them: activity (messages, status
// changes, assignments, tags, reads, email fallback lines), and the
// contact's typing. The profile's timeline watches every activity frame too.

import { state, emit, announce, contactName } from './store.js';
import { matchesFilters, recomputeList, upsertSummary, markSeen } from './conversation-list.js';
import { recordEmailEntries, fetchConversation, addPart, maxTime } from './conversations.js';
import { applyTagFrame } from './tags.js';
import { messageInOneLine } from './attachments.js';

const TYPING_SHOWN_MS = 4000;

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
          announce(`New message from ${contactName(known.contact)}: ${messageInOneLine(part.body, part.attachments).slice(0, 140)}`);
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
    case 'tagged':
    case 'untagged':
      // One not loaded yet may now match the list's tag filter.
      if (!known) fetchConversation(id);
      applyTagFrame(id, frame.kind, frame.data?.tag);
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
