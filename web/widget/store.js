// The visitor's conversations as the messenger knows them, and the unread
// count of team messages. The server's list is the truth; live messages
// adjust it until the next list arrives.

function time(value) {
  const t = Date.parse(value ?? '');
  return Number.isFinite(t) ? t : 0;
}

/**
 * Where `part` goes in `parts` (stored parts, oldest first) so the thread
 * keeps the server's order: by `created_at`, then by id (time-ordered
 * UUIDv7 text). A part fetched by a thread refresh can be older than one
 * that came live meanwhile; appending it would put it last, and the
 * newest message (which a bot's question is read from) would be wrong.
 */
export function placeOf(parts, part) {
  const t = time(part.created_at);
  const id = String(part.id ?? '');
  let at = parts.length;
  while (at > 0) {
    const before = parts[at - 1];
    const bt = time(before.created_at);
    if (bt < t || (bt === t && String(before.id ?? '') <= id)) break;
    at -= 1;
  }
  return at;
}

export function isTeamAuthor(author) {
  return !!author && author.type !== 'contact';
}

// `last_part` may come without an id (the list shows a summary): then
// only a later timestamp tells a new message from the one already counted.
function isNewer(part, last) {
  if (part.id && last.id && part.id === last.id) return false;
  const [t, lastT] = [time(part.created_at), time(last.created_at)];
  return t > lastT || (t === lastT && !!part.id && !!last.id);
}

export class ConversationStore {
  constructor() {
    this.byId = new Map();
    this.loaded = false;
  }

  clear() {
    this.byId.clear();
    this.loaded = false;
  }

  /** Replaces everything with a `GET /widget/v1/conversations` answer. */
  replace(list) {
    this.byId.clear();
    for (const conversation of list ?? []) {
      if (!conversation?.id) continue;
      this.byId.set(conversation.id, { ...conversation, unread: Number(conversation.unread) || 0 });
    }
    this.loaded = true;
  }

  get(id) {
    return this.byId.get(id) ?? null;
  }

  has(id) {
    return this.byId.has(id);
  }

  get size() {
    return this.byId.size;
  }

  /** Newest activity first. */
  sorted() {
    return [...this.byId.values()].sort((a, b) => time(b.updated_at) - time(a.updated_at));
  }

  /** Adds or refreshes one conversation (from a create or a thread answer). */
  upsert(conversation, lastPart) {
    if (!conversation?.id) return null;
    const known = this.byId.get(conversation.id);
    const merged = { unread: 0, ...known, ...conversation };
    merged.unread = Number(known?.unread ?? conversation.unread) || 0;
    if (lastPart) merged.last_part = lastPart;
    this.byId.set(conversation.id, merged);
    return merged;
  }

  /**
   * A message arrived live. Returns whether it is news for the unread
   * count: a team message newer than what the last list already counted.
   * Unknown conversations return `null`: the list must be fetched again.
   */
  receive(conversationId, part) {
    const conversation = this.byId.get(conversationId);
    if (!conversation) return null;
    const last = conversation.last_part;
    const newer = !last || isNewer(part, last);
    if (!newer) return false;
    conversation.last_part = part;
    if (part.created_at) conversation.updated_at = part.created_at;
    return isTeamAuthor(part.author);
  }

  addUnread(conversationId, count = 1) {
    const conversation = this.byId.get(conversationId);
    if (conversation) conversation.unread += count;
  }

  markRead(conversationId) {
    const conversation = this.byId.get(conversationId);
    if (!conversation || conversation.unread === 0) return false;
    conversation.unread = 0;
    return true;
  }

  setStatus(conversationId, status) {
    const conversation = this.byId.get(conversationId);
    if (conversation && status) conversation.status = status;
  }

  unreadTotal() {
    let total = 0;
    for (const conversation of this.byId.values()) total += conversation.unread;
    return total;
  }
}
