// The middle pane: the open conversation's parts, oldest first, the
// contact's "Seen" marker, quiet lines saying whether a message was emailed
// (under the message), who is typing, and the composer. Bot messages say
// "Bot"; messages an automation sent say "via automation", linking to it; the
// AI bot's answers list the articles they came from. New parts are
// appended (the rest of the thread, its scroll and any selection stay put).
// A search hit's message is scrolled into view and marked for a moment.
// Attachments show under a message's text (part-attachments.js: images
// inline, opening a lightbox; other files as downloads), and files dropped
// on the pane go to the composer (file-drop.js).

import { html, render, append, insertAfter } from '../../shared/html.js';
import { markdown } from '../../shared/markdown.js';
import { state, subscribe, contactName, agentName } from '../data/store.js';
import { selectedDetail } from '../data/conversations.js';
import { fullTime, messageTime, toMillis } from '../ui/time.js';
import { avatar } from '../ui/avatar.js';
import { sourceLinks } from '../ui/sources.js';
import { mountThreadHeader } from './thread-header.js';
import { mountComposer } from './composer.js';
import { describeEmailEntry, placeEmailEntries } from '../data/email.js';
import { workspaceHasConversations } from '../data/conversation-list.js';
import { copyText } from '../ui/clipboard.js';
import { canManage } from '../settings/roles.js';
import { welcomeView } from './welcome.js';
import { partAttachments, mountLightbox } from './part-attachments.js';
import { watchFileDrops } from './file-drop.js';

// Within this distance of the bottom, new messages scroll into view.
const STICK_TO_BOTTOM_PX = 80;
// How long a found message stays marked, and how long one waits to be shown.
const FOUND_MARK_MS = 2500;
const REVEAL_WAIT_MS = 15_000;

function authorName(part, detail) {
  const author = part.author ?? {};
  if (author.type === 'contact') return contactName(detail.contact);
  if (author.type === 'bot') return 'Bot';
  if (author.id === state.me?.id) return `${agentName(author.id)} (you)`;
  return agentName(author.id);
}

function partView(part, detail) {
  const fromContact = part.author?.type === 'contact';
  const note = part.type === 'note';
  const name = authorName(part, detail);
  const hasText = String(part.body ?? '').trim() !== '';
  const classes = ['part', fromContact ? 'from-contact' : 'from-team', note && 'is-note'].filter(Boolean).join(' ');
  return html`
    <li class="${classes}" data-testid="part" data-part-type="${part.type}" data-part-id="${part.id}"
      data-author-type="${part.author?.type ?? ''}">
      ${avatar({ name: fromContact ? name : agentName(part.author?.id) ?? 'Bot', seed: part.author?.id ?? 'bot', size: 'sm' })}
      <div class="part-bubble">
        <div class="part-meta">
          <span class="part-author">${name}</span>
          ${note ? html`<span class="note-label" data-testid="note-label">Note</span>` : ''}
          ${part.origin?.automation_id ? html`<span class="part-origin" data-testid="part-origin">via
            <a href="${`#/automations/${encodeURIComponent(part.origin.automation_id)}`}">automation</a></span>` : ''}
          <time datetime="${part.created_at}" title="${fullTime(part.created_at)}">${messageTime(part.created_at)}</time>
        </div>
        ${hasText ? html`<div class="part-body">${markdown(part.body)}</div>` : ''}
        ${partAttachments(part.attachments)}
        ${part.author?.type === 'bot' ? sourceLinks(part.origin?.sources) : ''}
      </div>
    </li>`;
}

function emailLine(entry) {
  const { text, tone } = describeEmailEntry(entry);
  const ms = toMillis(entry.created_at);
  return html`
    <li class="email-line is-${tone}" data-testid="email-line" data-kind="${entry.kind}"
      data-reason="${entry.data?.reason ?? ''}">
      <span class="email-line-icon" aria-hidden="true">✉</span>
      <span>${text}${ms === null ? '' : html` · <time datetime="${new Date(ms).toISOString()}"
        title="${fullTime(ms)}">${messageTime(ms)}</time>`}</span>
    </li>`;
}

// The newest team comment the contact has read up to.
function seenPartId(detail) {
  const readAt = toMillis(detail.contact_read_at);
  if (readAt === null) return null;
  const lastTeamComment = [...detail.parts].reverse()
    .find((p) => p.type === 'comment' && p.author?.type !== 'contact');
  if (!lastTeamComment) return null;
  return (toMillis(lastTeamComment.created_at) ?? Infinity) <= readAt ? lastTeamComment.id : null;
}

