// The profile's "Send a message": a chat message to this one contact, in a
// new conversation, from a chosen team member. Snippet tags preview live
// for the contact; Ctrl/Cmd+Enter sends (Enter is a new line here: these
// are longer, written messages).

import { html, render } from '../../shared/html.js';
import { sendMessage } from '../data/contacts.js';
import { state, contactName, subscribe } from '../data/store.js';
import { formError, showProblem, clearErrors, whileBusy } from '../ui/forms.js';
import { fromOptions, emailFallbackToggle, emailFallbackOffered, createPreviewer } from '../ui/message-form.js';

export function mountContactComposer(element, { contact, onSent, onClose }) {
  const name = contactName(contact);
  render(element, html`
    <form class="profile-composer" data-testid="profile-composer" novalidate>
      <h3 id="profile-composer-title">Send ${name} a message</h3>
      ${formError()}
      <div class="field">
        <label for="profile-from">From</label>
        <select id="profile-from" name="from_agent_id" data-testid="profile-from" aria-describedby="profile-from-error">
          ${fromOptions()}
        </select>
        <p class="field-error" id="profile-from-error" data-error-for="from_agent_id"></p>
      </div>
      <div class="field">
        <label for="profile-body">Message</label>
        <textarea id="profile-body" name="body" rows="4" data-testid="profile-body"
          aria-describedby="profile-body-hint profile-body-error"></textarea>
        <p class="field-hint" id="profile-body-hint">Starts a new conversation. Snippet tags such as
          <code>{{ user.name | default("there") }}</code> are filled in for ${name}. Ctrl+Enter sends.</p>
        <p class="field-error" id="profile-body-error" data-error-for="body"></p>
      </div>
      <section class="preview-pane" aria-labelledby="profile-preview-title" data-testid="profile-preview">
        <div class="preview-head"><h4 id="profile-preview-title">Preview for ${name}</h4></div>
        <div class="preview-body part-body" data-region="preview" aria-live="polite" data-testid="profile-preview-body"></div>
      </section>
      <div class="form-actions">
        ${emailFallbackToggle({ testid: 'profile-email-fallback',
          title: contact.email ? `If ${name} has not read it in the widget after the workspace's delay, email it to ${contact.email}`
            : `If ${name} has not read it in the widget after the workspace's delay, email it (once they have an email address)` })}
        <span class="top-spacer"></span>
        <button type="button" class="button ghost small" data-action="close" data-testid="profile-composer-close">Close</button>
        <button type="submit" class="button primary small" data-testid="profile-send">Send</button>
      </div>
      <p class="saved-note" role="status" data-region="sent" data-testid="profile-sent"></p>
    </form>`);

  const form = element.querySelector('form');
  const body = form.elements.body;
  const from = form.elements.from_agent_id;
  const emailBox = form.elements.email_fallback;
  const emailToggle = form.querySelector('[data-region="email-toggle"]');
  const previewSlot = form.querySelector('[data-region="preview"]');
  const sentSlot = form.querySelector('[data-region="sent"]');

  const previewer = createPreviewer((result) => {
    if (!result) render(previewSlot, html`<p class="muted">What ${name} will see.</p>`);
    else if (result.error) render(previewSlot, html`<p class="form-error" data-testid="profile-preview-error">${result.error}</p>`);
    else render(previewSlot, result.body);
  });
  const preview = () => previewer.request(contact.id, body.value, from.value);

  const send = async () => {
    clearErrors(form);
    render(sentSlot, html``);
    const text = body.value;
    if (!text.trim()) {
      showProblem(form, { fieldErrors: { body: 'Write the message first.' } });
      return;
    }
    const request = { contact_id: contact.id, body: text, from_agent_id: from.value || state.me?.id };
    if (emailFallbackOffered()) request.email_fallback = emailBox.checked;
    try {
      const sent = await whileBusy(form, () => sendMessage(request));
      body.value = '';
      preview();
      const conversationId = sent?.conversation?.id ?? sent?.conversation_id;
      render(sentSlot, html`Sent${conversationId ? html` · <a href="${`#/conversations/${encodeURIComponent(conversationId)}`}"
        data-testid="profile-sent-link">Open the conversation</a>` : ''}`);
      body.focus();
      onSent?.(sent);
    } catch (error) {
      showProblem(form, error);
    }
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    send();
  });
  body.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey) && !event.isComposing) {
      event.preventDefault();
      send();
    } else if (event.key === 'Escape') {
      event.preventDefault();
      onClose?.();
    }
  });
  body.addEventListener('input', preview);
  from.addEventListener('change', preview);
  form.querySelector('[data-action="close"]').addEventListener('click', () => onClose?.());
  const off = subscribe('session', () => {
    emailToggle.hidden = !emailFallbackOffered();
  });
  preview();

  return {
    focus: () => body.focus(),
    destroy() {
      previewer.cancel();
      off();
    },
  };
}
