// Settings > Team: the members with their role and presence, removing one
// (owners and admins; never the owner, never yourself) after a
// confirmation, and adding one.
//
//   const destroy = mountTeamSection(element, { manage });

import { html, render } from '../../shared/html.js';
import { addMember, removeMember } from '../data/settings.js';
import { field, formError, formValues, showProblem, clearErrors, whileBusy } from '../ui/forms.js';
import { state, loadAgents, sortedAgents, subscribe, announce } from '../data/store.js';
import { avatar } from '../ui/avatar.js';
import { canRemove } from './roles.js';

const ROLES = [['agent', 'Agent'], ['admin', 'Admin']];

function memberRow(agent, confirming, error) {
  const removable = canRemove(state.me, agent);
  return html`<li data-testid="team-member" data-agent-id="${agent.id}">
    <div class="team-row">
      ${avatar({ name: agent.name, seed: agent.id, presence: agent.presence ?? 'offline', size: 'sm' })}
      <span class="team-name">${agent.name}${agent.id === state.me?.id ? ' (you)' : ''}</span>
      <span class="team-email muted">${agent.email}</span>
      <span class="role-chip">${agent.role}</span>
      <span class="muted small">${agent.presence ?? 'offline'}</span>
      <span class="team-actions">${removable && !confirming ? html`
        <button type="button" class="button ghost small" data-remove="${agent.id}"
          aria-label="${`Remove ${agent.name}`}" data-testid="member-remove">Remove</button>` : ''}</span>
    </div>
    ${confirming ? html`
      <div class="danger-confirm" role="alertdialog" aria-labelledby="${`remove-title-${agent.id}`}"
        data-testid="member-remove-confirm">
        <p id="${`remove-title-${agent.id}`}"><strong>Remove ${agent.name} from the team?</strong>
          Their sign-ins and API tokens stop working at once, and their conversations become unassigned.
          Their messages keep their name.</p>
        <div class="form-actions">
          <button type="button" class="button small danger" data-remove-confirm="${agent.id}"
            data-testid="member-remove-confirm-button">Remove ${agent.name}</button>
          <button type="button" class="button ghost small" data-remove-cancel="${agent.id}">Cancel</button>
        </div>
      </div>` : ''}
    ${error ? html`<p class="form-error" role="alert">${error}</p>` : ''}
  </li>`;
}

export function mountTeamSection(element, { manage }) {
  let confirming = null; // agent id asking "Remove?"
  let failure = null; // {id, message}
  const listening = new AbortController();
  const listen = (type, fn) => element.addEventListener(type, fn, { signal: listening.signal });

  render(element, html`
    <section class="card" aria-labelledby="s-team">
      <h2 id="s-team">Team</h2>
      <div data-region="team"></div>
      ${manage ? html`
        <h3>Add a member</h3>
        <form data-form="member" class="member-form" novalidate>
          ${formError()}
          <div class="field-row">
            ${field({ form: 'member', name: 'name', label: 'Name', testid: 'member-name' })}
            ${field({ form: 'member', name: 'email', label: 'Email', type: 'email', testid: 'member-email' })}
          </div>
          <div class="field-row">
            <div class="field">
              <label for="member-role">Role</label>
              <select id="member-role" name="role" data-testid="member-role">
                ${ROLES.map(([value, label]) => html`<option value="${value}">${label}</option>`)}
              </select>
              <p class="field-error" data-error-for="role"></p>
            </div>
            ${field({ form: 'member', name: 'password', label: 'First password', type: 'password',
              autocomplete: 'new-password', minlength: 8, hint: 'At least 8 characters; share it with them privately.', testid: 'member-password' })}
          </div>
          <div class="form-actions">
            <button type="submit" class="button primary small" data-testid="member-submit">Add member</button>
            <span class="saved-note" role="status" data-saved></span>
          </div>
        </form>` : ''}
    </section>`);

  const list = element.querySelector('[data-region="team"]');
  const draw = (focus = null) => {
    render(list, html`<ul class="team-list" data-testid="team-list">
      ${sortedAgents().map((agent) => memberRow(agent, confirming === agent.id,
        failure?.id === agent.id ? failure.message : null))}
    </ul>`);
    if (focus) list.querySelector(focus)?.focus();
  };

  listen('click', async (event) => {
    const button = event.target.closest('button');
    if (!button) return;
    if (button.dataset.remove) {
      confirming = button.dataset.remove;
      failure = null;
      draw(`[data-remove-confirm="${CSS.escape(confirming)}"]`);
    } else if (button.dataset.removeCancel) {
      const id = button.dataset.removeCancel;
      confirming = null;
      draw(`[data-remove="${CSS.escape(id)}"]`);
    } else if (button.dataset.removeConfirm) {
      const id = button.dataset.removeConfirm;
      const name = state.agents.get(id)?.name ?? 'The member';
      button.disabled = true;
      try {
        await removeMember(id);
        confirming = null;
        announce(`${name} was removed from the team`);
        await loadAgents();
        draw();
        element.querySelector('h2').setAttribute('tabindex', '-1');
        element.querySelector('h2').focus();
      } catch (error) {
        confirming = null;
        failure = { id, message: error.message };
        draw(`[data-remove="${CSS.escape(id)}"]`);
      }
    }
  });

  listen('keydown', (event) => {
    if (event.key !== 'Escape' || !confirming) return;
    event.preventDefault();
    const id = confirming;
    confirming = null;
    draw(`[data-remove="${CSS.escape(id)}"]`);
  });

  listen('submit', async (event) => {
    const form = event.target;
    if (form.dataset.form !== 'member') return;
    event.preventDefault();
    const values = formValues(form);
    clearErrors(form);
    try {
      await whileBusy(form, () => addMember({
        name: values.name.trim(), email: values.email.trim(), role: values.role, password: values.password,
      }));
      form.reset();
      const note = form.querySelector('[data-saved]');
      render(note, html`Added`);
      setTimeout(() => render(note, html``), 2500);
      await loadAgents();
    } catch (error) {
      showProblem(form, error);
    }
  });

  const off = subscribe('agents', () => draw());
  draw();
  return () => {
    listening.abort();
    off();
  };
}
