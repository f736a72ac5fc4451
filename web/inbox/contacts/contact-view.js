// `#/contacts/{id}`: the user profile. Who they are (online now, last
// seen), their properties (custom ones edited in place, typed by the
// workspace's schema), tags, the events they performed, the Chat block
// (their conversations in the Inbox, or a new message from here), and the
// timeline of everything that happened to them.

import { html, render } from '../../shared/html.js';
import { plainText } from '../../shared/markdown.js';
import { get, patch, post, del } from '../data/api.js';
import { state, subscribe, contactName, isOnline, loadPeopleSchema } from '../data/store.js';
import { renderKeepingFocus } from '../ui/focus.js';
import { formError, showProblem, clearErrors, whileBusy } from '../ui/forms.js';
import { relativeTime, fullTime, ago } from '../ui/time.js';
import { avatar } from '../ui/avatar.js';
import {
  SYSTEM_PROPERTIES, PROPERTY_TYPES, contactValue, typeOfValue, propInputKind, propInputValue, parsePropInput,
  formatPropValue, contactTags, contactEvents, customProps,
} from './contact-props.js';
import { propertyTypes } from '../people/people-filter.js';
import { mountContactTimeline } from './contact-timeline.js';
import { mountContactComposer } from './contact-composer.js';
import { unverifiedEmailChip } from '../conversations/contact-panel.js';

const RECENT_CONVERSATIONS = 5;
const NUMBER = new Intl.NumberFormat('en');

/** The input for a custom property's value; `idBase` names it and its error slot. */
function propInput(type, value, { id, name = 'value', testid, label = null }) {
  const kind = propInputKind(type);
  const shown = propInputValue(type, value);
  const described = html`aria-describedby="${id}-error"`;
  const labelled = label ? html`aria-label="${label}"` : '';
  switch (kind) {
    case 'checkbox':
      return html`<input id="${id}" name="${name}" type="checkbox" ${shown ? html`checked` : ''} ${described} ${labelled}
        data-focus-key="${id}" data-testid="${testid}">`;
    case 'number':
      return html`<input id="${id}" name="${name}" type="number" step="any" value="${shown}" ${described} ${labelled}
        data-focus-key="${id}" data-testid="${testid}">`;
    case 'datetime-local':
      return html`<input id="${id}" name="${name}" type="datetime-local" value="${shown}" ${described} ${labelled}
        data-focus-key="${id}" data-testid="${testid}">`;
    case 'list':
      return html`<input id="${id}" name="${name}" type="text" value="${shown}" placeholder="one, two" ${described} ${labelled}
        data-focus-key="${id}" data-testid="${testid}">`;
    default:
      return html`<input id="${id}" name="${name}" type="text" value="${shown}" ${described} ${labelled}
        data-focus-key="${id}" data-testid="${testid}">`;
  }
}

// Ids from property names: names are letters, digits, `_` and `-`, but be safe.
const slug = (name) => String(name).replace(/[^A-Za-z0-9_-]/g, '_');

