// The open conversation's header: who, its status, the triage actions
// (Assign, Snooze, Close / Reopen), and under them its tags (tag-editor.js).

import { html, render } from '../../shared/html.js';
import { renderKeepingFocus } from '../ui/focus.js';
import { state, subscribe, sortedAgents, contactName } from '../data/store.js';
import {
  selectedDetail, assign, closeConversation, reopenConversation, snoozeConversation,
} from '../data/conversations.js';
import { fullTime, messageTime, snoozeUntil } from '../ui/time.js';
import { mountTagEditor } from './tag-editor.js';

const SNOOZES = [['hour', '1 hour'], ['tomorrow', 'Tomorrow 9:00'], ['week', 'Next week']];

function statusBadge(conversation) {
  if (conversation.status === 'snoozed') {
    return html`<span class="status-badge status-snoozed" data-testid="status-badge">Snoozed${conversation.snoozed_until
      ? html` until <time datetime="${conversation.snoozed_until}" title="${fullTime(conversation.snoozed_until)}">${
        messageTime(conversation.snoozed_until)}</time>` : ''}</span>`;
  }
  return html`<span class="status-badge status-${conversation.status}" data-testid="status-badge">${
    conversation.status === 'closed' ? 'Closed' : 'Open'}</span>`;
}

function assigneeOptions(conversation) {
  const agents = sortedAgents();
  const current = conversation.assignee_id ?? '';
  const known = !current || agents.some((a) => a.id === current);
  return html`
    <option value="" ${current === '' ? html`selected` : ''}>Unassigned</option>
    ${agents.map((agent) => html`<option value="${agent.id}" ${agent.id === current ? html`selected` : ''}>${
      agent.id === state.me?.id ? `${agent.name} (you)` : agent.name}${
      agent.presence && agent.presence !== 'offline' ? ` · ${agent.presence}` : ''}</option>`)}
    ${known ? '' : html`<option value="${current}" selected>A former teammate</option>`}`;
}

export function mountThreadHeader(element) {
  let errorText = '';
  let busy = false;
  let shownId = null;

  // The tags have a region of their own: redrawing the rest leaves what is typed there alone.
  render(element, html`
    <div class="thread-header-main" data-region="main"></div>
    <div class="thread-tags" data-region="tags"></div>`);
  const main = element.querySelector('[data-region="main"]');
  const tagEditor = mountTagEditor(element.querySelector('[data-region="tags"]'));

  const draw = () => {
    const detail = selectedDetail();
    element.classList.toggle('is-blank', !detail);
    if (!detail) {
      renderKeepingFocus(main, html``);
      return;
    }
    if (detail.id !== shownId) {
      shownId = detail.id;
      errorText = '';
    }
    const open = detail.status === 'open';
    renderKeepingFocus(main, html`
      <div class="thread-title">
        <h2 id="thread-title">${contactName(detail.contact)}</h2>
        ${statusBadge(detail)}
      </div>
      <div class="thread-actions" ${busy ? html`aria-busy="true"` : ''}>
        <label class="compact-field">
          <span class="field-label-inline">Assignee</span>
          <select data-action="assign" data-focus-key="assign" data-testid="assign-select">${assigneeOptions(detail)}</select>
        </label>
        <label class="compact-field">
          <span class="visually-hidden">Snooze</span>
          <select data-action="snooze" data-focus-key="snooze" data-testid="snooze-select" aria-label="Snooze">
            <option value="" selected>Snooze…</option>
            ${SNOOZES.map(([value, label]) => html`<option value="${value}">${label}</option>`)}
          </select>
        </label>
        ${open
          ? html`<button type="button" class="button small" data-action="close" data-focus-key="status"
              data-testid="close-button">Close</button>`
          : html`<button type="button" class="button small" data-action="reopen" data-focus-key="status"
              data-testid="reopen-button">Reopen</button>`}
      </div>
      ${errorText ? html`<p class="form-error action-error" role="alert">${errorText}</p>` : ''}`);
  };

  const run = async (work) => {
    const id = state.selectedId;
    if (!id || busy) return;
    busy = true;
    errorText = '';
    try {
      await work(id);
    } catch (error) {
      errorText = error.message;
    } finally {
      busy = false;
      draw();
    }
  };

  main.addEventListener('change', (event) => {
    const action = event.target.dataset.action;
    const value = event.target.value;
    if (action === 'assign') run((id) => assign(id, value));
    if (action === 'snooze' && value) run((id) => snoozeConversation(id, snoozeUntil(value)));
  });
  main.addEventListener('click', (event) => {
    const action = event.target.closest('button')?.dataset.action;
    if (action === 'close') run(closeConversation);
    if (action === 'reopen') run(reopenConversation);
  });

  const offs = [subscribe('detail', draw), subscribe('agents', draw)];
  draw();
  return () => {
    offs.forEach((off) => off());
    tagEditor.destroy();
  };
}
