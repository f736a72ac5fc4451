// The profile's Properties card: the system properties, the custom ones
// edited in place (typed by the workspace's schema; an emptied input
// unsets one) and "Add a property".

import { html, render } from '../../shared/html.js';
import { updateContactProps } from '../data/contacts.js';
import { loadPeopleSchema } from '../data/people.js';
import { renderKeepingFocus } from '../ui/focus.js';
import { formError, showProblem, clearErrors, whileBusy } from '../ui/forms.js';
import { fullTime } from '../ui/time.js';
import {
  SYSTEM_PROPERTIES, PROPERTY_TYPES, contactValue, typeOfValue, propInputKind, propInputValue, parsePropInput,
  formatPropValue, customProps,
} from './contact-props.js';
import { propertyTypes } from '../people/people-filter.js';
import { unverifiedEmailChip } from './unverified-email.js';

/** The input for a custom property's value; `id` names it and its error slot. */
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

/**
 * `profile` is the profile's `{contact, schema, alive}` (contact-view.js),
 * `merge(updated)` keeps a PATCH's answer, `onSaved` redraws what shows
 * the contact elsewhere.
 */
export function mountPropertiesCard(region, { profile, merge, onSaved }) {
  const listening = new AbortController();
  const listen = (type, fn) => region.addEventListener(type, fn, { signal: listening.signal });
  let newPropType = 'string';
  const saving = new Map(); // property name -> the value last sent, to skip repeats

  const types = () => propertyTypes(profile.schema);
  const typeOf = (name, value) => types().get(name) ?? typeOfValue(value);

  const drawProps = () => {
    const system = SYSTEM_PROPERTIES.filter(([key]) => contactValue(profile.contact, key) !== undefined);
    const custom = customProps(profile.contact);
    const customNames = (profile.schema?.properties ?? []).filter((p) => !p.system).map((p) => p.name);
    // What is being typed in "Add a property" survives the redraw.
    const addForm = region.querySelector('[data-form="add-prop"]');
    const typed = addForm ? { name: addForm.elements.new_name.value, value: addForm.elements.new_value } : null;
    renderKeepingFocus(region, html`
      <h2 id="props-title">Properties</h2>
      <dl class="props" data-testid="system-props">
        ${system.map(([key, label]) => {
          const value = contactValue(profile.contact, key);
          const type = key.endsWith('_at') ? 'datetime' : undefined;
          return html`<dt>${label}</dt><dd data-prop="${key}">${type === 'datetime'
            ? html`<time datetime="${value}" title="${fullTime(value)}">${formatPropValue(value, 'datetime')}</time>`
            : key === 'user_id' ? html`<code>${value}</code>`
              : key === 'email' ? html`${formatPropValue(value)} ${unverifiedEmailChip(profile.contact)}` : formatPropValue(value)}</dd>`;
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
    const form = region.querySelector('[data-form="add-prop"]');
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
      const updated = await updateContactProps(profile.contact.id, { [key]: value });
      if (!profile.alive) return false;
      merge(updated);
      if (!updated?.props) profile.contact = { ...profile.contact, props: { ...profile.contact.props, [key]: value } };
      // Redraw only when rows come or go: an edit in place keeps the other inputs (and what is typed in them).
      if (redraw) drawProps();
      else flash(form, 'Saved');
      onSaved();
      return true;
    } catch (error) {
      saving.delete(key);
      if (profile.alive) showProblem(form, error);
      return false;
    }
  };

  const saveRow = (form) => {
    const key = form.dataset.prop;
    const input = form.elements.value;
    const type = typeOf(key, profile.contact.props?.[key]);
    const parsed = parsePropInput(type, input.type === 'checkbox' ? input.checked : input.value);
    if (parsed.error) {
      showProblem(form, { fieldErrors: { [`props.${key}`]: parsed.error } });
      return;
    }
    // An emptied input unsets the property (and its row goes).
    const unchanged = saving.get(key) === JSON.stringify(parsed.value)
      || JSON.stringify(profile.contact.props?.[key] ?? null) === JSON.stringify(parsed.value);
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
      const updated = await whileBusy(form, () => updateContactProps(profile.contact.id, { [key]: parsed.value }));
      if (!profile.alive) return;
      merge(updated);
      if (!updated?.props) profile.contact = { ...profile.contact, props: { ...profile.contact.props, [key]: parsed.value } };
      newPropType = 'string';
      form.reset();
      drawProps();
      region.querySelector(`[data-prop="${CSS.escape(key)}"] [name="value"]`)?.focus();
      // A new property name is now something the People filter can use.
      if (!types().has(key)) loadPeopleSchema({ force: true }).catch(() => {});
    } catch (error) {
      // The server names `props.<name>`: say it beside the value.
      const messages = error.fieldErrors ?? {};
      const forProp = messages[`props.${key}`];
      showProblem(form, forProp ? { fieldErrors: { new_value: forProp } } : error);
    }
  };

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

  listen('submit', (event) => {
    const form = event.target;
    event.preventDefault();
    if (form.classList.contains('prop-row')) saveRow(form);
    else if (form.dataset.form === 'add-prop') addProp(form);
  });

  listen('click', async (event) => {
    const button = event.target.closest('button');
    if (button?.dataset.action !== 'unset') return;
    const form = button.closest('form.prop-row');
    if (await setProp(form, form.dataset.prop, null, { redraw: true })) region.querySelector('#prop-new-name')?.focus();
  });

  return { draw: drawProps, destroy: () => listening.abort() };
}
