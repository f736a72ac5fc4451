// What the newest message of a thread asks of the visitor, with no DOM:
// reply buttons (`origin.buttons`) to answer with one click, and the kind
// of answer a question expects (`origin.input`), which the composer's
// field follows (an email keyboard for an email address, and so on). Only
// the newest message counts: once the visitor has written, it is over.

import { t } from './i18n.js';

const KINDS = new Set(['text', 'email', 'phone', 'number', 'choice']);

/**
 * `parts`: the thread oldest first (messages being sent included, last).
 * Returns `{partId, buttons, input}` when the newest message is from the
 * team or a bot and asks something, else null.
 */
export function promptOf(parts) {
  const newest = parts?.length ? parts[parts.length - 1] : null;
  if (!newest || newest.tempId || newest.author?.type === 'contact') return null;
  const origin = newest.origin;
  if (!origin || typeof origin !== 'object') return null;
  const buttons = Array.isArray(origin.buttons)
    ? origin.buttons.filter((label) => typeof label === 'string' && label.trim()) : [];
  const input = KINDS.has(origin.input) ? origin.input : null;
  if (!buttons.length && !input) return null;
  return { partId: newest.id ?? '', buttons, input };
}

/**
 * How the composer's field is set for an answer of `kind`: `line` (a
 * one-line input rather than the text area), its `type`, `inputmode`,
 * `autocomplete` and `placeholder`; null for an ordinary message.
 */
export function answerField(kind) {
  switch (kind) {
    case 'email':
      return { line: true, type: 'email', inputmode: 'email', autocomplete: 'email', placeholder: t('emailAddress') };
    case 'phone':
      return { line: true, type: 'tel', inputmode: 'tel', autocomplete: 'tel', placeholder: t('phoneNumber') };
    case 'number':
      return { line: true, type: 'text', inputmode: 'decimal', autocomplete: 'off', placeholder: t('aNumber') };
    case 'choice':
      return { line: false, type: null, inputmode: null, autocomplete: 'off', placeholder: t('chooseAnswer') };
    case 'text':
      return { line: false, type: null, inputmode: null, autocomplete: 'off', placeholder: t('typeAnswer') };
    default:
      return null;
  }
}
