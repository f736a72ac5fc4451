// Initials avatars for team members and the workspace.

import { html } from '../shared/html.js';
import { initials, colourIndex } from '../shared/avatar.js';

// The messenger.css palette: avatar--c0 … avatar--c5.
const PALETTE_SIZE = 6;

/** A decorative avatar: the name is always written next to it or in a label. */
export function avatar(person, size = 'small') {
  const shown = initials(person?.name);
  return html`<span class="avatar avatar--${size} avatar--c${colourIndex(person?.name ?? shown, PALETTE_SIZE)}" aria-hidden="true">${shown}</span>`;
}
