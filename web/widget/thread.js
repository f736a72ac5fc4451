// One conversation: its messages, oldest first. Team replies carry the
// agent's name (and initials made from it); the visitor's own messages
// sit on the right; a bot's answer lists the articles it came from; files
// attached to a message follow its text (attachment-parts.js).

import { html } from '../shared/html.js';
import { markdown } from '../shared/markdown.js';
import { safeHref } from '../shared/links.js';
import { avatar } from './avatar.js';
import { partAttachmentsView } from './attachment-parts.js';
import { attachmentsOf } from './attachments.js';
import { t, language } from './i18n.js';

export function clockTime(value) {
  const ms = Date.parse(value ?? '');
  if (!Number.isFinite(ms)) return '';
  const date = new Date(ms);
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay
    ? date.toLocaleTimeString(language(), { hour: 'numeric', minute: '2-digit' })
    : date.toLocaleString(language(), { month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' });
}

function status(part) {
  if (part.failed) {
    return html`<span class="part-error" role="alert">${part.failed}</span>
      <button type="button" class="link-button" data-action="retry" data-temp-id="${part.tempId}">${t('retry')}</button>`;
  }
  if (part.pending) return html`<span class="part-meta">${t('sending')}</span>`;
  return html`<time class="part-meta" datetime="${part.created_at ?? ''}">${clockTime(part.created_at)}</time>`;
}

/** A bot answer's articles (`origin.sources`) as links to the help center, in a new tab. */
export function sourcesView(sources) {
  const links = (Array.isArray(sources) ? sources : [])
    .map((source) => ({ title: source?.title || t('article'), href: safeHref(source?.url) }))
    .filter((source) => source.href);
  if (!links.length) return '';
  return html`<ul class="part-sources" aria-label="${t('sources')}" data-testid="messenger-sources">
    ${links.map(({ title, href }) => html`<li><a href="${href}" target="_blank" rel="noopener noreferrer">${title}</a></li>`)}
  </ul>`;
}

/** The text's bubble; a message of files only has none. */
function bubble(part) {
  if (!String(part.body ?? '').trim() && attachmentsOf(part).length) return '';
  return html`<div class="bubble" dir="auto">${markdown(part.body)}</div>`;
}

/**
 * @param part `{id, author: {type, name}, body, attachments?, created_at}`,
 *   or a local one being sent: `{tempId, pending, failed, author: {type: 'contact'}, body, attachments}`
 */
export function partView(part, { workspaceName }) {
  const type = part.author?.type || 'bot';
  if (type === 'contact') {
    return html`
      <div class="part part--visitor${part.pending ? ' part--pending' : ''}${part.failed ? ' part--failed' : ''}"
        data-testid="messenger-part" data-author-type="contact"
        data-id="${part.id ?? ''}" data-temp-id="${part.tempId ?? ''}">
        <span class="sr-only">${t('youSaid')}</span>
        ${bubble(part)}
        ${partAttachmentsView(part)}
        ${status(part)}
      </div>`;
  }
  const name = part.author?.name || workspaceName || t('team');
  return html`
    <div class="part part--team" data-testid="messenger-part" data-author-type="${type}" data-id="${part.id ?? ''}">
      ${avatar({ name })}
      <div class="part-body">
        <span class="part-author" data-testid="messenger-agent-name">${name}</span>
        ${bubble(part)}
        ${partAttachmentsView(part)}
        ${type === 'bot' ? sourcesView(part.origin?.sources) : ''}
        ${status(part)}
      </div>
    </div>`;
}

/** The message log; new parts are appended to it one by one and announced. */
export function threadView(parts, context) {
  return html`
    <div class="log" id="log" role="log" aria-live="polite" aria-relevant="additions" aria-label="${t('messages')}">
      ${parts.length ? '' : html`<p class="log-empty" id="log-empty">${t('writeBelow')}</p>`}
      ${parts.map((part) => partView(part, context))}
    </div>`;
}
