// People > "Send a message" > "Chat message": a dialog to write one
// message for many people. The body may carry snippet tags; the preview
// renders it for real recipients (Previous / Next flips through them), and
// a confirmation step says how many people get it before POST /bulk-sends.
// Then the send's own page shows its progress.

import { html, render } from '../../shared/html.js';
import { createBulkSend } from '../data/bulk-sends.js';
import { state, contactName } from '../data/store.js';
import { formError, showProblem, clearErrors, whileBusy } from '../ui/forms.js';
import { fromOptions, emailFallbackToggle, emailFallbackOffered, createPreviewer } from '../ui/message-form.js';
import { peopleCount } from './people-filter.js';

/**
 * Opens the dialog. `audience` is the POST body's audience, `size` how many
 * people it reaches, `recipients` the contacts the preview shows, and
 * `returnFocus` the control to focus again when it closes.
 */
export function openBulkComposer({ audience, size, recipients, returnFocus }) {
  const dialog = document.createElement('dialog');
  dialog.className = 'modal bulk-compose';
  dialog.setAttribute('aria-labelledby', 'bulk-title');
  dialog.dataset.testid = 'bulk-compose';
  const who = peopleCount(size);
  render(dialog, html`
    <form data-step="compose" novalidate>
      <h2 id="bulk-title">Chat message to ${who}</h2>
      ${formError()}
      <div class="field">
        <label for="bulk-from">From</label>
        <select id="bulk-from" name="from_agent_id" data-testid="bulk-from" aria-describedby="bulk-from-error">
          ${fromOptions()}
        </select>
        <p class="field-error" id="bulk-from-error" data-error-for="from_agent_id"></p>
      </div>
      <div class="field">
        <label for="bulk-body">Message</label>
        <textarea id="bulk-body" name="body" rows="6" data-testid="bulk-body"
          aria-describedby="bulk-body-hint bulk-body-error"></textarea>
        <p class="field-hint" id="bulk-body-hint">Each person gets their own copy in a new conversation. Personalise it with
          snippet tags, like <code>{{ user.name | default("there") }}</code>.</p>
        <p class="field-error" id="bulk-body-error" data-error-for="body"></p>
      </div>
      ${emailFallbackToggle({ testid: 'bulk-email-fallback',
        title: 'If someone has not read it in the widget after the workspace\'s delay, email it to them' })}
      <section class="preview-pane" aria-labelledby="bulk-preview-title" data-testid="bulk-preview">
        <div class="preview-head">
          <h3 id="bulk-preview-title">Preview for <span data-region="preview-name" data-testid="bulk-preview-name"></span></h3>
          <span class="muted small" data-region="preview-position"></span>
          <button type="button" class="button ghost small" data-action="previous" aria-label="Previous recipient"
            data-testid="bulk-preview-previous">‹ Previous</button>
          <button type="button" class="button ghost small" data-action="next" aria-label="Next recipient"
            data-testid="bulk-preview-next">Next ›</button>
        </div>
        <div class="preview-body part-body" data-region="preview" aria-live="polite" data-testid="bulk-preview-body"></div>
      </section>
      <div class="form-actions dialog-actions">
        <button type="button" class="button" data-action="cancel" data-testid="bulk-cancel">Cancel</button>
        <button type="submit" class="button primary" data-testid="bulk-review">Review</button>
      </div>
    </form>
    <form data-step="confirm" hidden novalidate>
      <h2 tabindex="-1" data-region="confirm-title">Send to ${who}?</h2>
      <p data-region="confirm-text"></p>
      ${formError()}
      <div class="form-actions dialog-actions">
        <button type="button" class="button" data-action="back" data-testid="bulk-back">Back</button>
        <button type="submit" class="button primary" data-testid="bulk-confirm">Send to ${who}</button>
      </div>
    </form>`);
  document.body.append(dialog);

  const compose = dialog.querySelector('[data-step="compose"]');
  const confirm = dialog.querySelector('[data-step="confirm"]');
  const body = compose.elements.body;
  const from = compose.elements.from_agent_id;
  const emailBox = compose.elements.email_fallback;
  const previewSlot = dialog.querySelector('[data-region="preview"]');
  const nameSlot = dialog.querySelector('[data-region="preview-name"]');
  const positionSlot = dialog.querySelector('[data-region="preview-position"]');
  const previous = dialog.querySelector('[data-action="previous"]');
  const next = dialog.querySelector('[data-action="next"]');
  let index = 0;

  const previewer = createPreviewer((result) => {
    if (!result) render(previewSlot, html`<p class="muted">The message, as ${nameSlot.textContent || 'they'} will see it.</p>`);
    else if (result.error) render(previewSlot, html`<p class="form-error" data-testid="bulk-preview-error">${result.error}</p>`);
    else render(previewSlot, result.body);
  });

  const drawPreview = () => {
    const recipient = recipients[index];
    render(nameSlot, html`${recipient ? contactName(recipient) : 'each person'}`);
    render(positionSlot, html`${recipients.length ? `${index + 1} of ${recipients.length}` : ''}`);
    previous.disabled = index <= 0;
    next.disabled = index >= recipients.length - 1;
    previewer.request(recipient?.id ?? null, body.value, from.value);
  };

  const close = () => {
    previewer.cancel();
    if (dialog.open) dialog.close();
  };
  dialog.addEventListener('close', () => {
    previewer.cancel();
    dialog.remove();
    if (returnFocus?.isConnected) returnFocus.focus();
  });

  const showStep = (step) => {
    compose.hidden = step !== 'compose';
    confirm.hidden = step !== 'confirm';
    if (step === 'compose') body.focus();
    else confirm.querySelector('[data-testid="bulk-confirm"]').focus();
  };

  body.addEventListener('input', drawPreview);
  from.addEventListener('change', drawPreview);
  dialog.addEventListener('click', (event) => {
    const action = event.target.closest('button[data-action]')?.dataset.action;
    if (action === 'cancel') close();
    else if (action === 'back') showStep('compose');
    else if (action === 'previous' && index > 0) {
      index -= 1;
      drawPreview();
    } else if (action === 'next' && index < recipients.length - 1) {
      index += 1;
      drawPreview();
    }
  });

  compose.addEventListener('submit', (event) => {
    event.preventDefault();
    clearErrors(compose);
    if (!body.value.trim()) {
      showProblem(compose, { fieldErrors: { body: 'Write the message first.' } });
      return;
    }
    const sender = state.agents.get(from.value)?.name ?? state.me?.name ?? 'you';
    const emailed = emailFallbackOffered() && emailBox.checked;
    render(confirm.querySelector('[data-region="confirm-text"]'), html`Each of them gets their own message from
      <strong>${sender}</strong>, in a new conversation${emailed
        ? ', emailed to them if they have not read it in time' : ''}. This cannot be undone once sent.`);
    render(confirm.querySelector('[data-form-error]'), html``);
    showStep('confirm');
  });

  confirm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const request = {
      audience,
      body: body.value,
      from_agent_id: from.value || state.me?.id,
      // Off when the workspace has the fallback off: nothing would be emailed anyway.
      email_fallback: emailFallbackOffered() ? emailBox.checked : false,
    };
    try {
      const created = await whileBusy(confirm, () => createBulkSend(request));
      close();
      if (created?.id) location.hash = `#/bulk-sends/${encodeURIComponent(created.id)}`;
      else location.hash = '#/bulk-sends';
    } catch (error) {
      if (error.status === 422) {
        // A template fault or a field: show it beside the message.
        showStep('compose');
        showProblem(compose, error);
      } else {
        showProblem(confirm, error.status === 403
          ? { message: 'Only owners and admins can send bulk messages in this workspace.' } : error);
      }
    }
  });

  dialog.showModal();
  drawPreview();
  body.focus();
  return { close };
}
