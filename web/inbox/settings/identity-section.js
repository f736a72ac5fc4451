// Settings > Install > Identity verification: whether the widget needs
// proof of a signed-in user (on by default), the secret with its rotation,
// and how to compute `user_hash` on the business's server.
//
//   const destroy = mountIdentitySection(element, workspace, { manage, onChange });
//
// Its Copy and Show buttons (`data-copy`, `data-copy-value`, `data-reveal`)
// are handled by the settings page, like the install snippet's.

import { html, render } from '../../shared/html.js';
import { updateWorkspace, rotateIdentitySecret } from '../data/settings.js';
import { formError, showProblem, showFieldErrors, clearErrors, whileBusy } from '../ui/forms.js';
import { fullTime } from '../ui/time.js';
import {
  USER_HASH_EXAMPLES, GRACE_DEFAULT_HOURS, GRACE_MAX_HOURS, SECRET_VARIABLE,
  userHashExample, identifiedBootSnippet, parseGraceHours, previousSecretNote,
} from './identity.js';

const WARNING = 'Anyone who knows or guesses one of your users\u2019 ids (or email addresses) could then open '
  + 'the messenger as that user and read their conversations.';

function statusChip(on) {
  return on
    ? html`<span class="status-chip is-on" data-testid="identity-status">On</span>`
    : html`<span class="status-chip is-off" data-testid="identity-status">Off</span>`;
}

function toggleForm(workspace, manage, confirming) {
  const on = Boolean(workspace.identity_verification);
  return html`
    <form data-form="identity" novalidate>
      ${formError()}
      <label class="switch">
        <input type="checkbox" role="switch" name="identity_verification" data-testid="identity-enforce-toggle"
          aria-describedby="identity-why" ${on ? html`checked` : ''} ${manage && !confirming ? '' : html`disabled`}>
        <span class="switch-track" aria-hidden="true"></span>
        <span>Require a valid <code>user_hash</code> for every <code>user_id</code> or <code>email</code></span>
      </label>
      <span class="saved-note" role="status" data-saved></span>
      ${confirming ? html`
        <div class="danger-confirm" role="alertdialog" aria-labelledby="identity-off-title"
          aria-describedby="identity-off-text" data-testid="identity-off-confirm">
          <p id="identity-off-title"><strong>Turn identity verification off?</strong></p>
          <p id="identity-off-text" data-testid="identity-off-warning">${WARNING}
            Only do this while you test, or if your widget never names signed-in users.</p>
          <div class="form-actions">
            <button type="button" class="button small danger" data-action="identity-off"
              data-testid="identity-off-confirm-button">Turn off verification</button>
            <button type="button" class="button ghost small" data-action="identity-keep"
              data-testid="identity-off-cancel">Keep it on</button>
          </div>
        </div>` : ''}
      ${on ? '' : html`<p class="notice is-warning" data-testid="identity-off-notice">
        Verification is off. ${WARNING}</p>`}
    </form>`;
}

