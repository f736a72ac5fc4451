// Settings > Webhooks (owners and admins): the workspace's endpoints, each
// with its state, its events, its signing secret (shown on request, with a
// copy button), "Send test event" and its delivery log (status, HTTP
// code, latency, the start of the answer); a form for a new one, and for
// each Edit, Disable / Enable and Delete (after a confirmation). Esc
// leaves an edit or a confirmation; focus goes back to its button.
//
//   const destroy = mountWebhooksSection(element);

import { html, render } from '../../shared/html.js';
import {
  listWebhooks, createWebhook, updateWebhook, deleteWebhook, sendTestEvent, listDeliveries,
} from '../data/webhooks.js';
import { formError, showProblem, showFieldErrors, clearErrors, whileBusy } from '../ui/forms.js';
import { announce } from '../data/store.js';
import { copyText } from '../ui/clipboard.js';
import { fullTime } from '../ui/time.js';
import {
  EVENT_TYPES, MAX_URL, webhookRequest, eventsText, endpointState, deliveryText,
} from './webhooks.js';

/** The URL, description and event checkboxes; `prefix` keeps ids apart. */
function endpointFields(prefix, { url = '', description = '', events = [] } = {}) {
  const checked = new Set(events);
  return html`
    <div class="field">
      <label for="${`${prefix}-url`}">Endpoint URL</label>
      <input id="${`${prefix}-url`}" name="url" type="url" value="${url}" autocomplete="off" spellcheck="false"
        required maxlength="${MAX_URL}" placeholder="https://example.com/rapport-events"
        aria-describedby="${`${prefix}-url-error`}" data-testid="${`${prefix}-url`}">
      <p class="field-error" id="${`${prefix}-url-error`}" data-error-for="url"></p>
    </div>
    <div class="field">
      <label for="${`${prefix}-description`}">Description (optional)</label>
      <input id="${`${prefix}-description`}" name="description" value="${description}" autocomplete="off"
        aria-describedby="${`${prefix}-description-error`}" data-testid="${`${prefix}-description`}">
      <p class="field-error" id="${`${prefix}-description-error`}" data-error-for="description"></p>
    </div>
    <fieldset class="webhook-events">
      <legend>Events to send</legend>
      <ul class="check-list">${EVENT_TYPES.map(([name, meaning]) => html`<li>
        <label class="check"><input type="checkbox" name="events" value="${name}"
          aria-describedby="${`${prefix}-events-error`}" data-testid="${`${prefix}-event`}"
          ${checked.has(name) ? html`checked` : ''}>
          <code>${name}</code> <span class="muted">${meaning}</span></label></li>`)}</ul>
      <p class="field-error" id="${`${prefix}-events-error`}" data-error-for="events"></p>
    </fieldset>`;
}

function formDraft(form) {
  return {
    url: form.elements.url?.value ?? '',
    description: form.elements.description?.value ?? '',
    events: [...form.querySelectorAll('input[name="events"]:checked')].map((input) => input.value),
  };
}

function deliveriesView(log) {
  if (!log) return '';
  if (log.status === 'loading') return html`<p role="status" class="muted">Loading deliveries…</p>`;
  if (log.status === 'error') return html`<p class="form-error" role="alert">Could not load the deliveries: ${log.error}</p>`;
  return html`
    <div class="webhook-log" data-testid="webhook-deliveries">
      ${log.items.length ? html`<table class="data-table">
        <caption class="sr-only">Deliveries, newest first</caption>
        <thead><tr><th scope="col">Time</th><th scope="col">Event</th><th scope="col">Status</th>
          <th scope="col">Latency</th><th scope="col">Tries</th><th scope="col">Answer</th></tr></thead>
        <tbody>${log.items.map((d) => {
          const { status, detail } = deliveryText(d);
          return html`<tr data-testid="webhook-delivery" data-status="${d.status}" data-event-type="${d.event_type}">
            <td><time datetime="${d.last_attempt_at ?? d.created_at}">${fullTime(d.last_attempt_at ?? d.created_at)}</time></td>
            <td><code>${d.event_type}</code></td>
            <td><span class="${`status-badge webhook-${d.status}`}" data-testid="webhook-delivery-status">${status}</span>
              <span class="muted" data-testid="webhook-delivery-detail">${detail}</span></td>
            <td>${d.latency_ms != null ? `${d.latency_ms} ms` : ''}</td>
            <td>${String(d.attempts)}</td>
            <td><code class="webhook-answer" data-testid="webhook-delivery-answer">${(d.response_body ?? '').slice(0, 200)}</code></td>
          </tr>`;
        })}</tbody>
      </table>` : html`<p class="muted" data-testid="webhook-deliveries-empty">No deliveries yet.</p>`}
      <div class="form-actions">
        <button type="button" class="button ghost small" data-webhook-refresh="${log.id}" data-testid="webhook-refresh">Refresh</button>
        ${log.next ? html`<button type="button" class="button ghost small" data-webhook-older="${log.id}">Older deliveries</button>` : ''}
      </div>
    </div>`;
}

