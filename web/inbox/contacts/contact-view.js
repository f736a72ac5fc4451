// `#/contacts/{id}`: the user profile. Who they are (online now, last
// seen), their properties (contact-properties.js), tags (contact-tags.js),
// the events they performed, the Chat block (their conversations in the
// Inbox, or a new message from here: contact-composer.js), and the
// timeline of everything that happened to them (contact-timeline.js), and
// for owners and admins the Data card (export, erase: contact-data.js).

import { html, render } from '../../shared/html.js';
import { plainText } from '../../shared/markdown.js';
import { state, subscribe, contactName, isOnline } from '../data/store.js';
import { getContact, contactConversations } from '../data/contacts.js';
import { loadPeopleSchema } from '../data/people.js';
import { relativeTime, fullTime, ago } from '../ui/time.js';
import { avatar } from '../ui/avatar.js';
import { contactValue, contactEvents } from './contact-props.js';
import { unverifiedEmailChip } from './unverified-email.js';
import { mountPropertiesCard } from './contact-properties.js';
import { mountTagsCard } from './contact-tags.js';
import { mountContactTimeline } from './contact-timeline.js';
import { mountContactComposer } from './contact-composer.js';
import { mountDataCard } from './contact-data.js';
import { canManage } from '../settings/roles.js';

const RECENT_CONVERSATIONS = 5;
const NUMBER = new Intl.NumberFormat('en');

function headView(contact) {
  const name = contactName(contact);
  const online = isOnline(contact);
  const lastSeen = contactValue(contact, 'last_seen_at');
  return html`
    ${avatar({ name, seed: contact.id, presence: online ? 'online' : 'offline' })}
    <div class="profile-title">
      <h1 data-testid="contact-name">${name}</h1>
      <p class="muted">
        ${contact.email ? html`<a href="${`mailto:${contact.email}`}" data-testid="contact-email">${contact.email}</a>
          ${unverifiedEmailChip(contact)} · ` : ''}
        <span data-testid="contact-online" data-online="${String(online)}">${online
          ? html`<span class="online-text">● Online now</span>`
          : lastSeen ? html`Last seen <time datetime="${lastSeen}" title="${fullTime(lastSeen)}">${ago(lastSeen)}</time>` : 'Never seen online'}</span>
      </p>
    </div>`;
}

function eventsView(contact) {
  const events = contactEvents(contact);
  return html`
    <h2 id="events-title">Events</h2>
    ${events.length ? html`<table class="data-table compact" aria-labelledby="events-title" data-testid="events-table">
      <thead><tr><th scope="col">Event</th><th scope="col" class="numeric">Count</th><th scope="col">First</th><th scope="col">Last</th></tr></thead>
      <tbody>${events.map((event) => html`<tr data-testid="event-row" data-event="${event.name}">
        <td>${event.name}</td>
        <td class="numeric">${NUMBER.format(event.count)}</td>
        <td><time datetime="${event.first_at ?? ''}" title="${fullTime(event.first_at)}">${relativeTime(event.first_at)}</time></td>
        <td><time datetime="${event.last_at ?? ''}" title="${fullTime(event.last_at)}">${relativeTime(event.last_at)}</time></td>
      </tr>`)}</tbody>
    </table>` : html`<p class="muted small">No events tracked.</p>`}`;
}

function conversationsView(conversations) {
  const rows = conversations?.slice(0, RECENT_CONVERSATIONS) ?? [];
  if (conversations === null) return html``;
  if (!rows.length) return html`<p class="muted small">No conversations yet.</p>`;
  return html`
    <ul class="plain-list" data-testid="contact-conversations">
      ${rows.map((c) => html`<li>
        <a href="${`#/conversations/${encodeURIComponent(c.id)}`}">${c.last_part ? plainText(c.last_part.body).slice(0, 80) : 'Conversation'}</a>
        <span class="muted small"> · ${c.status} · <time datetime="${c.updated_at}" title="${fullTime(c.updated_at)}">${relativeTime(c.updated_at)}</time></span>
      </li>`)}
    </ul>`;
}

