// Settings > Saved replies: the workspace's replies and your own, each
// with its title, `/shortcut` and body (snippet tags welcome); a form for
// a new one ("Only for me" is the only choice for members who are not
// owners or admins), Edit in place and Delete after a confirmation, for
// the replies you may change. Esc leaves an edit or a confirmation, and
// focus goes back to its button.
//
//   const destroy = mountSavedRepliesSection(element, { manage });

import { html, render } from '../../shared/html.js';
import {
  listSavedReplies, createSavedReply, updateSavedReply, deleteSavedReply,
} from '../data/saved-replies.js';
import { forgetSavedReplies } from '../conversations/saved-reply-picker.js';
import { formError, showProblem, showFieldErrors, clearErrors, whileBusy } from '../ui/forms.js';
import { state, announce } from '../data/store.js';
import { savedReplyRequest, MAX_TITLE, MAX_SHORTCUT } from './saved-replies.js';

function fields(prefix, { title = '', shortcut = '', body = '' } = {}) {
  return html`
    <div class="field-row">
      <div class="field">
        <label for="${`${prefix}-title`}">Title</label>
        <input id="${`${prefix}-title`}" name="title" value="${title}" autocomplete="off" required maxlength="${MAX_TITLE}"
          aria-describedby="${`${prefix}-title-error`}" data-testid="${`${prefix}-title`}">
        <p class="field-error" id="${`${prefix}-title-error`}" data-error-for="title"></p>
      </div>
      <div class="field">
        <label for="${`${prefix}-shortcut`}">Shortcut</label>
        <input id="${`${prefix}-shortcut`}" name="shortcut" value="${shortcut}" autocomplete="off" spellcheck="false"
          required maxlength="${MAX_SHORTCUT}" placeholder="refund"
          aria-describedby="${`${prefix}-shortcut-hint`} ${`${prefix}-shortcut-error`}" data-testid="${`${prefix}-shortcut`}">
        <p class="field-hint" id="${`${prefix}-shortcut-hint`}">Type <code>/</code> and this in a reply.</p>
        <p class="field-error" id="${`${prefix}-shortcut-error`}" data-error-for="shortcut"></p>
      </div>
    </div>
    <div class="field">
      <label for="${`${prefix}-body`}">Reply</label>
      <textarea id="${`${prefix}-body`}" name="body" rows="3" required
        placeholder="Hi {{ user.name | default(&quot;there&quot;) }}, …"
        aria-describedby="${`${prefix}-body-error`}" data-testid="${`${prefix}-body`}">${body}</textarea>
      <p class="field-error" id="${`${prefix}-body-error`}" data-error-for="body"></p>
    </div>`;
}

function draftOf(form) {
  return {
    title: form.elements.title?.value ?? '',
    shortcut: form.elements.shortcut?.value ?? '',
    body: form.elements.body?.value ?? '',
  };
}

function mayChange(reply, manage) {
  return reply.owner_id ? reply.owner_id === state.me?.id : manage;
}

