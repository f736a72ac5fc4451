// A bot's question in the open thread: its reply buttons under the newest
// message (real buttons; choosing one sends its label as the visitor's
// message and they go), and the composer's field set for the answer it
// expects. Called whenever the thread's newest message may have changed.

import { html, append } from '../shared/html.js';
import { els, state, composer } from './context.js';
import { promptOf } from './bot-prompt.js';
import { t } from './i18n.js';

function threadParts() {
  const waiting = [...state.pending.values()].filter((p) => p.conversationId === state.openId);
  return [...state.parts, ...waiting];
}

/** Shows or hides the reply buttons, and sets the composer, for the thread as it is now. */
export function refreshPrompt() {
  const log = document.getElementById('log');
  const prompt = state.view === 'thread' && log ? promptOf(threadParts()) : null;
  const shown = log?.querySelector('.reply-buttons') ?? null;
  const wanted = prompt?.buttons.length ? prompt : null;
  if (shown && (!wanted || shown.dataset.partId !== wanted.partId)) {
    const hadFocus = shown.contains(document.activeElement);
    shown.remove();
    if (hadFocus && composer.visible) composer.focus();
  }
  if (wanted && (!shown || shown.dataset.partId !== wanted.partId)) {
    const nearBottom = els.body.scrollHeight - els.body.scrollTop - els.body.clientHeight < 80;
    append(log, html`<div class="reply-buttons" role="group" aria-label="${t('quickReplies')}" data-part-id="${wanted.partId}"
      data-testid="messenger-reply-buttons">
      ${wanted.buttons.map((label) => html`<button type="button" class="reply-button" data-action="reply-button"
        data-label="${label}" data-testid="messenger-reply-button">${label}</button>`)}
    </div>`);
    if (nearBottom) els.body.scrollTop = els.body.scrollHeight;
  }
  composer.setAnswer(prompt?.input ?? null);
}

/** A reply button was chosen: the buttons go at once (no second click), and the label is sent. */
export function chooseReply(button, send) {
  const group = button.closest('.reply-buttons');
  if (!group || group.dataset.chosen) return;
  group.dataset.chosen = 'true';
  for (const other of group.querySelectorAll('button')) other.disabled = true;
  composer.focus();
  send(button.dataset.label);
}

/** Left / right arrows (and Home / End) move between a message's reply buttons. */
export function moveBetweenReplies(event) {
  const button = event.target.closest?.('.reply-button');
  if (!button) return false;
  const buttons = [...button.parentElement.querySelectorAll('.reply-button:not(:disabled)')];
  const at = buttons.indexOf(button);
  const to = { ArrowRight: at + 1, ArrowDown: at + 1, ArrowLeft: at - 1, ArrowUp: at - 1, Home: 0, End: buttons.length - 1 }[event.key];
  if (to === undefined) return false;
  buttons[(to + buttons.length) % buttons.length]?.focus();
  event.preventDefault();
  return true;
}
