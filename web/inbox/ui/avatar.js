// Initials in a circle with an optional presence dot: rows, team strip, panel.

import { html } from '../../shared/html.js';

export function initials(name) {
  const words = String(name || '?').trim().split(/[\s@._-]+/).filter(Boolean);
  const letters = words.length > 1 ? words[0][0] + words[1][0] : (words[0] || '?').slice(0, 2);
  return letters.toUpperCase();
}

// A stable hue per person so avatars are told apart at a glance.
function hue(seed) {
  let h = 0;
  for (const ch of String(seed || '')) h = (h * 31 + ch.codePointAt(0)) % 360;
  return h;
}

/**
 * `presence` is 'online' | 'away' | 'offline' | null (no dot).
 * `size` is 'sm' | 'md'.
 */
export function avatar({ name, seed, presence = null, size = 'md' }) {
  const label = presence ? `${name} (${presence})` : name;
  return html`<span class="avatar avatar-${size} hue-${String(Math.round(hue(seed ?? name) / 30) % 12)}"
    role="img" aria-label="${label}">${initials(name)}${presence
    ? html`<span class="presence-dot presence-${presence}" data-testid="presence-dot" data-presence="${presence}"></span>`
    : ''}</span>`;
}