function item(reply, { manage, editing, confirming, error }) {
  const id = reply.id;
  if (editing) {
    return html`<li data-testid="saved-reply-item" data-reply-id="${id}">
      <form data-form="saved-reply-edit" data-reply-id="${id}" novalidate aria-label="${`Edit the saved reply ${reply.title}`}">
        ${formError()}
        ${fields(`saved-reply-edit-${id}`, editing)}
        <div class="form-actions">
          <button type="submit" class="button primary small" data-testid="saved-reply-save">Save reply</button>
          <button type="button" class="button ghost small" data-reply-cancel="${id}">Cancel</button>
        </div>
      </form>
    </li>`;
  }
  const changeable = mayChange(reply, manage);
  return html`<li data-testid="saved-reply-item" data-reply-id="${id}">
    <div class="saved-reply-row">
      <strong data-testid="saved-reply-item-title">${reply.title}</strong>
      <code>/${reply.shortcut}</code>
      <span class="muted small">${reply.owner_id ? 'Only you' : 'Whole team'}</span>
      ${changeable && !confirming ? html`<span class="team-actions">
        <button type="button" class="button ghost small" data-reply-edit="${id}"
          aria-label="${`Edit the saved reply ${reply.title}`}" data-testid="saved-reply-edit">Edit</button>
        <button type="button" class="button ghost small" data-reply-delete="${id}"
          aria-label="${`Delete the saved reply ${reply.title}`}" data-testid="saved-reply-delete">Delete</button></span>` : ''}
      <p class="saved-reply-text muted">${reply.body}</p>
    </div>
    ${confirming ? html`<div class="danger-confirm" role="alertdialog" aria-labelledby="${`reply-delete-${id}`}">
      <p id="${`reply-delete-${id}`}"><strong>Delete the saved reply ${reply.title}?</strong></p>
      <div class="form-actions">
        <button type="button" class="button small danger" data-reply-delete-confirm="${id}"
          data-testid="saved-reply-delete-confirm">Delete</button>
        <button type="button" class="button ghost small" data-reply-delete-cancel="${id}">Cancel</button>
      </div>
    </div>` : ''}
    ${error ? html`<p class="form-error" role="alert">${error}</p>` : ''}
  </li>`;
}

