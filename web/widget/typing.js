// "Jane is typing…" under the thread, for a few seconds after each frame.

import { html, render } from '../shared/html.js';
import { els, state } from './context.js';
import { t } from './i18n.js';

const TYPING_SHOWN_MS = 4000;

let typingTimer = null;

export function onTypingFrame(frame) {
  if (state.view !== 'thread' || !state.openId || frame.conversation_id !== state.openId) return;
  const name = frame.agent?.name || t('someone');
  // The live region stays in place (only its text changes) so screen
  // readers announce it; empty, it takes no room.
  render(els.typing, html`${t('isTyping', { name })}`);
  els.typing.dataset.conversationId = frame.conversation_id;
  clearTimeout(typingTimer);
  typingTimer = setTimeout(hideTyping, TYPING_SHOWN_MS);
}

/** Hides the line (only if it is about `conversationId`, when one is given). */
export function hideTyping(conversationId) {
  if (conversationId && els.typing.dataset.conversationId !== conversationId) return;
  clearTimeout(typingTimer);
  els.typing.dataset.conversationId = '';
  render(els.typing, html``);
}
