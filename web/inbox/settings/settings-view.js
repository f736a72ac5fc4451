// `#/settings`: workspace name, the install snippet and identity
// verification (identity-section.js), widget origins, email fallback, data
// retention, attachments (attachments-section.js), saved replies
// (saved-replies-section.js), notifications
// (notifications-section.js, this browser's), webhooks
// (webhooks-section.js, owners and admins), the
// team (team-section.js), teams (teams-section.js), office hours and availability
// (office-section.js), the AI bot and its report (bot-section.js), contact
// properties (properties-section.js) and the member's own password
// (password-section.js).

import { html, render } from '../../shared/html.js';
import { getWorkspace, updateWorkspace, sendTestEmail } from '../data/settings.js';
import {
  field, formError, formValues, showProblem, showFieldErrors, clearErrors, whileBusy,
} from '../ui/forms.js';
import { state, setSession, setWorkspaceEmail, setWorkspaceAttachments } from '../data/store.js';
import { copyText } from '../ui/clipboard.js';
import { DELAY_FIELD, emailSettingsPatch, testEmailRequest } from '../data/email.js';
import { canManage as roleCanManage } from './roles.js';
import { mountIdentitySection } from './identity-section.js';
import { attachmentsSection } from './attachments-section.js';
import { attachmentSettingsPatch, bytesToMb } from './attachments.js';
import { mountTeamSection } from './team-section.js';
import { mountTeamsSection } from './teams-section.js';
import { mountOfficeSection } from './office-section.js';
import { mountPropertiesSection } from './properties-section.js';
import { mountBotSection } from './bot-section.js';
import { mountPasswordSection } from './password-section.js';
import { mountWebhooksSection } from './webhooks-section.js';
import { mountSavedRepliesSection } from './saved-replies-section.js';
import { mountNotificationsSection } from './notifications-section.js';
import { installSnippet, tryItUrl } from '../ui/install-snippet.js';

export { installSnippet };

function canManage() {
  return roleCanManage(state.me);
}

function saveRow(label, testid) {
  return html`<div class="form-actions">
    <button type="submit" class="button primary small" data-testid="${testid}">${label}</button>
    <span class="saved-note" role="status" data-saved></span>
  </div>`;
}

function flashSaved(form, text = 'Saved') {
  const note = form.querySelector('[data-saved]');
  if (!note) return;
  render(note, html`${text}`);
  clearTimeout(note.timer);
  note.timer = setTimeout(() => render(note, html``), 2500);
}

