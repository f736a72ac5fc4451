// The conversation list and the "Send us a message" start screen.

import { html } from '../shared/html.js';
import { plainText } from '../shared/markdown.js';
import { avatar } from './avatar.js';
import { attachmentSummary } from './attachments.js';
import { t, language } from './i18n.js';

/** "now", "5m", "3h", "2d", then a short date. */
export function shortAge(value, now = Date.now()) {
  const ms = Date.parse(value ?? '');
  if (!Number.isFinite(ms)) return '';
  const seconds = Math.max(0, (now - ms) / 1000);
  if (seconds < 60) return t('now');
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h`;
  if (seconds < 7 * 86400) return `${Math.floor(seconds / 86400)}d`;
  return new Date(ms).toLocaleDateString(language(), { month: 'short', day: 'numeric' });
}

function preview(part) {
  if (!part) return html`<span class="muted">${t('noMessagesYet')}</span>`;
  // A message of files only says what it sent.
  const text = plainText(part.body) || attachmentSummary(part);
  return part.author?.type === 'contact' ? html`<span class="muted">${t('you')}</span> ${text}` : html`${text}`;
}

function who(part, workspaceName) {
  if (!part || part.author?.type === 'contact') return { name: workspaceName };
  return { name: part.author?.name || workspaceName };
}

function item(conversation, workspaceName, now) {
  const part = conversation.last_part;
  const unread = conversation.unread || 0;
  const person = who(part, workspaceName);
  const closed = conversation.status === 'closed';
  return html`
    <li>
      <button type="button" class="conversation${unread ? ' conversation--unread' : ''}"
        data-testid="conversation-item" data-conversation-id="${conversation.id}">
        ${avatar(person, 'medium')}
        <span class="conversation-main">
          <span class="conversation-top">
            <span class="conversation-name">${person.name}</span>
            ${closed ? html`<span class="conversation-status">${t('closed')}</span>` : ''}
            <time class="conversation-time" datetime="${conversation.updated_at ?? ''}">${shortAge(conversation.updated_at, now)}</time>
          </span>
          <span class="conversation-preview">${preview(part)}</span>
        </span>
        ${unread
          ? html`<span class="unread-count"><span aria-hidden="true">${unread > 99 ? '99+' : unread}</span><span class="sr-only">${unread} unread</span></span>`
          : ''}
      </button>
    </li>`;
}

/** Newest first; `conversations` already sorted. */
export function conversationListView(conversations, { workspaceName }) {
  const now = Date.now();
  return html`
    <section class="conversations" aria-labelledby="conversations-title">
      <h2 id="conversations-title" class="section-title">${t('yourConversations')}</h2>
      <ul class="conversation-list">${conversations.map((c) => item(c, workspaceName, now))}</ul>
      <div class="new-conversation">
        <button type="button" class="primary-button" data-action="new">${t('sendUsAMessage')}</button>
      </div>
    </section>`;
}

/** Shown when the visitor has no conversation yet, above the composer. */
export function startView({ team = [] }) {
  return html`
    <section class="start" aria-labelledby="start-title">
      ${team.length ? html`<div class="start-avatars">${team.slice(0, 3).map((m) => avatar(m, 'large'))}</div>` : ''}
      <h2 id="start-title" class="start-title">${t('sendUsAMessage')}</h2>
      <p class="start-text">${t('startText')}</p>
    </section>`;
}