export function mountContactView(element, contactId) {
  let alive = true;
  // Listeners on the shared view element go when the view does.
  const listening = new AbortController();
  const listen = (type, fn) => element.addEventListener(type, fn, { signal: listening.signal });
  let contact = null;
  let schema = state.peopleSchema;
  let conversations = null;
  let composer = null;
  let timeline = null;
  let newPropType = 'string';
  const saving = new Map(); // property name -> the value last sent, to skip repeats

  render(element, html`<main id="main" class="page" tabindex="-1"><p role="status">Loading…</p></main>`);

  const types = () => propertyTypes(schema);
  const typeOf = (name, value) => types().get(name) ?? typeOfValue(value);
  const name = () => contactName(contact);

  // --- Drawing ---------------------------------------------------------------------

  const drawHead = () => {
    const region = element.querySelector('[data-region="head"]');
    if (!region) return;
    const online = isOnline(contact);
    const lastSeen = contactValue(contact, 'last_seen_at');
    render(region, html`
      ${avatar({ name: name(), seed: contact.id, presence: online ? 'online' : 'offline' })}
      <div class="profile-title">
        <h1 data-testid="contact-name">${name()}</h1>
        <p class="muted">
          ${contact.email ? html`<a href="${`mailto:${contact.email}`}" data-testid="contact-email">${contact.email}</a>
            ${unverifiedEmailChip(contact)} · ` : ''}
          <span data-testid="contact-online" data-online="${String(online)}">${online
            ? html`<span class="online-text">● Online now</span>`
            : lastSeen ? html`Last seen <time datetime="${lastSeen}" title="${fullTime(lastSeen)}">${ago(lastSeen)}</time>` : 'Never seen online'}</span>
        </p>
      </div>`);
  };

  const drawProps = () => {
    const region = element.querySelector('[data-region="props"]');
    if (!region) return;
    const system = SYSTEM_PROPERTIES.filter(([key]) => contactValue(contact, key) !== undefined);
    const custom = customProps(contact);
    const customNames = (schema?.properties ?? []).filter((p) => !p.system).map((p) => p.name);
    // What is being typed in "Add a property" survives the redraw.
    const addForm = region.querySelector('[data-form="add-prop"]');
    const typed = addForm ? { name: addForm.elements.new_name.value, value: addForm.elements.new_value } : null;
    renderKeepingFocus(region, html`
      <h2 id="props-title">Properties</h2>
      <dl class="props" data-testid="system-props">
        ${system.map(([key, label]) => {
          const value = contactValue(contact, key);
          const type = key.endsWith('_at') ? 'datetime' : undefined;
          return html`<dt>${label}</dt><dd data-prop="${key}">${type === 'datetime'
            ? html`<time datetime="${value}" title="${fullTime(value)}">${formatPropValue(value, 'datetime')}</time>`
            : key === 'user_id' ? html`<code>${value}</code>`
              : key === 'email' ? html`${formatPropValue(value)} ${unverifiedEmailChip(contact)}` : formatPropValue(value)}</dd>`;
        })}
      </dl>
      <h3>Custom properties</h3>
      ${custom.length ? html`<ul class="prop-list" data-testid="custom-props">
        ${custom.map(([key, value]) => {
          const type = typeOf(key, value);
          const id = `prop-${slug(key)}`;
          return html`<li>
            <form class="prop-row" data-prop="${key}" novalidate data-testid="prop-row" data-prop-name="${key}">
              <label for="${id}">${key}</label>
              ${propInput(type, value, { id, testid: 'prop-input' })}
              <button type="button" class="button ghost small icon-button" data-action="unset" data-focus-key="${`${id}-unset`}"
                aria-label="${`Remove ${key}`}" title="Remove" data-testid="prop-remove">✕</button>
              <span class="saved-note" role="status" data-saved></span>
              <p class="field-error" id="${id}-error" data-error-for="${`props.${key}`}"></p>
            </form>
          </li>`;
        })}
      </ul>` : html`<p class="muted small">None yet.</p>`}
      <form class="add-prop" data-form="add-prop" novalidate data-testid="prop-add-form">
        <h3 id="add-prop-title">Add a property</h3>
        ${formError()}
        <div class="add-prop-fields">
          <div class="field">
            <label for="prop-new-name">Name</label>
            <input id="prop-new-name" name="new_name" type="text" list="prop-names" autocomplete="off" spellcheck="false"
              maxlength="64" data-focus-key="prop-new-name" aria-describedby="prop-new-name-error"
              data-testid="prop-new-name">
            <datalist id="prop-names">${customNames.map((n) => html`<option value="${n}"></option>`)}</datalist>
            <p class="field-error" id="prop-new-name-error" data-error-for="new_name"></p>
          </div>
          <div class="field">
            <label for="prop-new-type">Type</label>
            <select id="prop-new-type" name="new_type" data-focus-key="prop-new-type" data-testid="prop-new-type">
              ${PROPERTY_TYPES.map(([value, label]) => html`<option value="${value}">${label}</option>`)}
            </select>
          </div>
          <div class="field" data-region="new-value"></div>
          <button type="submit" class="button small" data-testid="prop-add">Add</button>
        </div>
        <p class="field-error" id="prop-new-value-error" data-error-for="new_value" data-testid="prop-add-error"></p>
      </form>`);
    if (typed) region.querySelector('[name="new_name"]').value = typed.name;
    drawNewValue(typed?.value);
  };

  // "Add a property": a name the workspace knows fixes the type (and the value's input).
  const drawNewValue = (previous = null) => {
    const form = element.querySelector('[data-form="add-prop"]');
    if (!form) return;
    const known = types().get(form.elements.new_name.value.trim());
    const select = form.elements.new_type;
    select.value = known ?? newPropType;
    select.disabled = Boolean(known);
    select.title = known ? 'The workspace has fixed this property’s type' : '';
    const type = select.value;
    const slot = form.querySelector('[data-region="new-value"]');
    if (slot.dataset.type === type && !previous) return;
    slot.dataset.type = type;
    const before = previous ?? form.elements.new_value;
    renderKeepingFocus(slot, html`<label for="prop-new-value">Value</label>
      ${propInput(type, undefined, { id: 'prop-new-value', name: 'new_value', testid: 'prop-new-value' })}`);
    // Keep what was typed while the input stays a text-like one (a number input takes only numbers).
    const input = form.elements.new_value;
    if (before && before.type !== 'checkbox' && input.type !== 'checkbox') input.value = before.value;
  };

  const drawTags = () => {
    const region = element.querySelector('[data-region="tags"]');
    if (!region) return;
    const tags = contactTags(contact);
    const suggestions = (schema?.tags ?? []).map((t) => t.name ?? t).filter((t) => !tags.includes(t));
    renderKeepingFocus(region, html`
      <h2 id="tags-title">Tags</h2>
      ${tags.length ? html`<ul class="chips" aria-labelledby="tags-title" data-testid="tag-list">
        ${tags.map((tag) => html`<li class="chip" data-testid="tag-chip" data-tag="${tag}">
          <span>${tag}</span>
          <button type="button" class="chip-remove" data-remove-tag="${tag}" data-focus-key="${`tag:${tag}`}"
            aria-label="${`Remove tag ${tag}`}" data-testid="tag-remove">✕</button>
        </li>`)}
      </ul>` : html`<p class="muted small">No tags.</p>`}
      <form class="tag-form" data-form="add-tag" novalidate>
        ${formError()}
        <div class="input-with-button">
          <label for="tag-new" class="visually-hidden">Add a tag</label>
          <input id="tag-new" name="tag" type="text" list="tag-suggestions" placeholder="Add a tag" autocomplete="off"
            maxlength="255" data-focus-key="tag-new" aria-describedby="tag-new-error" data-testid="tag-input">
          <datalist id="tag-suggestions">${suggestions.map((t) => html`<option value="${t}"></option>`)}</datalist>
          <button type="submit" class="button small" data-testid="tag-add">Add</button>
        </div>
        <p class="field-error" id="tag-new-error" data-error-for="tag"></p>
      </form>`);
  };

  const drawEvents = () => {
    const region = element.querySelector('[data-region="events"]');
    if (!region) return;
    const events = contactEvents(contact);
    render(region, html`
      <h2 id="events-title">Events</h2>
      ${events.length ? html`<table class="data-table compact" aria-labelledby="events-title" data-testid="events-table">
        <thead><tr><th scope="col">Event</th><th scope="col" class="numeric">Count</th><th scope="col">First</th><th scope="col">Last</th></tr></thead>
        <tbody>${events.map((event) => html`<tr data-testid="event-row" data-event="${event.name}">
          <td>${event.name}</td>
          <td class="numeric">${NUMBER.format(event.count)}</td>
          <td><time datetime="${event.first_at ?? ''}" title="${fullTime(event.first_at)}">${relativeTime(event.first_at)}</time></td>
          <td><time datetime="${event.last_at ?? ''}" title="${fullTime(event.last_at)}">${relativeTime(event.last_at)}</time></td>
        </tr>`)}</tbody>
      </table>` : html`<p class="muted small">No events tracked.</p>`}`);
  };

  const drawConversations = () => {
    const region = element.querySelector('[data-region="conversations"]');
    if (!region) return;
    const rows = conversations?.slice(0, RECENT_CONVERSATIONS) ?? [];
    render(region, conversations === null ? html`` : rows.length ? html`
      <ul class="plain-list" data-testid="contact-conversations">
        ${rows.map((c) => html`<li>
          <a href="${`#/conversations/${encodeURIComponent(c.id)}`}">${c.last_part ? plainText(c.last_part.body).slice(0, 80) : 'Conversation'}</a>
          <span class="muted small"> · ${c.status} · <time datetime="${c.updated_at}" title="${fullTime(c.updated_at)}">${relativeTime(c.updated_at)}</time></span>
        </li>`)}
      </ul>` : html`<p class="muted small">No conversations yet.</p>`);
  };

  const page = () => html`
    <main id="main" class="page wide-page profile-page" tabindex="-1" data-testid="contact-view" data-contact-id="${contact.id}">
      <p class="breadcrumbs"><a href="#/people">← People</a></p>
      <header class="profile-head" data-region="head"></header>
      <div class="profile-layout">
        <div class="profile-side">
          <section class="card" aria-labelledby="props-title" data-region="props"></section>
          <section class="card" aria-labelledby="tags-title" data-region="tags"></section>
          <section class="card" aria-labelledby="events-title" data-region="events"></section>
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

  // --- Changing the contact ------------------------------------------------------

  // PATCH answers with the contact; keep what only GET carries.
  const merge = (updated) => {
    if (!updated || typeof updated !== 'object') return;
    contact = {
      ...contact,
      ...updated,
      tags: updated.tags ?? contact.tags,
      events: updated.events ?? contact.events,
      online: updated.online ?? contact.online,
    };
  };

  const flash = (form, text) => {
    const note = form?.querySelector('[data-saved]');
    if (!note) return;
    render(note, html`${text}`);
    clearTimeout(note.timer);
    note.timer = setTimeout(() => render(note, html``), 2000);
  };

  const setProp = async (form, key, value, { redraw = false } = {}) => {
    clearErrors(form);
    const sentKey = JSON.stringify(value);
    saving.set(key, sentKey);
    try {
      const updated = await patch(`/api/v1/contacts/${encodeURIComponent(contact.id)}`, { props: { [key]: value } });
      if (!alive) return false;
      merge(updated);
      if (!updated?.props) contact = { ...contact, props: { ...contact.props, [key]: value } };
      // Redraw only when rows come or go: an edit in place keeps the other inputs (and what is typed in them).
      if (redraw) drawProps();
      else flash(form, 'Saved');
      drawHead();
      return true;
    } catch (error) {
      saving.delete(key);
      if (alive) showProblem(form, error);
      return false;
    }
  };

  const saveRow = (form) => {
    const key = form.dataset.prop;
    const input = form.elements.value;
    const type = typeOf(key, contact.props?.[key]);
    const parsed = parsePropInput(type, input.type === 'checkbox' ? input.checked : input.value);
    if (parsed.error) {
      showProblem(form, { fieldErrors: { [`props.${key}`]: parsed.error } });
      return;
    }
    // An emptied input unsets the property (and its row goes).
    const unchanged = saving.get(key) === JSON.stringify(parsed.value)
      || JSON.stringify(contact.props?.[key] ?? null) === JSON.stringify(parsed.value);
    if (unchanged) return;
    setProp(form, key, parsed.value, { redraw: parsed.value === null });
  };

  const addProp = async (form) => {
    clearErrors(form);
    const key = form.elements.new_name.value.trim();
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(key)) {
      showProblem(form, { fieldErrors: { new_name: 'Use 1 to 64 letters, digits, “_” or “-”.' } });
      return;
    }
    const type = types().get(key) ?? form.elements.new_type.value;
    const input = form.elements.new_value;
    const parsed = parsePropInput(type, input.type === 'checkbox' ? input.checked : input.value);
    if (parsed.error || parsed.value === null) {
      showProblem(form, { fieldErrors: { new_value: parsed.error ?? 'Enter a value.' } });
      return;
    }
    try {
      const updated = await whileBusy(form, () => patch(`/api/v1/contacts/${encodeURIComponent(contact.id)}`,
        { props: { [key]: parsed.value } }));
      if (!alive) return;
      merge(updated);
      if (!updated?.props) contact = { ...contact, props: { ...contact.props, [key]: parsed.value } };
      newPropType = 'string';
      form.reset();
      drawProps();
      element.querySelector(`[data-prop="${CSS.escape(key)}"] [name="value"]`)?.focus();
      // A new property name is now something the People filter can use.
      if (!types().has(key)) loadPeopleSchema({ force: true }).catch(() => {});
    } catch (error) {
      // The server names `props.<name>`: say it beside the value.
      const messages = error.fieldErrors ?? {};
      const forProp = messages[`props.${key}`];
      showProblem(form, forProp ? { fieldErrors: { new_value: forProp } } : error);
    }
  };

  const changeTags = async (form, request) => {
    if (form) clearErrors(form);
    try {
      const answer = await (form ? whileBusy(form, request) : request());
      if (!alive) return false;
      contact = { ...contact, tags: answer?.tags ?? contact.tags };
      drawTags();
      return true;
    } catch (error) {
      const tagForm = element.querySelector('[data-form="add-tag"]');
      if (alive && tagForm) showProblem(tagForm, error);
      return false;
    }
  };

  // --- Events ------------------------------------------------------------------------

  listen('change', (event) => {
    const target = event.target;
    const row = target.closest('form.prop-row');
    if (row && target.name === 'value') {
      saveRow(row);
      return;
    }
    if (target.name === 'new_type') {
      newPropType = target.value;
      drawNewValue();
    }
  });

  listen('input', (event) => {
    if (event.target.name === 'new_name') drawNewValue();
  });

  listen('submit', async (event) => {
    const form = event.target;
    event.preventDefault();
    if (form.classList.contains('prop-row')) saveRow(form);
    else if (form.dataset.form === 'add-prop') addProp(form);
    else if (form.dataset.form === 'add-tag') {
      const tag = form.elements.tag.value.trim();
      if (!tag) {
        showProblem(form, { fieldErrors: { tag: 'Type a tag first.' } });
        return;
      }
      const path = `/api/v1/contacts/${encodeURIComponent(contact.id)}/tags`;
      if (await changeTags(form, () => post(path, { tag }))) {
        element.querySelector('#tag-new')?.focus();
        if (!(schema?.tags ?? []).some((t) => (t.name ?? t) === tag)) loadPeopleSchema({ force: true }).catch(() => {});
      }
    }
  });

  listen('click', async (event) => {
    const button = event.target.closest('button');
    if (!button) return;
    if (button.dataset.removeTag) {
      const tag = button.dataset.removeTag;
      const path = `/api/v1/contacts/${encodeURIComponent(contact.id)}/tags/${encodeURIComponent(tag)}`;
      if (await changeTags(null, () => del(path))) element.querySelector('#tag-new')?.focus();
    } else if (button.dataset.action === 'unset') {
      const form = button.closest('form.prop-row');
      if (await setProp(form, form.dataset.prop, null, { redraw: true })) element.querySelector('#prop-new-name')?.focus();
    } else if (button.dataset.action === 'compose') {
      toggleComposer(button.getAttribute('aria-expanded') !== 'true');
    }
  });

  const toggleComposer = (open) => {
    const slot = element.querySelector('[data-region="composer"]');
    const opener = element.querySelector('[data-action="compose"]');
    opener.setAttribute('aria-expanded', String(open));
    slot.hidden = !open;
    if (open) {
      if (!composer) {
        composer = mountContactComposer(slot, {
          contact,
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

  const refreshConversations = async () => {
    try {
      const page = await get(`/api/v1/conversations?contact_id=${encodeURIComponent(contactId)}&limit=${RECENT_CONVERSATIONS}`);
      if (!alive) return;
      conversations = page?.data ?? [];
      drawConversations();
    } catch (error) {
      console.warn('conversations:', error.message);
    }
  };

  const offs = [
    // Presence moves live.
    subscribe('list', () => contact && drawHead()),
    subscribe('schema', (s) => {
      schema = s.peopleSchema;
      if (contact) {
        drawProps();
        drawTags();
      }
    }),
  ];

  (async () => {
    try {
      contact = await get(`/api/v1/contacts/${encodeURIComponent(contactId)}`);
      if (!alive) return;
      render(element, page());
      drawHead();
      drawProps();
      drawTags();
      drawEvents();
      drawConversations();
      timeline = mountContactTimeline(element.querySelector('[data-region="timeline"]'), {
        contactId: contact.id,
        getContactName: () => contactName(contact),
      });
      document.title = `${name()} · Rapport`;
      element.querySelector('main').focus();
      refreshConversations();
      loadPeopleSchema().catch((error) => console.warn('people schema:', error.message));
    } catch (error) {
      if (!alive) return;
      render(element, html`<main id="main" class="page" tabindex="-1"><p class="breadcrumbs"><a href="#/people">← People</a></p>
        <p class="form-error" role="alert">${error.status === 404 ? 'No such contact.' : error.message}</p></main>`);
    }
  })();

  return () => {
    alive = false;
    listening.abort();
    offs.forEach((off) => off());
    composer?.destroy();
    timeline?.destroy();
  };
}
