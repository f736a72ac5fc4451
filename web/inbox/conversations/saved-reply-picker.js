// The composer's `/` list: typing `/` (at the start, or after a space or
// a line break) opens the saved replies under the reply box, narrowed as
// the shortcut is typed; Up and Down move, Enter or Tab puts the chosen
// reply into the box with its snippet tags filled in for this contact,
// Esc closes the list and keeps what was typed. The box is a combobox:
// screen readers hear the list and the active reply.
//
//   const picker = attachSavedReplyPicker(textarea, listElement, { contactId, onInsert });
//   input keydown: if (picker.keydown(event)) return;

import { html, render } from '../../shared/html.js';
import { listSavedReplies } from '../data/saved-replies.js';
import { previewTemplate } from '../data/conversations.js';
import { slashQuery, matchReplies, insertAt } from './saved-replies.js';

/** The list is read again when older than this. */
const FRESH_MS = 30_000;
let cache = { at: 0, replies: null };

async function replies() {
  if (cache.replies && Date.now() - cache.at < FRESH_MS) return cache.replies;
  const list = await listSavedReplies();
  cache = { at: Date.now(), replies: list };
  return list;
}

/** Forgets the list (Settings changed it). */
export function forgetSavedReplies() {
  cache = { at: 0, replies: null };
}

export function attachSavedReplyPicker(input, list, { contactId, onInsert }) {
  let open = null; // {start, query, matches, active}
  let loadError = '';
  let inserting = false;
  list.id = list.id || 'saved-reply-list';
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-controls', list.id);

  const close = () => {
    open = null;
    list.hidden = true;
    render(list, html``);
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
  };

  const draw = () => {
    if (!open) return close();
    list.hidden = false;
    input.setAttribute('aria-expanded', 'true');
    const { matches, active } = open;
    render(list, matches.length ? html`${matches.map((reply, i) => html`
      <div class="saved-reply-option${i === active ? ' is-active' : ''}" role="option" id="${`saved-reply-${reply.id}`}"
        aria-selected="${i === active ? 'true' : 'false'}" data-index="${String(i)}" data-testid="saved-reply-option">
        <span class="saved-reply-title">${reply.title}</span>
        <code class="saved-reply-shortcut">/${reply.shortcut}</code>
        ${reply.owner_id ? html`<span class="muted small">yours</span>` : ''}
        <span class="saved-reply-body muted">${reply.body}</span>
      </div>`)}` : html`<p class="muted small saved-reply-empty" data-testid="saved-reply-none">${loadError
      || (open.query ? `No saved reply matches /${open.query}` : 'No saved replies yet: add them in Settings')}</p>`);
    const chosen = matches[active];
    if (chosen) input.setAttribute('aria-activedescendant', `saved-reply-${chosen.id}`);
    else input.removeAttribute('aria-activedescendant');
  };

  const refresh = async () => {
    const found = slashQuery(input.value, input.selectionStart);
    if (!found) return close();
    let all = [];
    try {
      all = await replies();
      loadError = '';
    } catch (error) {
      loadError = `Could not load saved replies: ${error.message}`;
    }
    // Typed on meanwhile: read again.
    const now = slashQuery(input.value, input.selectionStart);
    if (!now) return close();
    const matches = matchReplies(all, now.query);
    const keep = open && open.query === now.query ? Math.min(open.active, Math.max(matches.length - 1, 0)) : 0;
    open = { ...now, matches, active: keep };
    draw();
  };

  const choose = async (reply) => {
    if (!open || inserting) return;
    const { start } = open;
    const caret = input.selectionStart;
    close();
    inserting = true;
    let text = reply.body;
    try {
      // Filled in for this contact, as it will be sent.
      text = await previewTemplate(contactId, reply.body);
    } catch {
      // Inserted as it is; the tags are filled in when it is sent.
    } finally {
      inserting = false;
    }
    const next = insertAt(input.value, start, caret, text);
    input.value = next.value;
    input.focus();
    input.setSelectionRange(next.caret, next.caret);
    onInsert?.(reply);
  };

  const onInput = () => {
    refresh();
  };
  const onClick = (event) => {
    const option = event.target.closest('[role="option"]');
    if (!option || !open) return;
    const reply = open.matches[Number(option.dataset.index)];
    if (reply) choose(reply);
  };
  // A click on an option must not blur the box first.
  const onMouseDown = (event) => event.preventDefault();
  const onBlur = () => close();
  input.addEventListener('input', onInput);
  input.addEventListener('blur', onBlur);
  list.addEventListener('mousedown', onMouseDown);
  list.addEventListener('click', onClick);
  close();

  return {
    /** Handles a key while the list is open; whether it did. */
    keydown(event) {
      if (!open) return false;
      const count = open.matches.length;
      if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        if (!count) return false;
        event.preventDefault();
        open.active = (open.active + (event.key === 'ArrowDown' ? 1 : count - 1)) % count;
        draw();
        return true;
      }
      if ((event.key === 'Enter' || event.key === 'Tab') && !event.shiftKey && count) {
        event.preventDefault();
        choose(open.matches[open.active]);
        return true;
      }
      if (event.key === 'Escape') {
        event.preventDefault();
        close();
        return true;
      }
      return false;
    },
    get isOpen() {
      return open !== null;
    },
    destroy() {
      input.removeEventListener('input', onInput);
      input.removeEventListener('blur', onBlur);
      list.removeEventListener('mousedown', onMouseDown);
      list.removeEventListener('click', onClick);
    },
  };
}
