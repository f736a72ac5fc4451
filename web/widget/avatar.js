// Initials avatars for team members and the workspace.

import { html } from '../shared/html.js';

const PALETTE_SIZE = 6;

/** "Ada Lovelace" → "AL"; one word → its first two letters. */
export function initialsOf(name) {
  const words = String(name ?? '').trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return '?';
  const letters = words.length === 1 ? [...words[0]].slice(0, 2) : [[...words[0]][0], [...words.at(-1)][0]];
  return letters.join('').toUpperCase();
}

// The same person always gets the same colour.
function colourOf(name) {
  let hash = 0;
  for (const ch of String(name ?? '')) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return hash % PALETTE_SIZE;
}

/** A decorative avatar: the name is always written next to it or in a label. */
export function avatar(person, size = 'small') {
  const initials = person?.avatar_initials || initialsOf(person?.name);
  return html`<span class="avatar avatar--${size} avatar--c${colourOf(person?.name ?? initials)}" aria-hidden="true">${initials}</span>`;
}
