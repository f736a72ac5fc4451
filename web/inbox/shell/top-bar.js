// The bar across the top: workspace, navigation, the team's presence, the
// live connection, and signing out.

import { html, render } from '../../shared/html.js';
import { state, subscribe, sortedAgents } from '../data/store.js';
import { avatar } from '../ui/avatar.js';

export function mountTopBar(element, { onSignOut }) {
  const draw = () => {
    const hash = location.hash;
    const route = hash.startsWith('#/settings') ? 'settings'
      : /^#\/automations(\/|$)/.test(hash) ? 'automations'
        : /^#\/knowledge(\/|$)/.test(hash) ? 'knowledge'
          : /^#\/reports(\/|$)/.test(hash) ? 'reports'
            : /^#\/(people|contacts|bulk-sends)(\/|$)/.test(hash) ? 'people' : 'inbox';
    const teammates = sortedAgents().filter((agent) => agent.id !== state.me?.id);
    const me = state.agents.get(state.me?.id) ?? state.me;
    render(element, html`
      <div class="brand">
        <span class="brand-mark" aria-hidden="true">R</span>
        <span class="brand-name">${state.workspace?.name ?? 'Rapport'}</span>
      </div>
      <nav class="main-nav" aria-label="Main">
        <a href="#/" ${route === 'inbox' ? html`aria-current="page"` : ''} data-testid="nav-inbox">Inbox</a>
        <a href="#/people" ${route === 'people' ? html`aria-current="page"` : ''} data-testid="nav-people">People</a>
        <a href="#/automations" ${route === 'automations' ? html`aria-current="page"` : ''} data-testid="nav-automations">Automations</a>
        <a href="#/knowledge" ${route === 'knowledge' ? html`aria-current="page"` : ''} data-testid="nav-knowledge">Knowledge base</a>
        <a href="#/reports" ${route === 'reports' ? html`aria-current="page"` : ''} data-testid="nav-reports">Reports</a>
        <a href="#/settings" ${route === 'settings' ? html`aria-current="page"` : ''} data-testid="nav-settings">Settings</a>
      </nav>
      <div class="top-spacer"></div>
      <ul class="team-strip" aria-label="Teammates">
        ${teammates.slice(0, 8).map((agent) => html`
          <li title="${agent.name} — ${agent.presence ?? 'offline'}" data-testid="teammate" data-agent-id="${agent.id}">
            ${avatar({ name: agent.name, seed: agent.id, presence: agent.presence ?? 'offline', size: 'sm' })}
          </li>`)}
        ${teammates.length > 8 ? html`<li class="more">+${teammates.length - 8}</li>` : ''}
      </ul>
      <span class="connection ${state.connected ? 'is-live' : 'is-offline'}" role="status" data-testid="connection">
        ${state.connected ? 'Live' : state.everConnected ? 'Reconnecting…' : 'Connecting…'}
      </span>
      <span class="me">
        ${avatar({ name: me?.name ?? '?', seed: me?.id, presence: me?.presence ?? 'online', size: 'sm' })}
        <span class="me-name">${me?.name ?? ''}</span>
      </span>
      <button type="button" class="button ghost small" data-action="sign-out" data-testid="sign-out">Sign out</button>`);
  };
  element.addEventListener('click', (event) => {
    if (event.target.closest('[data-action="sign-out"]')) onSignOut();
  });
  const offs = [
    subscribe('agents', draw),
    subscribe('session', draw),
    subscribe('connection', draw),
    subscribe('route', draw),
  ];
  draw();
  return () => offs.forEach((off) => off());
}