const RATING_FACES = { 1: ['😞', 'bad'], 2: ['😐', 'OK'], 3: ['😀', 'great'] };

export function mountThreadView(element, { onLeaveComposer }) {
  let alive = true;
  render(element, html`
    <header class="thread-header" data-region="header"></header>
    <div class="thread-scroll" data-region="scroll" tabindex="-1">
      <ol class="thread" data-testid="thread" aria-labelledby="thread-title"></ol>
    </div>
    <p class="typing-line" data-testid="typing-indicator"></p>
    <div class="composer-slot" data-region="composer"></div>
    <div class="drop-hint" aria-hidden="true">Drop files to attach them</div>`);

  const scroll = element.querySelector('[data-region="scroll"]');
  const list = element.querySelector('.thread');
  const typingLine = element.querySelector('.typing-line');
  const composerSlot = element.querySelector('[data-region="composer"]');
  const destroyHeader = mountThreadHeader(element.querySelector('[data-region="header"]'));
  const lightbox = mountLightbox(element);

  let shownId = null;
  let shownPartIds = [];
  let shownAgentsVersion = null;
  let composer = null;

  const nearBottom = () => scroll.scrollHeight - scroll.scrollTop - scroll.clientHeight < STICK_TO_BOTTOM_PX;
  const toBottom = () => { scroll.scrollTop = scroll.scrollHeight; };

  const drawSeen = (detail) => {
    list.querySelector('.seen-marker')?.remove();
    const id = seenPartId(detail);
    if (!id) return;
    const item = list.querySelector(`[data-part-id="${CSS.escape(id)}"] .part-bubble`);
    if (item) {
      append(item, html`<p class="seen-marker" data-testid="seen-marker" title="${fullTime(detail.contact_read_at)}">Seen</p>`);
    }
  };

  // Redrawn whole each time (there are few): each group goes right under
  // the part it concerns, or at the end while that part is not loaded.
  const drawEmails = (detail) => {
    const stick = nearBottom();
    for (const line of list.querySelectorAll(':scope > .email-line')) line.remove();
    const entries = state.emailLog.get(detail.id);
    if (!entries?.length) return;
    for (const { after, entries: group } of placeEmailEntries(detail.parts.map((p) => p.id), entries)) {
      const lines = html`${group.map(emailLine)}`;
      const anchor = after && list.querySelector(`:scope > [data-part-id="${CSS.escape(after)}"]`);
      if (anchor) insertAfter(anchor, lines);
      else append(list, lines);
    }
    if (stick) toBottom();
  };

  // The contact's rating, last in the thread once they gave it.
  const drawRating = (detail) => {
    list.querySelector(':scope > .rating-line')?.remove();
    const rating = detail.rating;
    if (!rating) return;
    const [face, word] = RATING_FACES[rating.score] ?? ['', ''];
    append(list, html`<li class="rating-line" data-testid="rating-line" data-score="${String(rating.score)}">
      <span aria-hidden="true">${face}</span> ${contactName(detail.contact)} rated this conversation <strong>${word}</strong>${
        rating.comment ? html`: <q>${rating.comment}</q>` : ''}
      · <time datetime="${rating.created_at}" title="${fullTime(rating.created_at)}">${messageTime(rating.created_at)}</time>
    </li>`);
  };

  // A message to bring into view once its conversation shows: {conversationId, partId, until}.
  let reveal = null;
  let foundTimer = null;
  const tryReveal = () => {
    if (!reveal) return;
    if (Date.now() > reveal.until) {
      reveal = null;
      return;
    }
    if (shownId !== reveal.conversationId) return;
    const item = list.querySelector(`:scope > [data-part-id="${CSS.escape(reveal.partId)}"]`);
    if (!item) return;
    reveal = null;
    for (const marked of list.querySelectorAll(':scope > .is-found')) marked.classList.remove('is-found');
    item.classList.add('is-found');
    item.scrollIntoView({ block: 'center' });
    clearTimeout(foundTimer);
    foundTimer = setTimeout(() => item.classList.remove('is-found'), FOUND_MARK_MS);
  };

  const drawEmpty = (text) => {
    composer?.destroy();
    composer = null;
    render(composerSlot, html``);
    render(list, html`<li class="thread-empty" role="status">${text}</li>`);
    shownId = null;
    shownPartIds = [];
  };

  // A workspace with no conversation yet is told how to get its first
  // (asked when its list is empty; `null` while the answer is awaited).
  let fresh = null;
  const listIsEmpty = () => state.listStatus === 'ready' && !state.listIds.length && !state.filters.contactId;
  const checkFresh = async () => {
    if (fresh !== null || !listIsEmpty()) return;
    fresh = 'asking';
    try {
      fresh = !(await workspaceHasConversations());
    } catch {
      fresh = false;
    }
    if (alive) draw();
  };

  const draw = () => {
    const detail = selectedDetail();
    element.classList.toggle('no-selection', !state.selectedId);
    if (!state.selectedId) {
      if (fresh === true && listIsEmpty()) {
        drawEmpty('');
        render(list, welcomeView({
          appId: state.workspace?.app_id ?? '', origin: location.origin, manage: canManage(state.me),
        }));
        element.classList.add('is-welcome');
        return;
      }
      element.classList.remove('is-welcome');
      if (fresh === true && state.listIds.length) fresh = false;
      drawEmpty('Pick a conversation on the left — j/k to move, Enter to open, ? for all shortcuts.');
      checkFresh();
      return;
    }
    element.classList.remove('is-welcome');
    if (!detail) {
      drawEmpty(state.detailStatus === 'error' ? state.detailError : 'Loading…');
      return;
    }
    const ids = detail.parts.map((p) => p.id);
    const sameConversation = shownId === detail.id;
    const agentsVersion = state.agents.size;
    const isPrefix = sameConversation && shownPartIds.every((id, i) => ids[i] === id)
      && agentsVersion === shownAgentsVersion;
    if (isPrefix) {
      const stick = nearBottom();
      const added = detail.parts.slice(shownPartIds.length);
      if (added.length) append(list, html`${added.map((p) => partView(p, detail))}`);
      if (stick && added.length) toBottom();
    } else {
      const keep = sameConversation ? scroll.scrollTop : null;
      render(list, detail.parts.length
        ? html`${detail.parts.map((p) => partView(p, detail))}`
        : html`<li class="thread-empty">No messages yet.</li>`);
      if (keep === null) toBottom();
      else scroll.scrollTop = keep;
    }
    drawSeen(detail);
    drawEmails(detail);
    drawRating(detail);
    shownPartIds = ids;
    shownAgentsVersion = agentsVersion;
    if (!sameConversation) {
      shownId = detail.id;
      composer?.destroy();
      composer = mountComposer(composerSlot, {
        conversationId: detail.id,
        contact: detail.contact,
        onEscape: onLeaveComposer,
      });
      drawTyping();
    }
    tryReveal();
  };

  const drawTyping = () => {
    const typing = state.selectedId && state.typing.get(state.selectedId);
    const detail = selectedDetail();
    if (typing && detail) {
      render(typingLine, html`<span class="typing-dots" aria-hidden="true"><span></span><span></span><span></span></span>
        ${contactName(detail.contact)} is typing…`);
      typingLine.classList.add('is-active');
    } else {
      render(typingLine, html``);
      typingLine.classList.remove('is-active');
    }
  };

  // Copy buttons in the welcome.
  const onCopy = async (event) => {
    const button = event.target.closest('button[data-copy]');
    if (!button) return;
    const source = document.getElementById(button.dataset.copy);
    const ok = await copyText(source?.textContent ?? '', source);
    render(button, html`${ok ? 'Copied' : 'Press Ctrl+C'}`);
    setTimeout(() => button.isConnected && render(button, html`Copy`), 2000);
  };
  element.addEventListener('click', onCopy);
  const stopDrops = watchFileDrops(element, {
    accepts: () => Boolean(composer?.takesFiles()),
    onFiles: (files) => composer?.addFiles(files),
  });

  const offs = [
    subscribe('list', () => {
      if (!state.selectedId) draw();
    }),
    subscribe('detail', draw),
    subscribe('agents', draw),
    subscribe('typing', drawTyping),
  ];
  draw();
  return {
    focusComposer: (mode) => composer?.focus(mode),
    toggleNote: () => composer?.toggleNote(),
    suggestReply: () => composer?.suggest(),
    /** Scrolls `partId` into view and marks it, once conversation `conversationId` shows. */
    revealPart(conversationId, partId) {
      reveal = { conversationId, partId, until: Date.now() + REVEAL_WAIT_MS };
      tryReveal();
    },
    destroy() {
      alive = false;
      clearTimeout(foundTimer);
      element.removeEventListener('click', onCopy);
      stopDrops();
      lightbox.destroy();
      offs.forEach((off) => off());
      destroyHeader();
      composer?.destroy();
    },
  };
}
