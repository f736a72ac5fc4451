// `#/automations/{id}`: one automation's editor. The name, status and
// actions (Save draft, Publish…, Pause / Resume, Export, Delete) on top;
// then three tabs: the Flow (a palette of steps, the drawing of
// flow-canvas.js with each step's numbers, and the selected step's form,
// node-form.js), When & who (settings-form.js) and Runs (runs-panel.js).
// The draft is checked as it is edited: publishing stays disabled, saying
// why, while a step cannot be reached or an exit leads nowhere. An
// unsaved draft outlives a visit elsewhere in the Inbox (not a reload).

import { html, render } from '../../shared/html.js';
import { renderKeepingFocus } from '../ui/focus.js';
import {
  getAutomation, saveAutomation, publishAutomation, pauseAutomation, resumeAutomation, getStats, deleteAutomation,
  exportAutomation,
} from '../data/automations.js';
import { state, sortedAgents, agentName, announce } from '../data/store.js';
import { loadPeopleSchema } from '../data/people.js';
import { listTeams } from '../data/teams.js';
import { NODE_TYPES, PALETTE_GROUPS } from './definition.js';
import { statVersions, count, goalRate } from './stats.js';
import { createEditor } from './editor-state.js';
import { mountFlowCanvas } from './flow-canvas.js';
import { mountNodeForm } from './node-form.js';
import { mountSettingsForm } from './settings-form.js';
import { mountRunsPanel } from './runs-panel.js';
import { openPublishDialog } from './publish-dialog.js';
import { statusBadge, downloadJson } from './automation-bits.js';

const unsaved = new Map(); // automation id -> {name, draft}, kept while the Inbox stays loaded
const TABS = [['flow', 'Flow'], ['settings', 'When & who'], ['runs', 'Runs']];

