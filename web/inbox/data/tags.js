// Conversation tags: the workspace's tags in use (the thread's suggestions
// and the list's tag filter), and tagging or untagging one conversation.
// Answers and live frames land in the conversation's summary and detail,
// so the thread's chips, the list's rows and its filter follow.

import { get, post, del } from './api.js';
import { state, emit, sessionNumber } from './store.js';
import { upsertSummary, recomputeList } from './conversation-list.js';
import {
  sortedTags, withTag, withoutTag, withTagInUse, tagChangesInFlight,
} from './conversation-tags.js';

const tagsPath = (id) => `/api/v1/conversations/${encodeURIComponent(id)}/tags`;

let tagsRequest = null; // {promise, session}: the read in flight, and the session it is for

/** GET /conversation-tags, read once per sign-in (again with `force`, after adding one). */
export function loadConversationTags({ force = false } = {}) {
  const session = sessionNumber();
  if (state.conversationTags && !force) return Promise.resolve(state.conversationTags);
  if (tagsRequest?.session === session && !force) return tagsRequest.promise;
  const request = { session, promise: null };
  request.promise = get('/api/v1/conversation-tags').then((answer) => {
    // An answer for a session since signed out of is dropped.
    if (tagsRequest === request && sessionNumber() === session) {
      const items = answer?.data ?? [];
      state.conversationTags = items.filter((t) => typeof t?.name === 'string');
      emit('tags');
    }
    return state.conversationTags;
  }).finally(() => {
    if (tagsRequest === request) tagsRequest = null;
  });
  tagsRequest = request;
  return request.promise;
}

/** The workspace's tag names, most used first (empty until loaded). */
export function tagNames() {
  return (state.conversationTags ?? []).map((t) => t.name);
}

/** Sets a conversation's tags wherever it is known (its list row, its thread). */
function setTags(id, tags) {
  const sorted = sortedTags(tags);
  if (state.conversations.has(id)) {
    // Merged into the summary, and from there into the detail.
    upsertSummary({ id, tags: sorted });
  } else if (state.details.has(id)) {
    state.details.set(id, { ...state.details.get(id), tags: sorted });
  } else {
    return;
  }
  recomputeList();
  emit('detail');
}

function currentTags(id) {
  return state.details.get(id)?.tags ?? state.conversations.get(id)?.tags ?? [];
}

const inFlight = tagChangesInFlight();

/**
 * Asks for one tag change and applies it as that tag added or removed
 * (`change`) on the tags as they are when the answer comes; see
 * `tagChangesInFlight` for when the answer is left to the live frames.
 */
async function changeTag(id, tag, ask, change) {
  const session = sessionNumber();
  const token = inFlight.asked(id, tag);
  try {
    await ask();
  } catch (error) {
    inFlight.answered(token);
    throw error;
  }
  // After a sign-out the change is the last session's: the next one reads its own.
  if (inFlight.answered(token) && sessionNumber() === session) setTags(id, change(currentTags(id), tag));
  return currentTags(id);
}

/** Puts `tag` on the conversation; resolves to its tags. */
export async function addConversationTag(id, tag) {
  const name = String(tag).trim(); // as the server keeps it
  const session = sessionNumber();
  const tags = await changeTag(id, name, () => post(tagsPath(id), { tag: name }), withTag);
  if (sessionNumber() === session) {
    loadConversationTags({ force: true }).catch((error) => console.warn('conversation tags:', error.message));
  }
  return tags;
}

/** Takes `tag` off the conversation; resolves to its tags. */
export function removeConversationTag(id, tag) {
  return changeTag(id, tag, () => del(`${tagsPath(id)}/${encodeURIComponent(tag)}`), withoutTag);
}

/**
 * A `tagged` / `untagged` live frame for a conversation already known:
 * another agent's change shows at once. A tag new to the workspace joins
 * the suggestions.
 */
export function applyTagFrame(id, kind, tag) {
  if (typeof tag !== 'string' || !tag) return;
  inFlight.framed(id, tag);
  const known = state.conversations.get(id) ?? state.details.get(id);
  if (known) {
    const tags = kind === 'tagged' ? withTag(known.tags, tag) : withoutTag(known.tags, tag);
    if (state.conversations.has(id)) upsertSummary({ id, tags });
    else state.details.set(id, { ...known, tags });
  }
  if (kind === 'tagged' && state.conversationTags) {
    const next = withTagInUse(state.conversationTags, tag);
    if (next !== state.conversationTags) {
      state.conversationTags = next;
      emit('tags');
    }
  }
}
