// Settings > Teams: the workspace's teams with their members' names;
// owners and admins create one (a name and member checkboxes), rename it
// or change its members in place, and delete it after a confirmation.
// Everything works from the keyboard: Esc leaves an edit or a
// confirmation, and focus goes back to the button that opened it.
//
//   const destroy = mountTeamsSection(element, { manage });

import { html, render } from '../../shared/html.js';
import { listTeams, createTeam, updateTeam, deleteTeam } from '../data/teams.js';
import { formError, showProblem, showFieldErrors, clearErrors, whileBusy } from '../ui/forms.js';
import { state, sortedAgents, subscribe, announce } from '../data/store.js';
import { teamRequest, teamProblem, membersText, canAddTeam, MAX_NAME, MAX_TEAMS } from './teams.js';

/** The name and member checkboxes of a form; `prefix` keeps ids apart. */
function teamFields(prefix, { name = '', members = [] } = {}) {
  const checked = new Set(members);
  const agents = sortedAgents();
  return html`
    <div class="field">
      <label for="${`${prefix}-name`}">Team name</label>
      <input id="${`${prefix}-name`}" name="name" value="${name}" autocomplete="off" required maxlength="${MAX_NAME}"
        aria-describedby="${`${prefix}-name-error`}" data-testid="${`${prefix}-name`}">
      <p class="field-error" id="${`${prefix}-name-error`}" data-error-for="name"></p>
    </div>
    <fieldset class="team-members">
      <legend>Members</legend>
      ${agents.length ? html`<ul class="check-list">${agents.map((agent) => html`<li>
        <label class="check"><input type="checkbox" name="members" value="${agent.id}"
          aria-describedby="${`${prefix}-members-error`}" data-testid="${`${prefix}-member`}"
          ${checked.has(agent.id) ? html`checked` : ''}>
          ${agent.name}${agent.id === state.me?.id ? ' (you)' : ''}</label></li>`)}</ul>`
        : html`<p class="muted">No teammates to add yet.</p>`}
      <p class="field-error" id="${`${prefix}-members-error`}" data-error-for="members"></p>
    </fieldset>`;
}

/** What a team form holds now. */
function formDraft(form) {
  return {
    name: form.elements.name?.value ?? '',
    members: [...form.querySelectorAll('input[name="members"]:checked')].map((input) => input.value),
  };
}

function teamItem(team, { manage, editing, confirming, error }) {
  const id = team.id;
  if (editing) {
    return html`<li data-testid="teams-item" data-team-id="${id}">
      <form data-form="team-edit" data-team-id="${id}" class="team-form" novalidate aria-label="${`Edit the team ${team.name}`}">
        ${formError()}
        ${teamFields(`team-edit-${id}`, editing)}
        <div class="form-actions">
          <button type="submit" class="button primary small" data-testid="teams-save">Save team</button>
          <button type="button" class="button ghost small" data-team-cancel="${id}" data-testid="teams-cancel">Cancel</button>
        </div>
      </form>
    </li>`;
  }
  return html`<li data-testid="teams-item" data-team-id="${id}">
    <div class="teams-row">
      <span class="team-name" data-testid="teams-item-name">${team.name}</span>
      <span class="muted" data-testid="teams-item-members">${membersText(team, state.agents)}</span>
      ${manage && !confirming ? html`<span class="team-actions">
        <button type="button" class="button ghost small" data-team-edit="${id}"
          aria-label="${`Edit the team ${team.name}`}" data-testid="teams-edit">Edit</button>
        <button type="button" class="button ghost small" data-team-delete="${id}"
          aria-label="${`Delete the team ${team.name}`}" data-testid="teams-delete">Delete</button></span>` : ''}
    </div>
    ${confirming ? html`
      <div class="danger-confirm" role="alertdialog" aria-labelledby="${`team-delete-title-${id}`}"
        data-testid="teams-delete-confirm">
        <p id="${`team-delete-title-${id}`}"><strong>Delete the team ${team.name}?</strong>
          Its members stay in the workspace. A run that reaches an automation step naming this team fails there.</p>
        <div class="form-actions">
          <button type="button" class="button small danger" data-team-delete-confirm="${id}"
            data-testid="teams-delete-confirm-button">Delete ${team.name}</button>
          <button type="button" class="button ghost small" data-team-delete-cancel="${id}">Cancel</button>
        </div>
      </div>` : ''}
    ${error ? html`<p class="form-error" role="alert">${error}</p>` : ''}
  </li>`;
}