function emailSection(email, manage) {
  const disabled = manage ? '' : html`disabled`;
  const configured = email.sending_configured !== false;
  const me = state.me?.email;
  return html`
    <section class="card" aria-labelledby="s-email">
      <h2 id="s-email">Email</h2>
      <p>When a contact is offline and has not read a chat message in the widget after the delay, Rapport emails it to them.</p>
      ${configured ? '' : html`<p class="notice is-warning" id="settings-email-smtp" data-testid="settings-email-not-configured">
        This server has no SMTP server configured; set <code>RAPPORT_SMTP_URL</code>.</p>`}
      <form data-form="email" class="email-settings" novalidate>
        ${formError()}
        <fieldset ${disabled}>
          <label class="switch">
            <input type="checkbox" role="switch" name="fallback_enabled" data-testid="settings-email-enabled"
              aria-describedby="settings-email-enabled-error" ${email.fallback_enabled ? html`checked` : ''}>
            <span class="switch-track" aria-hidden="true"></span>
            <span>Email unread chat messages to offline contacts</span>
          </label>
          <p class="field-error" id="settings-email-enabled-error" data-error-for="email.fallback_enabled"></p>
          <div class="field-row">
            <div class="field">
              <label for="settings-email-delay">Wait before emailing (minutes)</label>
              <input id="settings-email-delay" name="fallback_delay_minutes" type="number" min="1" max="60" step="1"
                inputmode="numeric" value="${email.fallback_delay_minutes ?? ''}" required
                aria-describedby="settings-email-delay-hint settings-email-delay-error" data-testid="settings-email-delay">
              <p class="field-hint" id="settings-email-delay-hint">1 to 60. A message read in the widget by then is not emailed.</p>
              <p class="field-error" id="settings-email-delay-error" data-error-for="${DELAY_FIELD}"
                data-testid="settings-email-delay-error"></p>
            </div>
            <div class="field">
              <label for="settings-email-from">From address</label>
              <input id="settings-email-from" name="from_address" type="email" value="${email.from_address ?? ''}"
                placeholder="The server's default sender" autocomplete="off" spellcheck="false"
                aria-describedby="settings-email-from-hint settings-email-from-error" data-testid="settings-email-from">
              <p class="field-hint" id="settings-email-from-hint">Leave blank to use the server's default sender.</p>
              <p class="field-error" id="settings-email-from-error" data-error-for="email.from_address"></p>
            </div>
          </div>
          ${saveRow('Save email settings', 'settings-save-email')}
        </fieldset>
      </form>
      <form data-form="email-test" class="email-test" novalidate>
        <h3>Send a test email</h3>
        <fieldset ${manage && configured ? '' : html`disabled`}>
          <div class="field">
            <label for="settings-email-test-to">Send to</label>
            <div class="input-with-button">
              <input id="settings-email-test-to" name="to" type="email" autocomplete="off" spellcheck="false"
                placeholder="${me ?? 'Your address'}"
                aria-describedby="settings-email-test-hint settings-email-test-error" data-testid="settings-email-test-to">
              <button type="submit" class="button small" data-testid="settings-email-test">Send test email</button>
            </div>
            <p class="field-hint" id="settings-email-test-hint">Leave blank to send it to yourself${me ? ` (${me})` : ''}.</p>
            <p class="field-error" id="settings-email-test-error" data-error-for="to"></p>
          </div>
          ${formError()}
          <p class="saved-note" role="status" data-test-result data-testid="settings-email-test-result"></p>
        </fieldset>
      </form>
    </section>`;
}