function secretBlock(workspace, manage) {
  if (!workspace.identity_secret) {
    return html`<p class="muted">Only owners and admins can see the secret.</p>`;
  }
  const note = previousSecretNote(workspace.previous_identity_secret_expires_at, Date.now(), fullTime);
  return html`
    <div class="field">
      <label for="settings-secret">Identity secret</label>
      <div class="input-with-button">
        <input id="settings-secret" type="password" readonly value="${workspace.identity_secret}"
          data-testid="identity-secret" autocomplete="off" spellcheck="false" aria-describedby="settings-secret-hint">
        <button type="button" class="button small" data-reveal="settings-secret" aria-controls="settings-secret"
          data-testid="reveal-secret">Show</button>
        <button type="button" class="button small" data-copy-value="settings-secret" data-testid="copy-secret">Copy</button>
      </div>
      <p class="field-hint" id="settings-secret-hint">Keep it on your server (for example in
        <code>${SECRET_VARIABLE}</code>); never put it in a web page or an app.</p>
      ${note ? html`<p class="field-hint" data-testid="identity-previous-note">${note}</p>` : ''}
    </div>
    ${manage ? html`
      <form data-form="rotate" class="rotate-form" novalidate>
        ${formError()}
        <div class="field">
          <label for="rotate-grace">Rotate the secret, keeping the old one working for (hours)</label>
          <div class="input-with-button">
            <input id="rotate-grace" name="grace_hours" type="number" min="0" max="${GRACE_MAX_HOURS}" step="1"
              inputmode="numeric" value="${GRACE_DEFAULT_HOURS}" data-testid="rotate-grace"
              aria-describedby="rotate-grace-hint rotate-grace-error">
            <button type="submit" class="button small" data-testid="rotate-secret">Rotate secret</button>
          </div>
          <p class="field-hint" id="rotate-grace-hint">0 to ${GRACE_MAX_HOURS}. Hashes made with the old secret keep
            working that long: time to deploy the new one to your servers. Use 0 if the old one leaked.</p>
          <p class="field-error" id="rotate-grace-error" data-error-for="grace_hours" data-testid="rotate-grace-error"></p>
        </div>
        <span class="saved-note" role="status" data-saved></span>
      </form>` : ''}`;
}

function examples(appId, selected) {
  const example = userHashExample(selected);
  return html`
    <h3>Compute <code>user_hash</code> on your server</h3>
    <div class="tabs" role="tablist" aria-label="Server language" data-testid="identity-languages">
      ${USER_HASH_EXAMPLES.map((item) => html`
        <button type="button" role="tab" id="${`hash-tab-${item.id}`}" class="tab"
          aria-selected="${item.id === example.id ? 'true' : 'false'}" aria-controls="hash-example-panel"
          tabindex="${item.id === example.id ? '0' : '-1'}" data-language="${item.id}"
          data-testid="${`identity-language-${item.id}`}">${item.label}</button>`)}
    </div>
    <div class="code-block tab-panel" role="tabpanel" id="hash-example-panel" aria-labelledby="${`hash-tab-${example.id}`}">
      <pre id="hash-example" data-testid="identity-example" data-language="${example.id}">${example.code}</pre>
      <button type="button" class="button small" data-copy="hash-example">Copy</button>
    </div>
    <p class="muted small">Sign the id exactly as you send it as <code>user_id</code>. For someone you know only by
      email, sign the email instead and boot with <code>email</code> + <code>user_hash</code> (no <code>user_id</code>):
      Rapport then trusts that address.</p>
    <h3>Then boot with the user's id and hash</h3>
    <div class="code-block">
      <pre id="identified-boot" data-testid="identity-boot-snippet">${identifiedBootSnippet(appId)}</pre>
      <button type="button" class="button small" data-copy="identified-boot">Copy</button>
    </div>`;
}