export function mountSavedRepliesSection(element, { manage }) {
  let alive = true;
  const listening = new AbortController();
  const listen = (type, fn) => element.addEventListener(type, fn, { signal: listening.signal });
  let replies = [];
  let status = 'loading';
  let loadError = '';
  let editing = null;
  let confirming = null;
  let failure = null;

  render(element, html`
    <section class="card" aria-labelledby="s-saved-replies" data-testid="saved-replies-section">
      <h2 id="s-saved-replies">Saved replies</h2>
      <p>Answers you give often. In a reply, type <code>/</code> and the shortcut, then Enter: the reply goes in
        with its snippet tags filled in for the contact.</p>
      <div data-region="replies"><p role="status">Loading saved replies…</p></div>
      <h3 id="saved-replies-new-title">New saved reply</h3>
      <form data-form="saved-reply-new" novalidate aria-labelledby="saved-replies-new-title">
        ${formError()}
        <div data-region="saved-reply-new-fields">${fields('saved-replies-new')}</div>
        <label class="check">
          <input type="checkbox" name="personal" data-testid="saved-replies-new-personal"
            ${manage ? '' : html`checked disabled`}>
          Only for me${manage ? '' : ' (the whole team’s are added by owners and admins)'}
        </label>
        <div class="form-actions">
          <button type="submit" class="button primary small" data-testid="saved-replies-create">Add saved reply</button>
          <span class="saved-note" role="status" data-saved></span>
        </div>
      </form>
    </section>`);
  const list = element.querySelector('[data-region="replies"]');
  const selector = (attr, id) => `[${attr}="${CSS.escape(id)}"]`;
  const sorted = (all) => all.slice().sort((a, b) => a.shortcut.localeCompare(b.shortcut)
    || Number(Boolean(a.owner_id)) - Number(Boolean(b.owner_id)));

  const draw = (focus = null) => {
    const editForm = list.querySelector('form[data-form="saved-reply-edit"]');
    if (editing && editForm) editing = { ...editing, ...draftOf(editForm) };
    if (status === 'loading') return;
    if (status === 'error') {
      render(list, html`<p class="form-error" role="alert">Could not load the saved replies: ${loadError}</p>`);
      return;
    }
    render(list, replies.length ? html`<ul class="saved-replies-list" data-testid="saved-replies-list">
      ${replies.map((reply) => item(reply, {
        manage,
        editing: editing?.id === reply.id ? editing : null,
        confirming: confirming === reply.id,
        error: failure?.id === reply.id ? failure.message : null,
      }))}</ul>` : html`<p class="muted" data-testid="saved-replies-empty">No saved replies yet.</p>`);
    if (focus) list.querySelector(focus)?.focus();
  };

  (async () => {
    try {
      const answer = await listSavedReplies();
      if (!alive) return;
      replies = sorted(answer);
      status = 'ready';
    } catch (error) {
      if (!alive) return;
      status = 'error';
      loadError = error.message;
    }
    draw();
  })();

  listen('click', async (event) => {
    const button = event.target.closest('button');
    if (!button || !element.contains(button)) return;
    const { replyEdit, replyCancel, replyDelete, replyDeleteCancel, replyDeleteConfirm } = button.dataset;
    if (replyEdit) {
      const reply = replies.find((r) => r.id === replyEdit);
      if (!reply) return;
      editing = { id: reply.id, title: reply.title, shortcut: reply.shortcut, body: reply.body };
      confirming = null;
      failure = null;
      draw(`#${CSS.escape(`saved-reply-edit-${reply.id}-title`)}`);
    } else if (replyCancel) {
      editing = null;
      draw(selector('data-reply-edit', replyCancel));
    } else if (replyDelete) {
      confirming = replyDelete;
      editing = null;
      draw(selector('data-reply-delete-confirm', replyDelete));
    } else if (replyDeleteCancel) {
      confirming = null;
      draw(selector('data-reply-delete', replyDeleteCancel));
    } else if (replyDeleteConfirm) {
      const id = replyDeleteConfirm;
      button.disabled = true;
      try {
        await deleteSavedReply(id);
        if (!alive) return;
        replies = replies.filter((r) => r.id !== id);
        confirming = null;
        forgetSavedReplies();
        announce('The saved reply was deleted');
        draw();
        const heading = element.querySelector('h2');
        heading.setAttribute('tabindex', '-1');
        heading.focus();
      } catch (error) {
        if (!alive) return;
        confirming = null;
        failure = { id, message: error.message };
        draw(selector('data-reply-delete', id));
      }
    }
  });

  listen('keydown', (event) => {
    if (event.key !== 'Escape' || event.defaultPrevented) return;
    if (confirming) {
      event.preventDefault();
      const id = confirming;
      confirming = null;
      draw(selector('data-reply-delete', id));
    } else if (editing && event.target.closest('form[data-form="saved-reply-edit"]')) {
      event.preventDefault();
      const { id } = editing;
      editing = null;
      draw(selector('data-reply-edit', id));
    }
  });

  listen('submit', async (event) => {
    const form = event.target;
    const kind = form.dataset.form;
    if (kind !== 'saved-reply-new' && kind !== 'saved-reply-edit') return;
    event.preventDefault();
    const id = kind === 'saved-reply-edit' ? form.dataset.replyId : null;
    const { body, errors } = savedReplyRequest(draftOf(form), { replies, id });
    if (errors.length) {
      showFieldErrors(form, errors);
      return;
    }
    clearErrors(form);
    try {
      const request = id ? body : { ...body, personal: !manage || form.elements.personal.checked };
      const saved = await whileBusy(form, () => (id ? updateSavedReply(id, body) : createSavedReply(request)));
      if (!alive) return;
      replies = sorted([...replies.filter((r) => r.id !== saved.id), saved]);
      forgetSavedReplies();
      if (id) {
        editing = null;
        announce(`Saved the reply ${saved.title}`);
        draw(selector('data-reply-edit', saved.id));
      } else {
        render(form.querySelector('[data-region="saved-reply-new-fields"]'), fields('saved-replies-new'));
        draw();
        const note = form.querySelector('[data-saved]');
        render(note, html`Added /${saved.shortcut}`);
        setTimeout(() => note.isConnected && render(note, html``), 2500);
        form.elements.title.focus();
      }
    } catch (error) {
      if (alive) showProblem(form, error);
    }
  });

  return () => {
    alive = false;
    listening.abort();
  };
}
