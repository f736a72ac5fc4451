// What one search hit shows, with no DOM of its own: the excerpt with its
// matched words in <mark> (built with the escaping `html` helper, so the
// server's text is only ever text), the status's word and where it
// matched. `node --test` loads it.

import { html } from '../../shared/html.js';

const STATUS_WORDS = { open: 'Open', snoozed: 'Snoozed', closed: 'Closed' };

/** "Open", "Snoozed" or "Closed". */
export function statusWord(status) {
  return STATUS_WORDS[status] ?? String(status ?? '');
}

const FIELD_WORDS = { message: 'Message', contact: 'Contact', tag: 'Tag' };

/** Where a hit matched, as a short label ("Message", "Contact", "Tag"). */
export function matchWord(match) {
  return FIELD_WORDS[match?.field] ?? 'Match';
}

/**
 * The excerpt's segments (`[{text, hit}]`) as one fragment: the matched
 * words in <mark>, the rest as text. Anything not a segment is skipped.
 */
export function excerptFragment(excerpt) {
  const segments = Array.isArray(excerpt) ? excerpt : [];
  return html`${segments
    .filter((segment) => segment && typeof segment.text === 'string')
    .map((segment) => (segment.hit === true ? html`<mark>${segment.text}</mark>` : segment.text))}`;
}

/** The element id of a hit in the results listbox. */
export const hitElementId = (conversationId) => `search-hit-${conversationId}`;
