// `#/bulk-sends`: the workspace's bulk sends, newest first; and
// `#/bulk-sends/{id}`: one send's progress, read again every second while
// it is sending (no longer once it is done or cancelled, or the page is
// left), with its counts and a Cancel button.

import { html, render } from '../../shared/html.js';
import { plainText } from '../../shared/markdown.js';
import { listBulkSends, getBulkSend, cancelBulkSend } from '../data/bulk-sends.js';
import { state, subscribe, agentName } from '../data/store.js';
import { relativeTime, fullTime } from '../ui/time.js';
import { canBulkSend, bulkProgress, isSending, BULK_STATUS_LABELS, bodyExcerpt } from './bulk-sends.js';

const POLL_MS = 1000;
const NUMBER = new Intl.NumberFormat('en');

function statusBadge(send) {
  return html`<span class="status-badge bulk-status-${send.status}" data-testid="bulk-status" data-status="${send.status}">${
    BULK_STATUS_LABELS[send.status] ?? send.status}</span>`;
}

function backLinks() {
  return html`<p class="breadcrumbs"><a href="#/people">← People</a></p>`;
}

export function mountBulkSendsView(element) {
  let alive = true;
  // Listeners on the shared view element go when the view does.
  const listening = new AbortController();
  const listen = (type, fn) => element.addEventListener(type, fn, { signal: listening.signal });
  let sends = [];
  let nextCursor = null;
  let loading = false;
  render(element, html`
    <main id="main" class="page bulk-page" tabindex="-1" data-testid="bulk-sends-view">
      ${backLinks()}
      <h1>Bulk sends</h1>
      <div data-region="list"><p role="status">Loading…</p></div>
    </main>`);
  const list = element.querySelector('[data-region="list"]');

  const draw = (error = '') => {
    if (!sends.length) {
      render(list, error ? html`<p class="form-error" role="alert">${error}</p>`
        : html`<p class="muted" data-testid="bulk-sends-empty">No bulk sends yet. Choose people on the
          <a href="#/people">People</a> page and send them a message.</p>`);
      return;
    }
    render(list, html`
      <table class="data-table" data-testid="bulk-sends-table">
        <caption class="visually-hidden">Bulk sends, newest first</caption>
        <thead><tr>
          <th scope="col">Message</th><th scope="col">Status</th><th scope="col">Sent</th>
          <th scope="col">From</th><th scope="col">Created</th>
        </tr></thead>
        <tbody>
          ${sends.map((send) => {
            const progress = bulkProgress(send);
            return html`<tr data-testid="bulk-send-row" data-bulk-send-id="${send.id}">
              <td><a href="${`#/bulk-sends/${encodeURIComponent(send.id)}`}">${bodyExcerpt(plainText(send.body)) || 'Bulk send'}</a></td>
              <td>${statusBadge(send)}</td>
              <td class="numeric">${NUMBER.format(progress.sent)} / ${NUMBER.format(progress.total)}</td>
              <td>${agentName(send.from_agent_id) ?? '—'}</td>
              <td><time datetime="${send.created_at}" title="${fullTime(send.created_at)}">${relativeTime(send.created_at)}</time></td>
            </tr>`;
          })}
        </tbody>
      </table>
      ${error ? html`<p class="form-error" role="alert">${error}</p>` : ''}
      ${nextCursor ? html`<button type="button" class="button ghost small wide" data-action="more"
        ${loading ? html`disabled` : ''}>Load more</button>` : ''}`);
  };

  const load = async (more = false) => {
    if (loading) return;
    loading = true;
    try {
      const page = await listBulkSends(more ? nextCursor : null);
      if (!alive) return;
      sends = more ? [...sends, ...page.sends] : page.sends;
      nextCursor = page.nextCursor;
      loading = false;
      draw();
    } catch (error) {
      loading = false;
      if (alive) draw(error.message);
    }
  };

  listen('click', (event) => {
    if (event.target.closest('[data-action="more"]')) load(true);
  });
  const off = subscribe('agents', () => draw());
  element.querySelector('main').focus();
  load();
  return () => {
    alive = false;
    listening.abort();
    off();
  };
}

