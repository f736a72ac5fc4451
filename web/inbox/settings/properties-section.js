// Settings > Properties: the workspace's custom contact properties, each
// with its type and whether visitors may set it from the messenger (off
// unless an admin turns it on), and defining a new one.
//
//   const destroy = mountPropertiesSection(element, { manage });

import { html, render } from '../../shared/html.js';
import { getPropertySettings, saveProperty } from '../data/settings.js';
import { formError, formValues, showProblem, showFieldErrors, clearErrors, whileBusy } from '../ui/forms.js';
import { PROPERTY_TYPES, propertyNameError, sortedPropertySettings } from '../contacts/contact-props.js';

const TYPE_LABELS = new Map(PROPERTY_TYPES);

function propertyRow(setting, manage) {
  const id = `prop-writable-${setting.name}`;
  return html`<tr data-testid="property-row" data-property="${setting.name}">
    <th scope="row"><code>${setting.name}</code></th>
    <td>${TYPE_LABELS.get(setting.type) ?? setting.type}</td>
    <td>
      <label class="switch compact" for="${id}">
        <input type="checkbox" role="switch" id="${id}" data-writable="${setting.name}"
          data-testid="property-writable" ${setting.messenger_writable ? html`checked` : ''}
          ${manage ? '' : html`disabled`} aria-label="${`Visitors may set ${setting.name} from the messenger`}">
        <span class="switch-track" aria-hidden="true"></span>
        <span class="muted small" data-state>${setting.messenger_writable ? 'Visitors may set it' : 'Team and API only'}</span>
      </label>
      <p class="field-error" role="alert" data-row-error></p>
    </td>
  </tr>`;
}

function table(settings, manage) {
  if (!settings.length) {
    return html`<p class="muted" data-testid="properties-empty">No custom properties yet. They appear here when your
      API or an import first sets one, or when you define one below.</p>`;
  }
  return html`<table class="settings-table" data-testid="properties-table">
    <thead><tr><th scope="col">Property</th><th scope="col">Type</th>
      <th scope="col">Visitors may set it from the messenger</th></tr></thead>
    <tbody>${settings.map((setting) => propertyRow(setting, manage))}</tbody>
  </table>`;
}

export function mountPropertiesSection(element, { manage }) {
  let settings = [];
  const listening = new AbortController();
  const listen = (type, fn) => element.addEventListener(type, fn, { signal: listening.signal });

  render(element, html`
    <section class="card" aria-labelledby="s-properties" data-testid="properties-section">
      <h2 id="s-properties">Contact properties</h2>
      <p>Custom properties hold what you know about people (a plan, a company size). Your API, imports and your
        team can set any of them. The messenger on your site can set only those you open to it here: it runs in
        your visitors' browsers, so anything it sends is what a visitor chose to say, and anyone can send it.
        New properties are closed to the messenger: open only what a visitor may say about themselves, never
        something you rely on, like a plan or a role.</p>
      <div data-region="properties"><p class="muted" role="status">Loading properties…</p></div>
      ${manage ? html`
        <form data-form="property" class="add-property" novalidate>
          <h3>Define a property</h3>
          ${formError()}
          <div class="field-row add-property-fields">
            <div class="field">
              <label for="property-name">Name</label>
              <input id="property-name" name="name" required maxlength="64" autocomplete="off" spellcheck="false"
                data-testid="property-name">
              <p class="field-hint" id="property-name-hint">Letters, digits, <code>_</code> or <code>-</code>, as your code names it.</p>
              <p class="field-error" id="property-name-error" data-error-for="name"></p>
            </div>
            <div class="field">
              <label for="property-type">Type</label>
              <select id="property-type" name="type" data-testid="property-type" aria-describedby="property-type-error">
                ${PROPERTY_TYPES.map(([value, label]) => html`<option value="${value}">${label}</option>`)}
              </select>
              <p class="field-error" id="property-type-error" data-error-for="type"></p>
            </div>
          </div>
          <div class="form-actions">
            <button type="submit" class="button primary small" data-testid="property-submit">Define property</button>
            <span class="saved-note" role="status" data-saved></span>
          </div>
        </form>` : ''}
    </section>`);

  const region = element.querySelector('[data-region="properties"]');
  const draw = () => render(region, table(settings, manage));

  const load = async () => {
    try {
      settings = sortedPropertySettings(await getPropertySettings());
      draw();
    } catch (error) {
      render(region, html`<p class="form-error" role="alert">Could not load the properties: ${error.message}</p>`);
    }
  };

  listen('change', async (event) => {
    const input = event.target;
    const name = input.dataset.writable;
    if (!name) return;
    const row = input.closest('tr');
    const error = row.querySelector('[data-row-error]');
    render(error, html``);
    input.disabled = true;
    try {
      const saved = await saveProperty(name, { messenger_writable: input.checked });
      settings = settings.map((setting) => (setting.name === name ? { ...setting, ...saved } : setting));
      input.checked = Boolean(saved?.messenger_writable ?? input.checked);
      render(row.querySelector('[data-state]'), html`${input.checked ? 'Visitors may set it' : 'Team and API only'}`);
    } catch (failure) {
      input.checked = !input.checked;
      render(error, html`${failure.message}`);
    } finally {
      input.disabled = false;
      input.focus();
    }
  });

  listen('submit', async (event) => {
    const form = event.target;
    if (form.dataset.form !== 'property') return;
    event.preventDefault();
    const { name: rawName, type } = formValues(form);
    const name = rawName.trim();
    const problem = propertyNameError(name);
    if (problem) {
      showFieldErrors(form, [{ field: 'name', message: problem }]);
      return;
    }
    clearErrors(form);
    try {
      const saved = await whileBusy(form, () => saveProperty(name, { type }));
      settings = sortedPropertySettings([...settings.filter((s) => s.name !== saved.name), saved]);
      draw();
      form.reset();
      const note = form.querySelector('[data-saved]');
      render(note, html`Defined ${saved.name}: closed to the messenger until you open it above`);
      setTimeout(() => render(note, html``), 4000);
      form.elements.name.focus();
    } catch (failure) {
      showProblem(form, failure);
    }
  });

  load();
  return () => listening.abort();
}
