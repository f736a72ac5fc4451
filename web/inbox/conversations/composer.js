// The reply box: Enter sends, Shift+Enter breaks the line, Ctrl/Cmd+Enter
// also sends, a Note switch for team-only notes, an "Email if unread"
// checkbox for replies (sent as `email_fallback`), a live preview of
// snippet tags ("Preview for Ada: Hi Ada") when the text has `{{`, and
// "Suggest a reply" (or s outside the box), which puts a reply written from
// the knowledge base into the box to edit and lists the articles under it,
// and saved replies after `/` (saved-reply-picker.js). Files come by the
// paperclip, a paste into the box or a drop on the thread (`addFiles`):
// each uploads at once into the tray under the box (attachment-tray.js),
// and Send takes the uploaded ones along, with or without text. What the
// workspace takes (`state.workspace.attachments`) decides: no paperclip
// and no files when it takes none, the picker's `accept`, the size limit.

import { html, render } from '../../shared/html.js';
import { state, subscribe, contactName, announce } from '../data/store.js';
import { reply, previewTemplate } from '../data/conversations.js';
import { suggestReply } from '../data/bot.js';
import { sourceLinks } from '../ui/sources.js';
import { percent } from '../knowledge/articles.js';
import { sendTyping } from '../data/live-updates.js';
import { offersEmailFallback } from '../data/email.js';
import { attachSavedReplyPicker } from './saved-reply-picker.js';
import { pastedFiles, pastedFileName } from '../data/attachments.js';
import { mountAttachmentTray } from './attachment-tray.js';
import { paperclipIcon } from '../ui/file-icons.js';
import { takesFiles, acceptFor, limitOf } from '../../shared/file-kinds.js';

const PREVIEW_DEBOUNCE_MS = 300;

// Drafts survive switching conversations (not reloads), with the
// conversation's "Email if unread" choice and the files already uploaded.
const drafts = new Map();

