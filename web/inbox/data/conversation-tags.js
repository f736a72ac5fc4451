// A conversation's tags as the server keeps them, with no DOM and no
// requests: what a tag may be (checked before asking), and the sorted,
// duplicate-free list after a live frame adds or removes one. Touches no
// DOM, so that `node --test` can load it.

export const MAX_TAG_CHARS = 64;

// Control characters and the Unicode line and paragraph separators.
const BREAKS_A_LINE = /[\p{Cc}\u2028\u2029]/u;

/**
 * Why `text` (as typed) cannot be a tag, or null when it can: trimmed, 1 to
 * 64 characters, none of them a control character.
 */
export function tagProblem(text) {
  const tag = String(text ?? '').trim();
  if (!tag) return 'Type a tag first.';
  if ([...tag].length > MAX_TAG_CHARS) return `A tag is at most ${MAX_TAG_CHARS} characters.`;
  if (BREAKS_A_LINE.test(tag)) return 'A tag cannot hold line breaks or control characters.';
  return null;
}

/** Code point order, the order the server sorts tags in (case counts). */
export function compareTags(a, b) {
  const left = [...a];
  const right = [...b];
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const difference = left[i].codePointAt(0) - right[i].codePointAt(0);
    if (difference) return difference;
  }
  return left.length - right.length;
}

/** The strings of `tags`, each once, sorted. */
export function sortedTags(tags) {
  const strings = (Array.isArray(tags) ? tags : []).filter((tag) => typeof tag === 'string' && tag);
  return [...new Set(strings)].sort(compareTags);
}

/** `tags` with `tag` added (kept sorted, no duplicates). */
export const withTag = (tags, tag) => sortedTags([...(tags ?? []), tag]);

/** `tags` without `tag`. */
export const withoutTag = (tags, tag) => sortedTags((tags ?? []).filter((t) => t !== tag));

/** The workspace's tags in use (`[{name, conversations}]`) with a newly used one added last. */
export function withTagInUse(inUse, tag) {
  const list = Array.isArray(inUse) ? inUse : [];
  if (!tag || list.some((t) => t.name === tag)) return list;
  return [...list, { name: tag, conversations: 1 }];
}

/**
 * Our own tag changes awaiting their answers, each with the live frames
 * about the same conversation and tag since it was asked for. The answer
 * to a change is applied as that one tag added or removed, never as the
 * answer's whole list, so answers to two changes (remove A, then B) can
 * come in either order. Live frames come in the server's order, ours among
 * them, so once one about the tag has come while the change was in flight,
 * the frames hold the truth and the answer is not applied: it may be older
 * than a teammate's change the frames already showed.
 */
export function tagChangesInFlight() {
  const byKey = new Map(); // `${id}\n${tag}` -> {asked, frames}
  const keyOf = (id, tag) => `${id}\n${tag}`;
  return {
    /** A change to `tag` on conversation `id` was asked for; the token goes to `answered`. */
    asked(id, tag) {
      const key = keyOf(id, tag);
      const entry = byKey.get(key) ?? { asked: 0, frames: 0 };
      entry.asked += 1;
      byKey.set(key, entry);
      return { key, frames: entry.frames };
    },
    /** A live frame tagged or untagged `tag` on conversation `id`. */
    framed(id, tag) {
      const entry = byKey.get(keyOf(id, tag));
      if (entry) entry.frames += 1;
    },
    /** The change of `token` was answered (or failed): whether its answer may still be applied. */
    answered(token) {
      const entry = byKey.get(token.key);
      if (!entry) return false;
      entry.asked -= 1;
      if (entry.asked <= 0) byKey.delete(token.key);
      return entry.frames === token.frames;
    },
  };
}