function page(workspace) {
  const manage = canManage();
  const disabled = manage ? '' : html`disabled`;
  const snippet = installSnippet(workspace.app_id ?? '', location.origin);
  return html`
    <main id="main" class="page settings-page" tabindex="-1" data-testid="settings-view">
      <h1>Settings</h1>
      ${manage ? '' : html`<p class="notice">Only owners and admins can change these settings.</p>`}

      <section class="card" aria-labelledby="s-workspace">
        <h2 id="s-workspace">Workspace</h2>
        <form data-form="workspace" novalidate>
          ${formError()}
          <fieldset ${disabled}>
            ${field({ form: 'settings', name: 'name', label: 'Workspace name', value: workspace.name, testid: 'settings-workspace-name' })}
            ${saveRow('Save name', 'settings-save-name')}
          </fieldset>
        </form>
      </section>

      <section class="card" aria-labelledby="s-install">
        <h2 id="s-install">Install the widget</h2>
        <p>Paste this before <code>&lt;/body&gt;</code> on every page of your site.</p>
        <div class="code-block">
          <pre data-testid="settings-install-snippet" id="install-snippet">${snippet}</pre>
          <button type="button" class="button small" data-copy="install-snippet" data-testid="copy-snippet">Copy</button>
        </div>
        <p class="muted small">Your app ID: <code data-testid="settings-app-id">${workspace.app_id}</code>
          · <a href="${tryItUrl(workspace.app_id ?? '', location.origin)}" target="_blank" rel="noopener"
            data-testid="settings-try-it">Try it on a demo page</a></p>
      </section>

      <div data-region="identity-section"></div>

      <section class="card" aria-labelledby="s-origins">
        <h2 id="s-origins">Allowed widget origins</h2>
        <form data-form="origins" novalidate>
          ${formError()}
          <fieldset ${disabled}>
            <div class="field">
              <label for="settings-origins">Sites that may show the widget, one per line</label>
              <textarea id="settings-origins" name="allowed_origins" rows="4" spellcheck="false"
                placeholder="https://www.example.com" aria-describedby="settings-origins-hint settings-origins-error"
                data-testid="settings-origins">${(workspace.allowed_origins ?? []).join('\n')}</textarea>
              <p class="field-hint" id="settings-origins-hint">Scheme, host and port only, like <code>https://shop.example</code>. Leave empty to allow any site.</p>
              <p class="field-error" id="settings-origins-error" data-error-for="allowed_origins"></p>
            </div>
            ${saveRow('Save origins', 'settings-save-origins')}
          </fieldset>
        </form>
      </section>

      ${workspace.email ? emailSection(workspace.email, manage) : ''}

      <section class="card" aria-labelledby="s-retention">
        <h2 id="s-retention">Data retention</h2>
        <form data-form="retention" novalidate>
          ${formError()}
          <fieldset ${disabled}>
            <div class="field">
              <label for="settings-retention">Delete closed conversations after (days)</label>
              <input id="settings-retention" name="retention_days" type="number" min="0" max="3650" step="1"
                value="${String(workspace.retention_days ?? 0)}" aria-describedby="settings-retention-hint settings-retention-error"
                data-testid="settings-retention">
              <p class="field-hint" id="settings-retention-hint">Closed conversations untouched this long are deleted
                every day, with their messages and timeline entries. 0 keeps them.</p>
              <p class="field-error" id="settings-retention-error" data-error-for="retention_days"></p>
            </div>
            ${saveRow('Save retention', 'settings-save-retention')}
          </fieldset>
        </form>
      </section>

      ${attachmentsSection(workspace.attachments, manage)}

      <div data-region="notifications-section"></div>
      <div data-region="saved-replies-section"></div>
      <div data-region="webhooks-section"></div>
      <div data-region="team-section"></div>
      <div data-region="teams-section"></div>
      <div data-region="office-section"></div>
      <div data-region="bot-section"></div>
      <div data-region="properties-section"></div>
      <div data-region="password-section"></div>
    </main>`;
}