function endpointItem(endpoint, { editing, confirming, secretShown, log, note }) {
  const id = endpoint.id;
  const { label, tone } = endpointState(endpoint);
  if (editing) {
    return html`<li data-testid="webhook-item" data-webhook-id="${id}">
      <form data-form="webhook-edit" data-webhook-id="${id}" class="webhook-form" novalidate
        aria-label="${`Edit the endpoint ${endpoint.url}`}">
        ${formError()}
        ${endpointFields(`webhook-edit-${id}`, editing)}
        <div class="form-actions">
          <button type="submit" class="button primary small" data-testid="webhook-save">Save endpoint</button>
          <button type="button" class="button ghost small" data-webhook-cancel="${id}">Cancel</button>
        </div>
      </form>
    </li>`;
  }
  return html`<li data-testid="webhook-item" data-webhook-id="${id}">
    <div class="webhook-row">
      <code class="webhook-url" data-testid="webhook-url">${endpoint.url}</code>
      <span class="${`status-badge webhook-${tone}`}" data-testid="webhook-state">${label}</span>
    </div>
    ${endpoint.description ? html`<p class="muted">${endpoint.description}</p>` : ''}
    <p class="muted small">Sends: ${eventsText(endpoint.events)}</p>
    ${endpoint.disabled_reason && !endpoint.enabled ? html`<p class="notice is-warning">${endpoint.disabled_reason}</p>` : ''}
    <div class="webhook-secret">
      <span class="muted small">Signing secret</span>
      ${secretShown ? html`<code id="${`webhook-secret-${id}`}" data-testid="webhook-secret">${endpoint.secret}</code>
        <button type="button" class="button ghost small" data-webhook-copy="${id}">Copy</button>` : ''}
      <button type="button" class="button ghost small" data-webhook-secret="${id}" aria-expanded="${secretShown ? 'true' : 'false'}"
        data-testid="webhook-secret-toggle">${secretShown ? 'Hide' : 'Show'}</button>
    </div>
    ${confirming ? html`
      <div class="danger-confirm" role="alertdialog" aria-labelledby="${`webhook-delete-title-${id}`}">
        <p id="${`webhook-delete-title-${id}`}"><strong>Delete this endpoint?</strong>
          Nothing more is sent to it, and its delivery log goes with it.</p>
        <div class="form-actions">
          <button type="button" class="button small danger" data-webhook-delete-confirm="${id}"
            data-testid="webhook-delete-confirm">Delete endpoint</button>
          <button type="button" class="button ghost small" data-webhook-delete-cancel="${id}">Cancel</button>
        </div>
      </div>` : html`
      <div class="form-actions">
        <button type="button" class="button small" data-webhook-test="${id}" data-testid="webhook-test">Send test event</button>
        <button type="button" class="button ghost small" data-webhook-log="${id}" aria-expanded="${log ? 'true' : 'false'}"
          data-testid="webhook-log-toggle">${log ? 'Hide deliveries' : 'Deliveries'}</button>
        <button type="button" class="button ghost small" data-webhook-edit="${id}" data-testid="webhook-edit">Edit</button>
        <button type="button" class="button ghost small" data-webhook-toggle="${id}" data-testid="webhook-enable">
          ${endpoint.enabled ? 'Disable' : 'Enable'}</button>
        <button type="button" class="button ghost small" data-webhook-delete="${id}" data-testid="webhook-delete">Delete</button>
        <span class="saved-note" role="status" data-testid="webhook-note">${note ?? ''}</span>
      </div>`}
    ${deliveriesView(log)}
  </li>`;
}