export function mountIdentitySection(element, initial, { manage, onChange = () => {} }) {
  let workspace = initial;
  let confirming = false;
  let language = USER_HASH_EXAMPLES[0].id;
  const listening = new AbortController();
  const listen = (type, fn) => element.addEventListener(type, fn, { signal: listening.signal });

  render(element, html`
    <section class="card" aria-labelledby="s-identity" data-testid="identity-section">
      <h2 id="s-identity">Identity verification <span data-region="identity-status">${statusChip(workspace.identity_verification)}</span></h2>
      <p id="identity-why">When someone is signed in to your site, the widget names them with <code>user_id</code>
        so they see their own conversations. Identity verification proves that name: your server signs the id
        with the secret below as <code>user_hash = hex(HMAC-SHA256(secret, user_id))</code>, and Rapport refuses
        a <code>user_id</code> without a valid hash. It is on by default because without it anyone who knows or
        guesses a user's id could read their conversations. Anonymous visitors are not affected.</p>
      <div data-region="identity-toggle">${toggleForm(workspace, manage, false)}</div>
      <div data-region="identity-secret">${secretBlock(workspace, manage)}</div>
      <div data-region="identity-examples">${examples(workspace.app_id ?? '', language)}</div>
    </section>`);

  const region = (name) => element.querySelector(`[data-region="${name}"]`);
  const drawToggle = (note) => {
    render(region('identity-status'), statusChip(workspace.identity_verification));
    render(region('identity-toggle'), toggleForm(workspace, manage, confirming));
    if (note) {
      const saved = region('identity-toggle').querySelector('[data-saved]');
      render(saved, html`${note}`);
    }
  };
  const toggleInput = () => region('identity-toggle').querySelector('input[name="identity_verification"]');

  const saveVerification = async (on) => {
    const form = region('identity-toggle').querySelector('form');
    clearErrors(form);
    try {
      const saved = await whileBusy(form, () => updateWorkspace({ identity_verification: on }));
      workspace = { ...workspace, ...saved };
      onChange(workspace);
      confirming = false;
      drawToggle(workspace.identity_verification ? 'Verification is on' : 'Verification is off');
      toggleInput()?.focus();
    } catch (error) {
      confirming = false;
      drawToggle();
      showProblem(region('identity-toggle').querySelector('form'), error);
    }
  };

  listen('change', (event) => {
    if (event.target.name !== 'identity_verification') return;
    if (event.target.checked) {
      // Turning it on needs no confirmation.
      saveVerification(true);
      return;
    }
    // Turning it off waits for a confirmation that says what it risks.
    confirming = true;
    drawToggle();
    region('identity-toggle').querySelector('[data-action="identity-off"]').focus();
  });

  listen('keydown', (event) => {
    if (event.key === 'Escape' && confirming) {
      event.preventDefault();
      confirming = false;
      drawToggle();
      toggleInput()?.focus();
      return;
    }
    const tab = event.target.closest('[role="tab"]');
    if (!tab) return;
    const tabs = [...element.querySelectorAll('[role="tab"]')];
    const at = tabs.indexOf(tab);
    const next = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tabs.length - 1 }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    selectLanguage(tabs[(next + tabs.length) % tabs.length].dataset.language);
  });

  const selectLanguage = (id) => {
    language = id;
    render(region('identity-examples'), examples(workspace.app_id ?? '', language));
    region('identity-examples').querySelector(`[data-language="${CSS.escape(id)}"][role="tab"]`)?.focus();
  };

  listen('submit', async (event) => {
    const form = event.target;
    if (form.dataset.form !== 'rotate') return;
    event.preventDefault();
    const { hours, error } = parseGraceHours(form.elements.grace_hours.value);
    if (error) {
      showFieldErrors(form, [{ field: 'grace_hours', message: error }]);
      return;
    }
    clearErrors(form);
    try {
      const rotated = await whileBusy(form, () => rotateIdentitySecret(hours));
      workspace = { ...workspace, ...rotated };
      // The rotation answer carries the new secret; without a grace period
      // there is no previous one.
      if (!('previous_identity_secret_expires_at' in rotated)) delete workspace.previous_identity_secret_expires_at;
      onChange(workspace);
      render(region('identity-secret'), secretBlock(workspace, manage));
      const input = region('identity-secret').querySelector('#settings-secret');
      input.type = 'text';
      render(region('identity-secret').querySelector('[data-reveal]'), html`Hide`);
      const saved = region('identity-secret').querySelector('form [data-saved]');
      render(saved, html`New secret in use: copy it to your servers`);
      region('identity-secret').querySelector('[data-copy-value]').focus();
    } catch (failure) {
      showProblem(form, failure);
    }
  });

  listen('click', async (event) => {
    const button = event.target.closest('button');
    if (!button) return;
    if (button.dataset.action === 'identity-off') {
      await saveVerification(false);
    } else if (button.dataset.action === 'identity-keep') {
      confirming = false;
      drawToggle();
      toggleInput()?.focus();
    } else if (button.dataset.language) {
      selectLanguage(button.dataset.language);
    }
  });

  return () => listening.abort();
}