export function mountAutomationView(element, id) {
  let alive = true;
  const listening = new AbortController();
  const listen = (type, fn, target = element) => target.addEventListener(type, fn, { signal: listening.signal });
  let editor = null;
  let canvas = null;
  let nodeForm = null;
  let settingsForm = null;
  let destroyRuns = null;
  let tab = 'flow';
  let note = '';
  let confirmingDelete = false;
  let teams = null; // [{id, name, members}] once loaded; assign, handover and team_available name them
  const teamsLoading = listTeams().catch((error) => {
    console.warn('teams:', error.message);
    return null;
  });
  const teamName = (teamId) => teams?.find((team) => team.id === teamId)?.name ?? null;

  render(element, html`<main id="main" class="page wide-page automation-page" tabindex="-1" data-testid="automation-view">
    <p class="breadcrumbs"><a href="#/automations">← Automations</a></p><p role="status">Loading…</p></main>`);
  const main = element.querySelector('main');

  const layout = () => html`
    <p class="breadcrumbs"><a href="#/automations">← Automations</a></p>
    <div class="page-head automation-head">
      <label class="visually-hidden" for="automation-name">Name</label>
      <input id="automation-name" class="title-input" name="name" value="${editor.name}" autocomplete="off"
        aria-describedby="automation-name-error" data-testid="automation-name">
      <span data-region="badges"></span>
      <span class="top-spacer"></span>
      <div class="automation-actions" data-region="actions"></div>
    </div>
    <p class="field-error" id="automation-name-error" data-error-for="name"></p>
    <p class="automation-note" role="status" data-region="note"></p>
    <div class="tabs" role="tablist" aria-label="Automation">
      ${TABS.map(([name, label]) => html`<button type="button" role="tab" class="tab" id="${`auto-tab-${name}`}"
        aria-controls="${`auto-panel-${name}`}" aria-selected="${name === tab ? 'true' : 'false'}" tabindex="${name === tab ? '0' : '-1'}"
        data-tab="${name}" data-testid="${`automation-tab-${name}`}">${label}</button>`)}
    </div>
    <section class="tab-panel flow-panel" role="tabpanel" id="auto-panel-flow" aria-labelledby="auto-tab-flow">
      <div class="flow-layout">
        <nav class="flow-palette" aria-label="Add a step" data-testid="flow-palette">
          ${PALETTE_GROUPS.map((group) => html`<h3>${group}</h3>
            ${Object.entries(NODE_TYPES).filter(([, spec]) => spec.group === group).map(([type, spec]) => html`
              <button type="button" class="palette-item" data-add="${type}" data-testid="${`palette-${type}`}">+ ${spec.label}</button>`)}`)}
        </nav>
        <div class="flow-main">
          <div class="flow-stats" data-region="stats"></div>
          <div data-region="canvas"></div>
        </div>
        <aside class="flow-side" data-region="node-form" aria-label="Selected step"></aside>
      </div>
    </section>
    <section class="tab-panel" role="tabpanel" id="auto-panel-settings" aria-labelledby="auto-tab-settings" data-region="settings" hidden></section>
    <section class="tab-panel" role="tabpanel" id="auto-panel-runs" aria-labelledby="auto-tab-runs" data-region="runs" hidden></section>`;

  const region = (name) => main.querySelector(`[data-region="${name}"]`);

  const drawActions = () => {
    const { automation, checks } = editor;
    const dirty = editor.dirty;
    const reason = checks.publishable ? '' : checks.reason;
    render(region('badges'), html`${statusBadge(automation.status)}
      ${automation.live_version != null ? html`<span class="muted small">v${automation.live_version}</span>` : ''}
      ${dirty ? html`<span class="status-badge is-unsaved" data-testid="automation-unsaved">Unsaved</span>`
        : automation.draft_changed ? html`<span class="status-badge" data-testid="automation-unpublished">Unpublished changes</span>` : ''}`);
    const focused = document.activeElement?.dataset?.action;
    render(region('actions'), html`
      <button type="button" class="button small ${dirty ? 'primary' : ''}" data-action="save" data-testid="automation-save">Save draft</button>
      <button type="button" class="button small" data-action="publish" data-testid="automation-publish"
        ${reason ? html`aria-disabled="true" aria-describedby="automation-publish-reason"` : ''}>Publish…</button>
      ${automation.status === 'live' ? html`<button type="button" class="button small" data-action="pause" data-testid="automation-pause">Pause</button>` : ''}
      ${automation.status === 'paused' ? html`<button type="button" class="button small" data-action="resume" data-testid="automation-resume">Resume</button>` : ''}
      <button type="button" class="button ghost small" data-action="export" data-testid="automation-export">Export</button>
      ${confirmingDelete ? html`<span class="danger-inline" role="group" aria-label="Delete this automation?">Delete it and stop its runs?
          <button type="button" class="button small danger" data-action="delete-confirm" data-testid="automation-delete-confirm">Delete</button>
          <button type="button" class="button ghost small" data-action="delete-cancel">Keep</button></span>`
        : html`<button type="button" class="button ghost small" data-action="delete" data-testid="automation-delete">Delete</button>`}
      ${reason ? html`<p class="publish-reason" id="automation-publish-reason" data-testid="automation-publish-reason">Cannot publish yet: ${reason}</p>` : ''}`);
    if (focused) region('actions').querySelector(`[data-action="${focused}"]`)?.focus();
  };

  const drawNote = () => render(region('note'), html`${note}${editor.undo ? html`
    <button type="button" class="link-button" data-action="undo" data-testid="automation-undo">Undo</button>` : ''}
    ${editor.server.other.length ? html`<span class="form-error">${editor.server.other.join(' ')}</span>` : ''}`);

  const drawStats = () => {
    const stats = editor.stats;
    if (!stats) {
      render(region('stats'), html``);
      return;
    }
    const versions = statVersions(stats.nodes);
    renderKeepingFocus(region('stats'), html`<dl class="stats inline-stats" data-testid="automation-stats">
        <div class="stat"><dt>Runs</dt><dd>${count(stats.runs)}</dd></div>
        <div class="stat"><dt>Going</dt><dd>${count(stats.going)}</dd></div>
        <div class="stat"><dt>Done</dt><dd>${count(stats.done)}</dd></div>
        <div class="stat"><dt>Goal</dt><dd>${count(stats.goal_reached)}${goalRate(stats) ? html` <span class="muted">(${goalRate(stats)})</span>` : ''}</dd></div>
        <div class="stat"><dt>Sent</dt><dd>${count(stats.sent)}</dd></div>
      </dl>
      ${versions.length ? html`<label class="small">Numbers on the steps:
        <select data-action="stats-version" data-focus-key="stats-version" data-testid="stats-version">
          <option value="all">All versions</option>
          ${versions.map((v) => html`<option value="${v}" ${String(v) === String(editor.statsVersion) ? html`selected` : ''}>Version ${v}</option>`)}
        </select></label>` : ''}`);
  };

  const onChange = (what) => {
    if (!alive || !canvas) return;
    canvas.draw();
    if (what === 'stats') {
      drawStats();
      return;
    }
    if (what === 'settings') settingsForm.draw();
    if (what === 'graph' || what === 'select' || what === 'select-quiet') nodeForm.sync();
    else nodeForm.drawErrors();
    settingsForm.showErrors(editor.settingsErrors());
    render(main.querySelector('#automation-name-error'), html`${editor.server.settings.name ?? ''}`);
    drawActions();
    drawNote();
    if (editor.dirty) unsaved.set(id, { name: editor.name, draft: editor.definition() });
    else unsaved.delete(id);
  };

  const showTab = (name, { focus = false } = {}) => {
    tab = name;
    for (const button of main.querySelectorAll('[role="tab"]')) {
      const on = button.dataset.tab === name;
      button.setAttribute('aria-selected', String(on));
      button.tabIndex = on ? 0 : -1;
      if (on && focus) button.focus();
    }
    for (const [panel] of TABS) main.querySelector(`#auto-panel-${panel}`).hidden = panel !== name;
    if (name === 'runs' && !destroyRuns) destroyRuns = mountRunsPanel(region('runs'), { automationId: id });
  };

  const save = async () => {
    const sent = editor.definition();
    const answer = await saveAutomation(id, { name: editor.name.trim(), draft: sent }).catch((error) => {
      if (error.status === 422) editor.refused(error.problem.errors ?? [], sent);
      throw error;
    });
    editor.saved(answer);
    return answer;
  };

  const act = async (action, button) => {
    note = '';
    try {
      if (action === 'save') {
        await save();
        note = 'Draft saved.';
      } else if (action === 'publish') {
        if (!editor.checks.publishable) {
          note = `Cannot publish yet: ${editor.checks.reason}`;
          drawNote();
          return;
        }
        openPublishDialog({
          automation: editor.automation,
          returnFocus: button,
          publish: async (runs) => {
            if (editor.dirty) await save();
            const sent = editor.definition();
            const answer = await publishAutomation(id, runs).catch((error) => {
              if (error.status === 422) editor.refused(error.problem.errors ?? [], sent);
              throw error;
            });
            editor.saved(answer.automation ?? editor.automation);
            note = `Published version ${answer.version}.${answer.runs_moved ? ` ${answer.runs_moved} runs moved.` : ''}${answer.runs_stopped ? ` ${answer.runs_stopped} runs stopped.` : ''}`;
            announce(note);
            drawNote();
          },
        });
        return;
      } else if (action === 'pause' || action === 'resume') {
        const next = await (action === 'pause' ? pauseAutomation(id) : resumeAutomation(id));
        editor.automation = { ...editor.automation, ...next };
        note = action === 'pause' ? 'Paused: it starts no new runs; runs going carry on.' : 'Live again.';
      } else if (action === 'export') {
        const data = await exportAutomation(id);
        downloadJson(data, `${editor.name || 'automation'}.json`);
        note = 'Exported.';
      } else if (action === 'delete-confirm') {
        await deleteAutomation(id);
        unsaved.delete(id);
        announce(`Deleted ${editor.name}.`);
        location.hash = '#/automations';
        return;
      }
    } catch (error) {
      note = error.status === 422 ? 'Not saved: see the marked steps and settings.' : error.message;
    }
    if (!alive) return;
    if (note) announce(note);
    drawActions();
    drawNote();
  };

  const start = (automation) => {
    editor = createEditor(automation, { onChange, agentName, teamName });
    Object.assign(editor, {
      agents: () => sortedAgents(),
      teams: () => teams,
      schema: () => state.peopleSchema ?? { properties: [], events: [], tags: [] },
      // An automation's filters are stored as they are, not by segment:
      // the filter builder offers no segments here.
      segments: () => [],
      focusNode: (nodeId) => {
        showTab('flow');
        canvas.focusNode(nodeId);
      },
      open: (nodeId, exit = null) => {
        editor.select(nodeId);
        nodeForm.sync();
        const target = exit && region('node-form').querySelector(`[data-exit="${CSS.escape(exit)}"]`);
        if (target) target.focus();
        else nodeForm.focus();
      },
    });
    const kept = unsaved.get(id);
    render(main, layout());
    canvas = mountFlowCanvas(region('canvas'), editor);
    nodeForm = mountNodeForm(region('node-form'), editor);
    settingsForm = mountSettingsForm(region('settings'), editor);
    if (kept) {
      editor.load(kept.draft, kept.name);
      main.querySelector('#automation-name').value = kept.name;
      note = 'Your unsaved changes are back.';
    }
    settingsForm.draw();
    onChange('graph');
    main.focus();
  };

  listen('click', (event) => {
    const add = event.target.closest('[data-add]');
    if (add) {
      const nodeId = editor.add(add.dataset.add);
      announce(`Added step ${nodeId}.`);
      canvas.focusNode(nodeId);
      return;
    }
    const tabButton = event.target.closest('[role="tab"]');
    if (tabButton) {
      showTab(tabButton.dataset.tab);
      return;
    }
    const button = event.target.closest('button[data-action]');
    if (!button || !editor || !button.closest('[data-region="actions"], [data-region="note"]')) return;
    const action = button.dataset.action;
    if (action === 'undo') {
      editor.restore();
      note = 'Step restored.';
      drawNote();
    } else if (action === 'delete' || action === 'delete-cancel') {
      confirmingDelete = action === 'delete';
      drawActions();
      region('actions').querySelector(confirmingDelete ? '[data-action="delete-cancel"]' : '[data-action="delete"]')?.focus();
    } else act(action, button);
  });

  listen('input', (event) => {
    if (event.target.id === 'automation-name') editor.rename(event.target.value);
  });

  listen('change', (event) => {
    if (event.target.dataset.action === 'stats-version') editor.setStats(editor.stats, event.target.value);
  });

  // Tabs: arrows move between them; Ctrl/⌘+S saves.
  listen('keydown', (event) => {
    const tabButton = event.target.closest?.('[role="tab"]');
    if (tabButton && (event.key === 'ArrowRight' || event.key === 'ArrowLeft')) {
      const names = TABS.map(([name]) => name);
      const next = names[(names.indexOf(tabButton.dataset.tab) + (event.key === 'ArrowRight' ? 1 : -1) + names.length) % names.length];
      showTab(next, { focus: true });
      event.preventDefault();
    } else if ((event.ctrlKey || event.metaKey) && event.key === 's' && editor) {
      event.preventDefault();
      act('save', null);
    }
  });

  // Leaving the page (a reload, closing the tab) with unsaved changes asks first.
  listen('beforeunload', (event) => {
    if (editor?.dirty) event.preventDefault();
  }, window);

  (async () => {
    try {
      const automation = await getAutomation(id);
      if (!alive) return;
      start(automation);
    } catch (error) {
      if (!alive) return;
      render(main, html`<p class="breadcrumbs"><a href="#/automations">← Automations</a></p>
        <p class="form-error" role="alert">${error.status === 404 ? 'No such automation.' : error.message}</p>`);
      return;
    }
    loadPeopleSchema().then(() => alive && onChange('settings')).catch((error) => console.warn('people schema:', error.message));
    teamsLoading.then((list) => {
      if (!alive || !list) return;
      teams = list;
      canvas.draw();
      if (editor.selected) nodeForm.draw();
    });
    getStats(id).then((stats) => alive && editor.setStats(stats)).catch((error) => console.warn('automation stats:', error.message));
  })();

  return () => {
    alive = false;
    listening.abort();
    canvas?.destroy();
    destroyRuns?.();
  };
}
