// The messenger's header: workspace name, the team's avatars, back, search
// help and close.

import { html } from '../shared/html.js';
import { avatar } from './avatar.js';
import { t, listOf } from './i18n.js';

const MAX_AVATARS = 3;

function teamLine(team) {
  const names = team.map((member) => member.name).filter(Boolean);
  if (names.length === 0) return t('askUsAnything');
  if (names.length <= MAX_AVATARS) return t('chatWith', { names: listOf(names) });
  return t('chatWith', { names: listOf([...names.slice(0, 2), t('others', { count: names.length - 2 })]) });
}

const backIcon = html`<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M15 5l-7 7 7 7"/></svg>`;
const searchIcon = html`<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><circle cx="11" cy="11" r="6"/><path d="M20 20l-4.5-4.5"/></svg>`;
const closeIcon = html`<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M6 6l12 12M18 6L6 18"/></svg>`;

/**
 * @param {{workspace: {name, reply_time}, team: Array<{name}>, back: boolean, help: boolean}} props
 *   `help`: offer the "Search help" button
 */
export function headerView({ workspace, team = [], back = false, help = false }) {
  const shown = team.slice(0, MAX_AVATARS);
  return html`
    <div class="header-bar">
      ${back
        ? html`<button type="button" class="icon-button" data-action="back" aria-label="${t('back')}">${backIcon}</button>`
        : ''}
      <div class="header-title">
        <h1 class="workspace-name">${workspace?.name || t('chat')}</h1>
        <p class="header-sub">${teamLine(team)}</p>
        ${workspace?.reply_time ? html`<p class="header-sub reply-time" data-testid="messenger-reply-time">${workspace.reply_time}</p>` : ''}
      </div>
      ${shown.length ? html`<div class="team-avatars">${shown.map((member) => avatar(member, 'medium'))}</div>` : ''}
      ${help
        ? html`<button type="button" class="icon-button" data-action="help" aria-label="${t('searchHelp')}" title="${t('searchHelp')}"
          data-testid="messenger-help-button">${searchIcon}</button>`
        : ''}
      <button type="button" class="icon-button" data-action="close" aria-label="${t('closeChat')}">${closeIcon}</button>
    </div>`;
}
