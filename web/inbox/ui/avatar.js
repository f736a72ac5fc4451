// Initials in a circle with an optional presence dot: rows, team strip, panel.

import { html } from '../../shared/html.js';
import { initials, colourIndex } from '../../shared/avatar.js';

// The inbox.css palette: hue-0 … hue-11.
const HUES = 12;

/**
 * `presence` is 'online' | 'away' | 'offline' | null (no dot).
 * `size` is 'sm' | 'md'. `seed` (an id) keeps the colour when the name changes.
 */
export function avatar({ name, seed, presence = null, size = 'md' }) {
  const label = presence ? `${name} (${presence})` : name;
  return html`<span class="avatar avatar-${size} hue-${String(colourIndex(seed ?? name, HUES))}"
    role="img" aria-label="${label}">${initials(name)}${presence
    ? html`<span class="presence-dot presence-${presence}" data-testid="presence-dot" data-presence="${presence}"></span>`
    : ''}</span>`;
}
