// Rating a closed conversation: under the thread of a closed conversation
// the visitor has not rated, three faces (bad, OK, great); choosing one
// offers an optional comment and "Send rating"; then a thank-you. Asked
// once the conversation is closed, by the team or live while it is open.

import { html, render } from '../shared/html.js';
import { state, api, store } from './context.js';
import { t } from './i18n.js';

const FACES = [[1, '😞', 'rateBad'], [2, '😐', 'rateOk'], [3, '😀', 'rateGreat']];

function slot() {
  let element = document.getElementById('rating');
  const log = document.getElementById('log');
  if (!element && log) {
    element = document.createElement('div');
    element.id = 'rating';
    log.after(element);
  }
  return element;
}

function draw() {
  const element = slot();
  if (!element) return;
  const ask = state.rating;
  if (!ask) {
    render(element, html``);
    return;
  }
  if (ask.done) {
    render(element, html`<p class="rating-thanks" role="status" data-testid="messenger-rating-thanks">${t('rateThanks')}</p>`);
    return;
  }
  render(element, html`
    <form class="rating" data-testid="messenger-rating" aria-labelledby="rating-title">
      <p id="rating-title" class="rating-title">${t('rateTitle')}</p>
      <div class="rating-faces" role="group" aria-labelledby="rating-title">
        ${FACES.map(([score, face, label]) => html`<button type="button" class="rating-face" data-action="rate"
          data-score="${String(score)}" aria-label="${t(label)}" aria-pressed="${ask.score === score ? 'true' : 'false'}"
          data-testid="messenger-rating-face">${face}</button>`)}
      </div>
      ${ask.score ? html`
        <label class="sr-only" for="rating-comment">${t('rateComment')}</label>
        <textarea id="rating-comment" class="rating-comment" rows="2" maxlength="1000" dir="auto"
          placeholder="${t('rateComment')}" data-testid="messenger-rating-comment"></textarea>
        <button type="button" class="primary-button" data-action="send-rating"
          data-testid="messenger-rating-send">${t('sendRating')}</button>` : ''}
      ${ask.error ? html`<p class="part-error" role="alert">${ask.error}</p>` : ''}
    </form>`);
}

/**
 * The open thread's rating question, after it loaded (`rating`: what the
 * server said of it) or when its status changed.
 */
export function refreshRating(rating = undefined) {
  const conversation = state.openId ? store.get(state.openId) : null;
  if (state.view !== 'thread' || !conversation) {
    state.rating = null;
    return;
  }
  if (rating !== undefined) state.rating = rating ? { done: true, quiet: true } : null;
  if (conversation.status === 'closed' && !state.rating) state.rating = { score: 0 };
  if (conversation.status !== 'closed' && state.rating && !state.rating.done) state.rating = null;
  // A rating given before this thread was opened is not thanked again.
  if (state.rating?.quiet) {
    render(slot() ?? document.createElement('div'), html``);
    return;
  }
  draw();
}

/** A face was chosen: the comment and "Send rating" appear. */
export function chooseScore(button) {
  if (!state.rating || state.rating.done) return;
  state.rating = { score: Number(button.dataset.score) };
  draw();
  document.getElementById('rating-comment')?.focus();
}

export async function sendRating() {
  const ask = state.rating;
  const id = state.openId;
  if (!ask?.score || ask.done || ask.sending || !id) return;
  ask.sending = true;
  const comment = document.getElementById('rating-comment')?.value ?? '';
  try {
    await api.rate(id, ask.score, comment.trim() ? comment : null);
    if (state.openId === id) state.rating = { done: true };
  } catch (error) {
    if (state.openId === id) state.rating = { ...ask, sending: false, error: error.visitorMessage };
  }
  draw();
}
