// The attachment icons, drawn inline (the Inbox loads no icon font or
// images): a paperclip for the composer's Attach button, and a page with a
// folded corner for a file that is not shown as an image.

import { html } from '../../shared/html.js';

const svg = (body) => html`<svg class="icon" viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"
  focusable="false" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round"
  stroke-linejoin="round">${body}</svg>`;

// Drawn upright (two nested loops and an inner leg), then turned.
export const paperclipIcon = svg(html`<path transform="rotate(40 12 12)"
  d="M16 7v9a4 4 0 0 1-8 0V5.5a2.5 2.5 0 0 1 5 0V15a1 1 0 0 1-2 0V7"/>`);

export const fileIcon = svg(html`<path d="M6.5 3h7l4 4v14h-11z"/><path d="M13.5 3v4h4"/><path d="M9 12h6M9 15.5h6"/>`);