const pageView = (contact) => html`
  <main id="main" class="page wide-page profile-page" tabindex="-1" data-testid="contact-view" data-contact-id="${contact.id}">
    <p class="breadcrumbs"><a href="#/people">← People</a></p>
    <header class="profile-head" data-region="head"></header>
    <div class="profile-layout">
      <div class="profile-side">
        <section class="card" aria-labelledby="props-title" data-region="props"></section>
        <section class="card" aria-labelledby="tags-title" data-region="tags"></section>
        <section class="card" aria-labelledby="events-title" data-region="events"></section>
        ${canManage(state.me) ? html`<section class="card" aria-labelledby="data-title" data-region="data"
          data-testid="contact-data"></section>` : ''}
      </div>
      <div class="profile-main">
        <section class="card chat-card" aria-labelledby="chat-title">
          <div class="card-head">
            <h2 id="chat-title">Chat</h2>
            <span class="top-spacer"></span>
            <a class="button small" href="${`#/?contact=${encodeURIComponent(contact.id)}`}"
              data-testid="show-all-conversations">Show all conversations</a>
            <button type="button" class="button small primary" data-action="compose" aria-expanded="false"
              aria-controls="profile-composer" data-testid="profile-send-open">Send a message</button>
          </div>
          <div id="profile-composer" data-region="composer" hidden></div>
          <div data-region="conversations"></div>
        </section>
        <section class="card timeline-card" aria-labelledby="timeline-title" data-region="timeline"></section>
      </div>
    </div>
  </main>`;

export function mountContactView(element, contactId) {
  // Listeners on the shared view element go when the view does.
  const listening = new AbortController();
  const listen = (type, fn) => element.addEventListener(type, fn, { signal: listening.signal });
  // What the cards share: the contact as last read or changed, the people schema.
  const profile = { contact: null, schema: state.peopleSchema, alive: true };
  let conversations = null;
  let cards = [];
  let composer = null;
  let timeline = null;

  render(element, html`<main id="main" class="page" tabindex="-1"><p role="status">Loading…</p></main>`);

  const region = (name) => element.querySelector(`[data-region="${name}"]`);

  const drawHead = () => {
    if (region('head')) render(region('head'), headView(profile.contact));
  };

  const drawConversations = () => {
    if (region('conversations')) render(region('conversations'), conversationsView(conversations));
  };

  // PATCH answers with the contact; keep what only GET carries.
  const merge = (updated) => {
    if (!updated || typeof updated !== 'object') return;
    const { contact } = profile;
    profile.contact = {
      ...contact,
      ...updated,
      tags: updated.tags ?? contact.tags,
      events: updated.events ?? contact.events,
      online: updated.online ?? contact.online,
    };
  };

  const toggleComposer = (open) => {
    const slot = region('composer');
    const opener = element.querySelector('[data-action="compose"]');
    opener.setAttribute('aria-expanded', String(open));
    slot.hidden = !open;
    if (open) {
      if (!composer) {
        composer = mountContactComposer(slot, {
          contact: profile.contact,
          onSent: () => {
            timeline?.refresh();
            refreshConversations();
          },
          onClose: () => toggleComposer(false),
        });
      }
      composer.focus();
    } else {
      opener.focus();
    }
  };

  listen('click', (event) => {
    const button = event.target.closest('button');
    if (button?.dataset.action === 'compose') toggleComposer(button.getAttribute('aria-expanded') !== 'true');
  });

  const refreshConversations = async () => {
    try {
      const page = await contactConversations(contactId, RECENT_CONVERSATIONS);
      if (!profile.alive) return;
      conversations = page?.data ?? [];
      drawConversations();
    } catch (error) {
      console.warn('conversations:', error.message);
    }
  };

  const offs = [
    // Presence moves live.
    subscribe('list', () => profile.contact && drawHead()),
    subscribe('schema', (s) => {
      profile.schema = s.peopleSchema;
      for (const card of cards) card.draw();
    }),
  ];

  (async () => {
    try {
      profile.contact = await getContact(contactId);
      if (!profile.alive) return;
      const { contact } = profile;
      render(element, pageView(contact));
      drawHead();
      cards = [
        mountPropertiesCard(region('props'), { profile, merge, onSaved: drawHead }),
        mountTagsCard(region('tags'), { profile }),
      ];
      if (region('data')) cards.push(mountDataCard(region('data'), { profile }));
      for (const card of cards) card.draw();
      render(region('events'), eventsView(contact));
      drawConversations();
      timeline = mountContactTimeline(region('timeline'), {
        contactId: contact.id,
        getContactName: () => contactName(profile.contact),
      });
      document.title = `${contactName(contact)} · Rapport`;
      element.querySelector('main').focus();
      refreshConversations();
      loadPeopleSchema().catch((error) => console.warn('people schema:', error.message));
    } catch (error) {
      if (!profile.alive) return;
      render(element, html`<main id="main" class="page" tabindex="-1"><p class="breadcrumbs"><a href="#/people">← People</a></p>
        <p class="form-error" role="alert">${error.status === 404 ? 'No such contact.' : error.message}</p></main>`);
    }
  })();

  return () => {
    profile.alive = false;
    listening.abort();
    offs.forEach((off) => off());
    cards.forEach((card) => card.destroy());
    composer?.destroy();
    timeline?.destroy();
  };
}