export function mountBulkSendView(element, id) {
  let alive = true;
  // Listeners on the shared view element go when the view does.
  const listening = new AbortController();
  const listen = (type, fn) => element.addEventListener(type, fn, { signal: listening.signal });
  let send = null;
  let pollTimer = null;
  let confirmingCancel = false;
  let cancelError = '';
  render(element, html`
    <main id="main" class="page bulk-page" tabindex="-1" data-testid="bulk-send-view">
      <p class="breadcrumbs"><a href="#/people">← People</a> · <a href="#/bulk-sends">All bulk sends</a></p>
      <div data-region="send"><p role="status">Loading…</p></div>
    </main>`);
  const region = element.querySelector('[data-region="send"]');

  const count = (label, value, testid) => html`<div class="stat" data-testid="${testid}">
    <dt>${label}</dt><dd>${value == null ? html`<span class="muted" title="Counted when the send ends">—</span>` : NUMBER.format(value)}</dd></div>`;

  const draw = () => {
    const progress = bulkProgress(send);
    const sending = isSending(send);
    const allowed = canBulkSend(state.me, state.workspace);
    const focusedAction = document.activeElement?.closest?.('[data-region="send"] [data-action]')?.dataset.action;
    render(region, html`
      <div class="page-head">
        <h1>Bulk send</h1>
        ${statusBadge(send)}
      </div>
      <section class="card" aria-labelledby="bulk-progress-label">
        <div class="progress-head">
          <span id="bulk-progress-label">${sending ? 'Sending…' : send.status === 'cancelled' ? 'Stopped' : 'Finished'}</span>
          <span class="muted" data-testid="bulk-progress-text">${NUMBER.format(progress.settled)} of ${NUMBER.format(progress.total)}</span>
        </div>
        <progress class="bulk-progress" max="${progress.total || 1}" value="${progress.total ? progress.settled : 1}"
          aria-labelledby="bulk-progress-label" data-testid="bulk-progress"></progress>
        <dl class="stats">
          ${count('Sent', progress.sent, 'bulk-sent')}
          ${count('Failed', progress.failed, 'bulk-failed')}
          ${count('Pending', progress.pending, 'bulk-pending')}
          ${count('Read', progress.read, 'bulk-read')}
          ${count('Replied', progress.replied, 'bulk-replied')}
        </dl>
        ${sending && allowed ? (confirmingCancel ? html`
          <div class="cancel-confirm" role="group" aria-label="Stop this send?">
            <p>Stop sending? The ${NUMBER.format(progress.pending)} people not reached yet will not get it.</p>
            <button type="button" class="button small danger" data-action="cancel-confirm" data-testid="bulk-cancel-confirm">Stop sending</button>
            <button type="button" class="button ghost small" data-action="cancel-keep">Keep sending</button>
          </div>` : html`<button type="button" class="button small" data-action="cancel" data-testid="bulk-cancel-send">Cancel send</button>`) : ''}
        ${cancelError ? html`<p class="form-error" role="alert">${cancelError}</p>` : ''}
      </section>
      <section class="card" aria-labelledby="bulk-message">
        <h2 id="bulk-message">Message</h2>
        <p class="muted small">From ${agentName(send.from_agent_id) ?? '—'} · created
          <time datetime="${send.created_at}" title="${fullTime(send.created_at)}">${relativeTime(send.created_at)}</time>
          ${send.email_fallback === false ? ' · not emailed' : send.email_fallback ? ' · emailed if unread' : ''}</p>
        <pre class="template-body" data-testid="bulk-body-text">${send.body}</pre>
      </section>`);
    // Keep the keyboard where it was across the redraw each second.
    if (focusedAction) {
      const again = region.querySelector(`[data-action="${focusedAction}"]`)
        ?? region.querySelector('[data-action="cancel"], [data-action="cancel-confirm"]');
      again?.focus();
    }
  };

  const poll = async () => {
    pollTimer = null;
    try {
      const fresh = await getBulkSend(id);
      if (!alive) return;
      send = fresh;
      draw();
    } catch (error) {
      if (!alive) return;
      if (!send) {
        render(region, html`<p class="form-error" role="alert">${error.status === 404 ? 'No such bulk send.' : error.message}</p>`);
        return;
      }
      // A missed read while sending: try again at the next tick.
    }
    if (alive && isSending(send)) pollTimer = setTimeout(poll, POLL_MS);
  };

  listen('click', async (event) => {
    const action = event.target.closest('[data-action]')?.dataset.action;
    if (!action || !send) return;
    if (action === 'cancel') {
      confirmingCancel = true;
      draw();
      region.querySelector('[data-action="cancel-keep"]')?.focus();
    } else if (action === 'cancel-keep') {
      confirmingCancel = false;
      draw();
      region.querySelector('[data-action="cancel"]')?.focus();
    } else if (action === 'cancel-confirm') {
      event.target.closest('button').disabled = true;
      try {
        const cancelled = await cancelBulkSend(id);
        if (!alive) return;
        if (cancelled?.id) send = cancelled;
        else send = { ...send, status: 'cancelled' };
        cancelError = '';
      } catch (error) {
        if (!alive) return;
        cancelError = error.status === 403 ? 'Only owners and admins can cancel bulk sends in this workspace.' : error.message;
      }
      confirmingCancel = false;
      draw();
      element.querySelector('main').focus();
    }
  });

  const off = subscribe('agents', () => send && draw());
  element.querySelector('main').focus();
  poll();
  return () => {
    alive = false;
    listening.abort();
    clearTimeout(pollTimer);
    off();
  };
}
