// The right pane: who the open conversation is with, and their properties.

import { html, render } from '../../shared/html.js';
import { state, subscribe, contactName, isOnline } from '../data/store.js';
import { selectedDetail } from '../data/conversations.js';
import { fullTime } from '../ui/time.js';
import { avatar } from '../ui/avatar.js';
import { unverifiedEmailChip } from '../contacts/unverified-email.js';

/** A property value as text: strings as they are, everything else as JSON. */
export function propText(value) {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

export function propertyList(contact) {
  const props = Object.entries(contact.props ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const online = isOnline(contact);
  return html`
    <dl class="props">
      <dt>Name</dt><dd data-testid="contact-name">${contact.name || '—'}</dd>
      <dt>Email</dt><dd>${contact.email
        ? html`<a href="${`mailto:${contact.email}`}">${contact.email}</a> ${unverifiedEmailChip(contact)}` : '—'}</dd>
      <dt>User ID</dt><dd>${contact.user_id ? html`<code>${contact.user_id}</code>` : '—'}</dd>
      ${contact.phone ? html`<dt>Phone</dt><dd>${contact.phone}</dd>` : ''}
      <dt>Online</dt><dd data-testid="contact-online">${online
        ? html`<span class="online-text">● Online now</span>` : 'Offline'}</dd>
      ${contact.created_at ? html`<dt>First seen</dt><dd>${fullTime(contact.created_at)}</dd>` : ''}
      ${props.map(([key, value]) => html`<dt>${key}</dt><dd>${propText(value)}</dd>`)}
    </dl>`;
}

export function mountContactPanel(element) {
  const draw = () => {
    const detail = selectedDetail();
    if (!detail?.contact) {
      render(element, html`<p class="panel-empty muted">${state.selectedId ? '' : 'No conversation open.'}</p>`);
      return;
    }
    const contact = detail.contact;
    const name = contactName(contact);
    render(element, html`
      <div class="contact-card" data-testid="contact-panel">
        <div class="contact-head">
          ${avatar({ name, seed: contact.id, presence: isOnline(contact) ? 'online' : 'offline' })}
          <div>
            <h2 class="contact-title">${name}</h2>
            ${contact.email && contact.name ? html`<p class="muted small">${contact.email}</p>` : ''}
          </div>
        </div>
        ${propertyList(contact)}
        <a class="button small wide" href="${`#/contacts/${encodeURIComponent(contact.id)}`}"
          data-testid="open-profile">Open profile</a>
      </div>`);
  };
  const offs = [subscribe('detail', draw)];
  draw();
  return () => offs.forEach((off) => off());
}