export function mountSettingsView(element) {
  let alive = true;
  // Listeners on the shared view element go when the view does.
  const listening = new AbortController();
  const listen = (type, fn) => element.addEventListener(type, fn, { signal: listening.signal });
  let workspace = null;
  render(element, html`<main id="main" class="page" tabindex="-1"><p role="status">Loading settings…</p></main>`);

  const update = async (form, body, message) => {
    clearErrors(form);
    try {
      workspace = { ...workspace, ...(await whileBusy(form, () => updateWorkspace(body))) };
      flashSaved(form, message);
      if (body.name && state.workspace) setSession({ agent: state.me, workspace: { ...state.workspace, name: workspace.name } });
      return true;
    } catch (error) {
      showProblem(form, error);
      return false;
    }
  };

  listen('submit', async (event) => {
    const form = event.target;
    event.preventDefault();
    const values = formValues(form);
    switch (form.dataset.form) {
      case 'workspace':
        await update(form, { name: values.name.trim() });
        break;
      case 'retention':
        await update(form, { retention_days: Number(values.retention_days || 0) }, 'Saved');
        break;
      case 'origins':
        await update(form, {
          allowed_origins: values.allowed_origins.split('\n').map((line) => line.trim()).filter(Boolean),
        });
        break;
      case 'email': {
        const { body, errors } = emailSettingsPatch(workspace.email, values);
        if (errors.length) {
          showFieldErrors(form, errors);
        } else if (!body) {
          clearErrors(form);
          flashSaved(form, 'No changes');
        } else if (await update(form, body)) {
          // Show what the server stored (it may tidy an address).
          const saved = workspace.email ?? {};
          form.elements.fallback_enabled.checked = Boolean(saved.fallback_enabled);
          form.elements.fallback_delay_minutes.value = saved.fallback_delay_minutes ?? values.fallback_delay_minutes;
          form.elements.from_address.value = saved.from_address ?? '';
          setWorkspaceEmail(workspace.email);
        }
        break;
      }
      case 'attachments': {
        const { body, errors } = attachmentSettingsPatch(workspace.attachments, values);
        if (errors.length) {
          showFieldErrors(form, errors);
        } else if (!body) {
          clearErrors(form);
          flashSaved(form, 'No changes');
        } else if (await update(form, body, body.attachments.kinds?.length === 0 ? 'Saved: attachments are off' : 'Saved')) {
          // Show what the server stored; the composers follow it.
          form.elements.max_mb.value = bytesToMb(workspace.attachments?.max_bytes);
          setWorkspaceAttachments(workspace.attachments);
        }
        break;
      }
      case 'email-test':
        await sendTestEmail(form, values.to);
        break;
      default:
    }
  });

  const sendTestEmail = async (form, to) => {
    clearErrors(form);
    const button = form.querySelector('button[type="submit"]');
    const result = form.querySelector('[data-test-result]');
    render(result, html``);
    render(button, html`Sending…`);
    try {
      const sent = await whileBusy(form, () => sendTestEmail(testEmailRequest(to)));
      render(result, html`Test email sent to ${sent?.sent_to ?? (to.trim() || state.me?.email || 'you')}`);
    } catch (error) {
      // 502 (the SMTP server said no, or could not be reached) and 409 (no
      // SMTP configured) say why in `detail`; a bad address lands by its field.
      showProblem(form, error);
    } finally {
      render(button, html`Send test email`);
    }
  };

  listen('click', async (event) => {
    const button = event.target.closest('button');
    if (!button) return;
    if (button.dataset.copy || button.dataset.copyValue) {
      const source = document.getElementById(button.dataset.copy || button.dataset.copyValue);
      const text = button.dataset.copy ? source.textContent : source.value;
      const ok = await copyText(text, button.dataset.copy ? source : null);
      render(button, html`${ok ? 'Copied' : 'Press Ctrl+C'}`);
      setTimeout(() => render(button, html`Copy`), 2000);
    } else if (button.dataset.reveal) {
      const input = document.getElementById(button.dataset.reveal);
      const hidden = input.type === 'password';
      input.type = hidden ? 'text' : 'password';
      render(button, html`${hidden ? 'Hide' : 'Show'}`);
    }
  });

  // The sections with state of their own; each returns its destroy.
  let sections = [];
  const mountSections = () => {
    const manage = canManage();
    const at = (name) => element.querySelector(`[data-region="${name}"]`);
    sections = [
      mountIdentitySection(at('identity-section'), workspace, {
        manage, onChange: (changed) => { workspace = { ...workspace, ...changed }; },
      }),
      mountTeamSection(at('team-section'), { manage }),
      mountTeamsSection(at('teams-section'), { manage }),
      mountOfficeSection(at('office-section'), { manage }),
      mountBotSection(at('bot-section'), { manage }),
      mountPropertiesSection(at('properties-section'), { manage }),
      mountPasswordSection(at('password-section')),
      mountSavedRepliesSection(at('saved-replies-section'), { manage }),
      mountNotificationsSection(at('notifications-section')),
      // The endpoints' secrets are owners' and admins' only.
      ...(manage ? [mountWebhooksSection(at('webhooks-section'))] : []),
    ];
  };

  (async () => {
    try {
      workspace = await getWorkspace();
      if (!alive) return;
      // The composer hides "Email if unread" when fallback is off.
      setWorkspaceEmail(workspace.email);
      setWorkspaceAttachments(workspace.attachments);
      render(element, page(workspace));
      mountSections();
      element.querySelector('main').focus();
    } catch (error) {
      if (!alive) return;
      // Without the workspace endpoint, still show what the session knows.
      workspace = { ...state.workspace, allowed_origins: [], identity_verification: true };
      render(element, html`<p class="form-error page-error" role="alert">Could not load the workspace settings: ${error.message}</p>${page(workspace)}`);
      mountSections();
    }
  })();

  return () => {
    alive = false;
    listening.abort();
    for (const destroy of sections) destroy();
  };
}