export function mountTeamsSection(element, { manage }) {
  let alive = true;
  const listening = new AbortController();
  const listen = (type, fn) => element.addEventListener(type, fn, { signal: listening.signal });
  let teams = [];
  let status = 'loading'; // loading | ready | error
  let loadError = '';
  let editing = null; // {id, name, members}: the team being edited, as its form last held it
  let confirming = null; // id of the team asking "Delete?"
  let failure = null; // {id, message}

  render(element, html`
    <section class="card" aria-labelledby="s-teams" data-testid="teams-section">
      <h2 id="s-teams">Teams</h2>
      <p>Automations can hand a conversation to a team (round robin among its available members)
        and ask whether a team has someone available.</p>
      <div data-region="teams"><p role="status">Loading teams…</p></div>
      ${manage ? html`
        <h3 id="teams-new-title">New team</h3>
        <form data-form="team-new" class="team-form" novalidate aria-labelledby="teams-new-title">
          ${formError()}
          <div data-region="team-new-fields">${teamFields('teams-new')}</div>
          <div class="form-actions">
            <button type="submit" class="button primary small" data-testid="teams-create">Create team</button>
            <span class="saved-note" role="status" data-saved></span>
          </div>
        </form>` : ''}
    </section>`);
  const list = element.querySelector('[data-region="teams"]');
  const newForm = element.querySelector('form[data-form="team-new"]');

  const draw = (focus = null) => {
    // An edit in progress keeps what was typed.
    const editForm = list.querySelector('form[data-form="team-edit"]');
    if (editing && editForm) editing = { ...editing, ...formDraft(editForm) };
    if (status === 'loading') return;
    if (status === 'error') {
      render(list, html`<p class="form-error" role="alert">Could not load the teams: ${loadError}</p>`);
      return;
    }
    render(list, teams.length ? html`<ul class="teams-list" data-testid="teams-list">
      ${teams.map((team) => teamItem(team, {
        manage,
        editing: editing?.id === team.id ? editing : null,
        confirming: confirming === team.id,
        error: failure?.id === team.id ? failure.message : null,
      }))}</ul>` : html`<p class="muted" data-testid="teams-empty">No teams yet.</p>`);
    if (focus) list.querySelector(focus)?.focus();
  };

  // The new team's checkboxes follow the teammates, keeping what is checked.
  const drawNewMembers = () => {
    if (!newForm) return;
    const slot = newForm.querySelector('[data-region="team-new-fields"]');
    render(slot, teamFields('teams-new', formDraft(newForm)));
  };

  const byId = (id) => teams.find((team) => team.id === id);
  const sortTeams = (list2) => list2.slice().sort((a, b) => a.name.localeCompare(b.name));
  const heading = () => {
    const h2 = element.querySelector('h2');
    h2.setAttribute('tabindex', '-1');
    h2.focus();
  };

  const load = async () => {
    try {
      const answer = await listTeams();
      if (!alive) return;
      teams = answer;
      status = 'ready';
    } catch (error) {
      if (!alive) return;
      status = 'error';
      loadError = error.message;
    }
    draw();
  };

  const selector = (attr, id) => `[${attr}="${CSS.escape(id)}"]`;

  listen('click', async (event) => {
    const button = event.target.closest('button');
    if (!button) return;
    const { teamEdit, teamCancel, teamDelete, teamDeleteCancel, teamDeleteConfirm } = button.dataset;
    if (teamEdit) {
      const team = byId(teamEdit);
      if (!team) return;
      editing = { id: team.id, name: team.name, members: team.members };
      confirming = null;
      failure = null;
      draw(`#${CSS.escape(`team-edit-${team.id}-name`)}`);
    } else if (teamCancel) {
      editing = null;
      draw(selector('data-team-edit', teamCancel));
    } else if (teamDelete) {
      confirming = teamDelete;
      editing = null;
      failure = null;
      draw(selector('data-team-delete-confirm', teamDelete));
    } else if (teamDeleteCancel) {
      confirming = null;
      draw(selector('data-team-delete', teamDeleteCancel));
    } else if (teamDeleteConfirm) {
      const id = teamDeleteConfirm;
      const name = byId(id)?.name ?? 'The team';
      button.disabled = true;
      try {
        await deleteTeam(id);
        if (!alive) return;
        confirming = null;
        teams = teams.filter((team) => team.id !== id);
        announce(`${name} was deleted`);
        draw();
        heading();
      } catch (error) {
        if (!alive) return;
        confirming = null;
        failure = { id, message: error.message };
        draw(selector('data-team-delete', id));
      }
    }
  });

  listen('keydown', (event) => {
    if (event.key !== 'Escape' || event.defaultPrevented) return;
    if (confirming) {
      event.preventDefault();
      const id = confirming;
      confirming = null;
      draw(selector('data-team-delete', id));
    } else if (editing && event.target.closest('form[data-form="team-edit"]')) {
      event.preventDefault();
      const { id } = editing;
      editing = null;
      draw(selector('data-team-edit', id));
    }
  });

  listen('submit', async (event) => {
    const form = event.target;
    const kind = form.dataset.form;
    if (kind !== 'team-new' && kind !== 'team-edit') return;
    event.preventDefault();
    const id = kind === 'team-edit' ? form.dataset.teamId : null;
    if (!id && !canAddTeam(teams)) {
      showProblem(form, { message: `A workspace has at most ${MAX_TEAMS} teams.` });
      return;
    }
    const draft = formDraft(form);
    // Teammates not loaded (yet): a rename keeps the members as they are.
    if (id && !state.agents.size) draft.members = byId(id)?.members ?? [];
    const { body, errors } = teamRequest(draft, { teams, id });
    if (errors.length) {
      showFieldErrors(form, errors);
      return;
    }
    clearErrors(form);
    try {
      const saved = await whileBusy(form, () => (id ? updateTeam(id, body) : createTeam(body)));
      if (!alive) return;
      teams = sortTeams([...teams.filter((team) => team.id !== saved.id), saved]);
      if (id) {
        editing = null;
        announce(`Saved the team ${saved.name}`);
        draw(selector('data-team-edit', saved.id));
      } else {
        render(form.querySelector('[data-region="team-new-fields"]'), teamFields('teams-new'));
        draw();
        const note = form.querySelector('[data-saved]');
        render(note, html`Created ${saved.name}`);
        setTimeout(() => note.isConnected && render(note, html``), 2500);
        form.elements.name.focus();
      }
    } catch (error) {
      if (alive) showProblem(form, teamProblem(error));
    }
  });

  const off = subscribe('agents', () => {
    draw();
    drawNewMembers();
  });
  load();

  return () => {
    alive = false;
    listening.abort();
    off();
  };
}