export function mountComposer(element, { conversationId, contact, onEscape }) {
  const draft = { body: '', mode: 'comment', emailFallback: true, attachments: [], ...drafts.get(conversationId) };
  const name = contactName(contact);
  const emailTitle = contact?.email
    ? `If ${name} has not read this reply in the widget after the workspace's delay, email it to ${contact.email}`
    : `If ${name} has not read this reply in the widget after the workspace's delay, email it (once they have an email address)`;
  render(element, html`
    <form class="composer" data-testid="composer" novalidate>
      <label for="composer-input" class="visually-hidden" data-region="label"></label>
      <textarea id="composer-input" name="body" rows="3" data-testid="composer-input" role="combobox"
        aria-describedby="composer-help composer-error">${draft.body}</textarea>
      <div class="saved-reply-picker" role="listbox" id="saved-reply-list" aria-label="Saved replies"
        data-testid="saved-reply-picker" hidden></div>
      <div class="composer-attachments" data-region="attachments"></div>
      <div class="composer-bar">
        <button type="button" class="button ghost small attach-button" data-testid="attach-button"
          aria-label="Attach files" title="Attach files (or paste them, or drop them on the conversation)">${paperclipIcon}</button>
        <input type="file" multiple hidden tabindex="-1" data-testid="attach-input" data-region="attach-input">
        <p class="composer-help" id="composer-help" data-region="help"></p>
        <label class="email-toggle" data-region="email-toggle" title="${emailTitle}">
          <input type="checkbox" name="email_fallback" data-testid="email-fallback-toggle"
            ${draft.emailFallback ? html`checked` : ''}>
          <span>Email if unread</span>
        </label>
        <button type="button" class="button small" data-action="suggest" data-testid="suggest-reply"
          title="Suggest a reply from the knowledge base (s)">Suggest a reply</button>
        <button type="button" class="button small note-toggle" aria-pressed="false"
          data-testid="note-toggle" title="Team-only note (n)">Note</button>
        <button type="submit" class="button primary small" data-testid="send-button">Send</button>
      </div>
      <p class="form-error" id="composer-error" role="alert" data-form-error></p>
      <div class="composer-suggestion" data-region="suggestion" aria-live="polite" data-testid="suggestion"></div>
    </form>`);

  const form = element.querySelector('form');
  const input = form.elements.body;
  const noteToggle = form.querySelector('.note-toggle');
  const emailToggle = form.querySelector('[data-region="email-toggle"]');
  const emailBox = form.elements.email_fallback;
  const sendButton = form.querySelector('[data-testid="send-button"]');
  const help = form.querySelector('[data-region="help"]');
  const label = form.querySelector('[data-region="label"]');
  const errorLine = form.querySelector('[data-form-error]');
  const suggestButton = form.querySelector('[data-action="suggest"]');
  const suggestionRegion = form.querySelector('[data-region="suggestion"]');
  const attachButton = form.querySelector('[data-testid="attach-button"]');
  const fileInput = form.querySelector('[data-region="attach-input"]');
  let mode = draft.mode;
  let previewTimer = null;
  let previewAbort = null;
  let preview = null; // {text} | {error}
  let sending = false;
  let suggestion = null; // {sources, confidence} | {none: true} | {error}
  let suggestAbort = null;
  const attachmentSettings = () => state.workspace?.attachments;

  // (`tray` is mounted below; nothing here runs before it is.)
  const saveDraft = () => drafts.set(conversationId, {
    body: input.value, mode, emailFallback: emailBox.checked, attachments: tray.ready(),
  });

  const clearError = () => {
    delete errorLine.dataset.about;
    render(errorLine, html``);
  };

  // Send waits for uploads: it is marked unavailable (still focusable) until they are done.
  const drawSendState = () => {
    const waiting = tray.uploading() > 0;
    sendButton.setAttribute('aria-disabled', String(waiting));
    sendButton.title = waiting ? 'Waiting for the files to upload' : '';
  };
  const tray = mountAttachmentTray(form.querySelector('[data-region="attachments"]'), {
    restored: draft.attachments,
    maxBytes: () => limitOf(attachmentSettings()),
    onChange: () => {
      saveDraft();
      drawSendState();
      if (!tray.uploading() && !tray.failed() && errorLine.dataset.about === 'attachments') clearError();
    },
    onRemoved: () => input.focus(),
  });
  const addFiles = (files, { nameOf = (file) => file.name } = {}) => {
    if (!files.length || !takesFiles(attachmentSettings())) return;
    tray.add(files, { nameOf });
    announce(files.length === 1 ? `Uploading ${nameOf(files[0]) || 'a file'}` : `Uploading ${files.length} files`);
  };

  // Replies only, and not when the workspace is known to have fallback off.
  const emailOffered = () => mode === 'comment' && offersEmailFallback(state.workspace);
  const drawEmailToggle = () => {
    const offered = emailOffered();
    // Keep focus in the bar if the toggle it was on goes away.
    if (!offered && document.activeElement === emailBox) noteToggle.focus();
    emailToggle.hidden = !offered;
  };

  // No paperclip when the workspace takes no files; the picker offers the kinds it takes.
  const drawAttach = () => {
    const settings = attachmentSettings();
    const taken = takesFiles(settings);
    if (!taken && document.activeElement === attachButton) input.focus();
    attachButton.hidden = !taken;
    fileInput.accept = acceptFor(settings?.kinds);
  };

  const drawHelp = () => {
    if (preview?.text !== undefined) {
      render(help, html`<span class="snippet-preview" data-testid="snippet-preview" title="${preview.text}">
        Preview for ${name}: <span class="snippet-text">${preview.text}</span></span>`);
    } else if (preview?.error) {
      render(help, html`<span class="snippet-preview is-error" data-testid="snippet-preview">${preview.error}</span>`);
    } else {
      render(help, html`<span class="muted">${mode === 'note'
        ? 'Only your team sees notes.'
        : 'Enter to send · Shift+Enter for a new line · / for saved replies'}</span>`);
    }
  };

  const drawMode = () => {
    form.classList.toggle('is-note', mode === 'note');
    noteToggle.setAttribute('aria-pressed', String(mode === 'note'));
    sendButton.dataset.mode = mode;
    render(sendButton, html`${mode === 'note' ? 'Add note' : 'Send'}`);
    render(label, html`${mode === 'note' ? `Note about ${name}` : `Reply to ${name}`}`);
    input.placeholder = mode === 'note' ? 'Write a note for your team…' : 'Write a reply…';
    drawEmailToggle();
    drawHelp();
  };

  const setMode = (next) => {
    mode = next;
    saveDraft();
    drawMode();
  };

  const updatePreview = () => {
    clearTimeout(previewTimer);
    const body = input.value;
    if (!body.includes('{{')) {
      previewAbort?.abort();
      if (preview) {
        preview = null;
        drawHelp();
      }
      return;
    }
    previewTimer = setTimeout(async () => {
      previewAbort?.abort();
      const abort = new AbortController();
      previewAbort = abort;
      try {
        const text = await previewTemplate(contact.id, body, abort.signal);
        if (abort.signal.aborted) return;
        preview = { text };
      } catch (error) {
        if (abort.signal.aborted || error.name === 'AbortError') return;
        // A template fault says where it is: show that.
        const fault = error.problem?.errors?.[0];
        const where = fault?.line ? `Line ${fault.line}, column ${fault.column}: ` : '';
        preview = { error: fault ? `${where}${fault.message}` : error.message };
      }
      drawHelp();
    }, PREVIEW_DEBOUNCE_MS);
  };

  const drawSuggestion = () => {
    if (!suggestion) {
      render(suggestionRegion, html``);
      return;
    }
    const dismiss = html`<button type="button" class="button ghost small" data-action="dismiss-suggestion"
      aria-label="Dismiss the suggestion note">Dismiss</button>`;
    if (suggestion.error) {
      render(suggestionRegion, html`<div class="suggest-note is-error"><span role="alert">Could not suggest a reply: ${suggestion.error}</span>${dismiss}</div>`);
    } else if (suggestion.none) {
      render(suggestionRegion, html`<div class="suggest-note" data-testid="suggest-none">
        <span>Nothing in the knowledge base answers this confidently.</span>${dismiss}</div>`);
    } else {
      const sure = percent(suggestion.confidence);
      render(suggestionRegion, html`<div class="suggest-note" data-testid="suggest-sources">
        <span>Suggested from the knowledge base${sure ? ` (confidence ${sure})` : ''}; check it before sending.</span>
        ${sourceLinks(suggestion.sources, { label: 'From' })}${dismiss}</div>`);
    }
  };

  const suggest = async () => {
    if (suggestAbort) return;
    const abort = new AbortController();
    suggestAbort = abort;
    suggestButton.disabled = true;
    render(suggestButton, html`Suggesting…`);
    try {
      const answer = await suggestReply(conversationId, { signal: abort.signal });
      if (abort.signal.aborted) return;
      if (answer?.body) {
        // What was already typed stays: the suggestion goes after it.
        const typed = input.value.replace(/\s+$/, '');
        input.value = typed ? `${typed}\n\n${answer.body}` : answer.body;
        saveDraft();
        updatePreview();
        suggestion = { sources: answer.sources ?? [], confidence: answer.confidence };
        input.focus();
        input.setSelectionRange(input.value.length, input.value.length);
        announce('A suggested reply is in the reply box.');
      } else {
        suggestion = { none: true };
      }
    } catch (error) {
      if (abort.signal.aborted || error.name === 'AbortError') return;
      suggestion = { error: error.message };
    } finally {
      if (suggestAbort === abort) {
        suggestAbort = null;
        suggestButton.disabled = false;
        render(suggestButton, html`Suggest a reply`);
      }
    }
    drawSuggestion();
  };

  const send = async () => {
    const body = input.value;
    if (sending) return;
    if (tray.uploading() || tray.failed()) {
      errorLine.dataset.about = 'attachments';
      render(errorLine, html`${tray.uploading()
        ? 'Wait for the files to finish uploading, then send.'
        : 'Remove the files that could not be uploaded, then send.'}`);
      return;
    }
    if (!body.trim() && !tray.ready().length) return;
    const attachments = tray.takeReady();
    const attachmentIds = attachments.map((a) => a.id);
    const emailFallback = emailOffered() ? emailBox.checked : undefined;
    const sentMode = mode;
    sending = true;
    sendButton.disabled = true;
    clearError();
    // Clear the box and the tray at once so the next message can be written; put them back on failure.
    input.value = '';
    saveDraft();
    preview = null;
    drawHelp();
    try {
      await reply(conversationId, body.trim() ? body : '', sentMode, { emailFallback, attachmentIds });
      suggestion = null;
      drawSuggestion();
    } catch (error) {
      if (!input.value) input.value = body;
      tray.putBack(attachments);
      saveDraft();
      render(errorLine, html`Not sent: ${error.message}`);
      updatePreview();
    } finally {
      sending = false;
      sendButton.disabled = false;
    }
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    send();
    input.focus();
  });
  const picker = attachSavedReplyPicker(input, form.querySelector('#saved-reply-list'), {
    contactId: contact?.id,
    onInsert: (chosen) => {
      saveDraft();
      updatePreview();
      announce(`Inserted the saved reply ${chosen.title}`);
    },
  });
  input.addEventListener('keydown', (event) => {
    if (picker.keydown(event)) return;
    if (event.key === 'Enter' && !event.isComposing && event.keyCode !== 229) {
      if (event.ctrlKey || event.metaKey || !event.shiftKey) {
        event.preventDefault();
        send();
      }
    } else if (event.key === 'Escape') {
      event.preventDefault();
      input.blur();
      onEscape?.();
    }
  });
  input.addEventListener('input', () => {
    saveDraft();
    updatePreview();
    if (mode === 'comment' && input.value.trim()) sendTyping(conversationId);
  });
  noteToggle.addEventListener('click', () => setMode(mode === 'note' ? 'comment' : 'note'));
  suggestButton.addEventListener('click', suggest);
  suggestionRegion.addEventListener('click', (event) => {
    if (!event.target.closest('[data-action="dismiss-suggestion"]')) return;
    suggestion = null;
    drawSuggestion();
    input.focus();
  });
  emailBox.addEventListener('change', saveDraft);
  attachButton.addEventListener('click', () => fileInput.click());
  fileInput.addEventListener('change', () => {
    const files = [...(fileInput.files ?? [])];
    fileInput.value = '';
    addFiles(files);
    input.focus();
  });
  // A pasted screenshot or file is attached; pasted text goes in the box as ever.
  input.addEventListener('paste', (event) => {
    const files = pastedFiles(event.clipboardData);
    if (!files.length || !takesFiles(attachmentSettings())) return;
    event.preventDefault();
    const now = new Date();
    addFiles(files, { nameOf: (file) => pastedFileName(file, now) });
  });
  const offSession = subscribe('session', () => {
    drawEmailToggle();
    drawAttach();
  });

  drawMode();
  drawAttach();
  drawSendState();
  updatePreview();

  return {
    focus(nextMode) {
      if (nextMode && nextMode !== mode) setMode(nextMode);
      input.focus();
      const end = input.value.length;
      input.setSelectionRange(end, end);
    },
    toggleNote() {
      setMode(mode === 'note' ? 'comment' : 'note');
      input.focus();
    },
    suggest,
    /** Whether files dropped on the thread are taken. */
    takesFiles: () => takesFiles(attachmentSettings()),
    /** Files dropped on the thread. */
    addFiles(files) {
      addFiles(files);
      input.focus();
    },
    destroy() {
      picker.destroy();
      offSession();
      saveDraft();
      tray.destroy();
      clearTimeout(previewTimer);
      previewAbort?.abort();
      suggestAbort?.abort();
    },
  };
}