export function mountWebhooksSection(element) {
  let alive = true;
  const listening = new AbortController();
  const listen = (type, fn) => element.addEventListener(type, fn, { signal: listening.signal });
  let endpoints = [];
  let status = 'loading';
  let loadError = '';
  let editing = null; // {id, url, description, events}
  let confirming = null; // id asking "Delete?"
  const secrets = new Set(); // ids whose secret is shown
  const logs = new Map(); // id -> {id, status, items, next, error}
  const notes = new Map(); // id -> a line under its buttons

  render(element, html`
    <section class="card" aria-labelledby="s-webhooks" data-testid="webhooks-section">
      <h2 id="s-webhooks">Webhooks</h2>
      <p>Rapport posts the events you choose to your own systems as they happen, signed with the endpoint’s
        secret (the <code>Rapport-Signature</code> header), and tries again for a day when an endpoint does not
        answer 2xx. An endpoint that fails for a whole day is disabled and the admins are emailed.</p>
      <div data-region="webhooks"><p role="status">Loading webhooks…</p></div>
      <h3 id="webhooks-new-title">New endpoint</h3>
      <form data-form="webhook-new" class="webhook-form" novalidate aria-labelledby="webhooks-new-title">
        ${formError()}
        <div data-region="webhook-new-fields">${endpointFields('webhooks-new')}</div>
        <div class="form-actions">
          <button type="submit" class="button primary small" data-testid="webhooks-create">Add endpoint</button>
          <span class="saved-note" role="status" data-saved></span>
        </div>
      </form>
    </section>`);
  const list = element.querySelector('[data-region="webhooks"]');
  const selector = (attr, id) => `[${attr}="${CSS.escape(id)}"]`;

  const draw = (focus = null) => {
    const editForm = list.querySelector('form[data-form="webhook-edit"]');
    if (editing && editForm) editing = { ...editing, ...formDraft(editForm) };
    if (status === 'loading') return;
    if (status === 'error') {
      render(list, html`<p class="form-error" role="alert">Could not load the webhooks: ${loadError}</p>`);
      return;
    }
    render(list, endpoints.length ? html`<ul class="webhooks-list" data-testid="webhooks-list">
      ${endpoints.map((endpoint) => endpointItem(endpoint, {
        editing: editing?.id === endpoint.id ? editing : null,
        confirming: confirming === endpoint.id,
        secretShown: secrets.has(endpoint.id),
        log: logs.get(endpoint.id) ?? null,
        note: notes.get(endpoint.id) ?? null,
      }))}</ul>` : html`<p class="muted" data-testid="webhooks-empty">No endpoints yet.</p>`);
    if (focus) list.querySelector(focus)?.focus();
  };

  const replace = (saved) => {
    endpoints = endpoints.map((endpoint) => (endpoint.id === saved.id ? saved : endpoint));
  };

  const loadLog = async (id, { older = false } = {}) => {
    const had = logs.get(id);
    const before = older ? had?.next : null;
    if (!older) logs.set(id, { id, status: had?.items ? 'ready' : 'loading', items: had?.items ?? [], next: had?.next ?? null });
    draw();
    try {
      const page = await listDeliveries(id, { before });
      if (!alive || !logs.has(id)) return;
      const items = older ? [...(had?.items ?? []), ...(page.data ?? [])] : page.data ?? [];
      logs.set(id, { id, status: 'ready', items, next: page.next ?? null });
    } catch (error) {
      if (!alive || !logs.has(id)) return;
      logs.set(id, { id, status: 'error', items: [], error: error.message });
    }
    draw();
  };

  (async () => {
    try {
      const answer = await listWebhooks();
      if (!alive) return;
      endpoints = answer;
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
    const data = button.dataset;
    const id = data.webhookEdit ?? data.webhookCancel ?? data.webhookDelete ?? data.webhookDeleteCancel
      ?? data.webhookDeleteConfirm ?? data.webhookTest ?? data.webhookLog ?? data.webhookToggle
      ?? data.webhookSecret ?? data.webhookCopy ?? data.webhookRefresh ?? data.webhookOlder;
    const endpoint = endpoints.find((e) => e.id === id);
    if (!id || !endpoint) return;
    if (data.webhookEdit) {
      editing = { id, url: endpoint.url, description: endpoint.description, events: endpoint.events };
      confirming = null;
      draw(`#${CSS.escape(`webhook-edit-${id}-url`)}`);
    } else if (data.webhookCancel) {
      editing = null;
      draw(selector('data-webhook-edit', id));
    } else if (data.webhookDelete) {
      confirming = id;
      editing = null;
      draw(selector('data-webhook-delete-confirm', id));
    } else if (data.webhookDeleteCancel) {
      confirming = null;
      draw(selector('data-webhook-delete', id));
    } else if (data.webhookDeleteConfirm) {
      button.disabled = true;
      try {
        await deleteWebhook(id);
        if (!alive) return;
        endpoints = endpoints.filter((e) => e.id !== id);
        logs.delete(id);
        confirming = null;
        announce('The endpoint was deleted');
        draw();
        element.querySelector('h2')?.setAttribute('tabindex', '-1');
        element.querySelector('h2')?.focus();
      } catch (error) {
        if (!alive) return;
        confirming = null;
        notes.set(id, `Could not delete it: ${error.message}`);
        draw(selector('data-webhook-delete', id));
      }
    } else if (data.webhookTest) {
      button.disabled = true;
      try {
        await sendTestEvent(id);
        if (!alive) return;
        notes.set(id, 'Test event queued: see Deliveries');
        // The delivery is made within a second or so: show it then.
        await loadLog(id);
        setTimeout(() => alive && logs.has(id) && loadLog(id), 1500);
      } catch (error) {
        if (!alive) return;
        notes.set(id, `Could not send it: ${error.message}`);
      }
      draw(selector('data-webhook-test', id));
    } else if (data.webhookLog) {
      if (logs.has(id)) {
        logs.delete(id);
        draw(selector('data-webhook-log', id));
      } else {
        await loadLog(id);
        list.querySelector(selector('data-webhook-log', id))?.focus();
      }
    } else if (data.webhookRefresh) {
      await loadLog(id);
      list.querySelector(selector('data-webhook-refresh', id))?.focus();
    } else if (data.webhookOlder) {
      await loadLog(id, { older: true });
    } else if (data.webhookToggle) {
      button.disabled = true;
      try {
        const saved = await updateWebhook(id, {
          url: endpoint.url, description: endpoint.description, events: endpoint.events, enabled: !endpoint.enabled,
        });
        if (!alive) return;
        replace(saved);
        notes.set(id, saved.enabled ? 'Enabled: events from now on are sent' : 'Disabled: nothing is sent');
      } catch (error) {
        if (!alive) return;
        notes.set(id, error.message);
      }
      draw(selector('data-webhook-toggle', id));
    } else if (data.webhookSecret) {
      if (secrets.has(id)) secrets.delete(id);
      else secrets.add(id);
      draw(selector('data-webhook-secret', id));
    } else if (data.webhookCopy) {
      const source = document.getElementById(`webhook-secret-${id}`);
      const ok = await copyText(endpoint.secret, source);
      render(button, html`${ok ? 'Copied' : 'Press Ctrl+C'}`);
      setTimeout(() => button.isConnected && render(button, html`Copy`), 2000);
    }
  });

  listen('keydown', (event) => {
    if (event.key !== 'Escape' || event.defaultPrevented) return;
    if (confirming) {
      event.preventDefault();
      const id = confirming;
      confirming = null;
      draw(selector('data-webhook-delete', id));
    } else if (editing && event.target.closest('form[data-form="webhook-edit"]')) {
      event.preventDefault();
      const { id } = editing;
      editing = null;
      draw(selector('data-webhook-edit', id));
    }
  });

  listen('submit', async (event) => {
    const form = event.target;
    const kind = form.dataset.form;
    if (kind !== 'webhook-new' && kind !== 'webhook-edit') return;
    event.preventDefault();
    const id = kind === 'webhook-edit' ? form.dataset.webhookId : null;
    const current = id ? endpoints.find((e) => e.id === id) : null;
    const { body, errors } = webhookRequest(formDraft(form), { enabled: current ? current.enabled : true });
    if (errors.length) {
      showFieldErrors(form, errors);
      return;
    }
    clearErrors(form);
    try {
      const saved = await whileBusy(form, () => (id ? updateWebhook(id, body) : createWebhook(body)));
      if (!alive) return;
      if (id) {
        replace(saved);
        editing = null;
        announce('Saved the endpoint');
        draw(selector('data-webhook-edit', id));
      } else {
        endpoints = [...endpoints, saved];
        secrets.add(saved.id);
        render(form.querySelector('[data-region="webhook-new-fields"]'), endpointFields('webhooks-new'));
        draw();
        const note = form.querySelector('[data-saved]');
        render(note, html`Added: copy its signing secret above`);
        setTimeout(() => note.isConnected && render(note, html``), 4000);
        list.querySelector(selector('data-webhook-copy', saved.id))?.focus();
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
