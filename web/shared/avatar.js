// What an avatar shows, for the Inbox and the widget alike: a person's (or
// the workspace's) initials, and a colour that stays the same for the same
// seed. Each app draws the circle with its own markup and palette
// (web/inbox/ui/avatar.js, web/widget/avatar.js).

/**
 * "Ada Lovelace" → "AL", "grace.hopper@navy.mil" → "GH": the first letters
 * of the first two words (an email counts its dots, dashes and @ as
 * spaces); one word gives its first two letters; nothing gives "?".
 */
export function initials(name) {
  const words = String(name ?? '').trim().split(/[\s@._-]+/).filter(Boolean);
  if (words.length === 0) return '?';
  const letters = words.length === 1 ? [...words[0]].slice(0, 2) : [[...words[0]][0], [...words[1]][0]];
  return letters.join('').toUpperCase();
}

/** A number in 0..count-1 that is always the same for the same seed (its palette colour). */
export function colourIndex(seed, count) {
  let hash = 0;
  for (const ch of String(seed ?? '')) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return hash % count;
}
