// The automation's "when and who" form: the trigger and its fields, the
// audience (everyone, or people matching a filter), how often one person
// may go through it, and the goal (a filter; reaching it ends a run and
// counts). The filters use the People page's builder.
//
//   const form = mountSettingsForm(element, editor); form.showErrors({field: message});

import { html, render } from '../../shared/html.js';
import { renderKeepingFocus } from '../ui/focus.js';
import { mountFilterBuilder } from '../people/filter-builder.js';
import { builderFromFilter, propertyTypes, locateField } from '../people/people-filter.js';
import { TRIGGER_TYPES, URL_MATCHES, newTrigger } from './definition.js';

const option = (value, label, current) => html`<option value="${value}" ${value === current ? html`selected` : ''}>${label}</option>`;
const slot = (field) => html`<p class="field-error" id="${`auto-${field.replace(/\W+/g, '-')}-error`}" data-error-for="${field}"></p>`;
const described = (field) => `auto-${field.replace(/\W+/g, '-')}-error`;

function triggerFields(trigger) {
  const input = (name, label, value, attrs = html``) => html`<div class="field">
    <label for="${`auto-trigger-${name}`}">${label}</label>
    <input id="${`auto-trigger-${name}`}" name="${`trigger.${name}`}" value="${value ?? ''}" ${attrs}
      aria-describedby="${described(`trigger.${name}`)}" autocomplete="off">
    ${slot(`trigger.${name}`)}</div>`;
  switch (trigger.type) {
    case 'page_visited': {
      const [how, value] = Object.entries(trigger.url ?? {})[0] ?? ['contains', ''];
      return html`<div class="field-row">
        <div class="field"><label for="auto-trigger-url-how">The page address</label>
          <select id="auto-trigger-url-how" name="trigger.url_how">${URL_MATCHES.map(([v, l]) => option(v, l, how))}</select></div>
        ${input('url', how === 'matches' ? 'Pattern (a regular expression)' : 'Text', value, html`spellcheck="false"`)}
        ${input('seconds_on_page', 'After seconds on the page', trigger.seconds_on_page ?? 0, html`type="number" min="0" step="1"`)}
      </div>`;
    }
    case 'event_tracked':
      return input('name', 'Event name', trigger.name, html`list="automation-events"`);
    case 'property_changed':
      return input('name', 'Property', trigger.name, html`list="automation-properties"`);
    case 'tag_added':
      return input('tag', 'Tag', trigger.tag, html`list="automation-tags"`);
    case 'no_team_reply':
    case 'contact_unresponsive':
      return input('minutes', 'After minutes', trigger.minutes, html`type="number" min="1" step="1"`);
    case 'date_reached':
      return html`<div class="field-row">
        ${input('property', 'Date property', trigger.property, html`list="automation-properties"`)}
        ${input('offset_days', 'Days after it (negative: before)', trigger.offset_days ?? 0, html`type="number" min="-3650" max="3650" step="1"`)}
      </div>`;
    case 'status_changed':
      return html`<div class="field"><label for="auto-trigger-to">To</label>
        <select id="auto-trigger-to" name="trigger.to">
          ${[['', 'Any status'], ['open', 'Open'], ['snoozed', 'Snoozed'], ['closed', 'Closed']].map(([v, l]) => option(v, l, trigger.to ?? ''))}
        </select></div>`;
    default:
      return '';
  }
}

function readTrigger(trigger, form) {
  const value = (name) => form.elements.namedItem(`trigger.${name}`)?.value;
  const next = { type: trigger.type };
  switch (trigger.type) {
    case 'page_visited':
      next.url = { [value('url_how') || 'contains']: value('url') ?? '' };
      next.seconds_on_page = Math.max(0, Math.round(Number(value('seconds_on_page')) || 0));
      break;
    case 'event_tracked':
    case 'property_changed':
      next.name = (value('name') ?? '').trim();
      break;
    case 'tag_added':
      next.tag = (value('tag') ?? '').trim();
      break;
    case 'no_team_reply':
    case 'contact_unresponsive':
      next.minutes = Number(value('minutes'));
      break;
    case 'status_changed':
      next.to = value('to') || null;
      break;
    case 'date_reached':
      next.property = (value('property') ?? '').trim();
      next.offset_days = Math.round(Number(value('offset_days')) || 0);
      break;
    default:
  }
  return next;
}

export function mountSettingsForm(element, editor) {
  const builders = {};

  const draw = () => {
    const { trigger, audience, goal, frequency } = editor.settings;
    renderKeepingFocus(element, html`
      <form class="automation-settings" data-form="automation-settings" novalidate data-testid="automation-settings">
        <p class="form-error" role="alert" data-settings-error></p>
        <section class="card" aria-labelledby="auto-when">
          <h2 id="auto-when">When</h2>
          <div class="field"><label for="auto-trigger-type">A person…</label>
            <select id="auto-trigger-type" name="trigger.type" data-focus-key="trigger-type" data-testid="automation-trigger"
              aria-describedby="${described('trigger.type')}">
              ${Object.entries(TRIGGER_TYPES).map(([type, spec]) => option(type, spec.label, trigger.type))}
            </select>${slot('trigger.type')}</div>
          ${triggerFields(trigger)}
          ${slot('trigger')}
        </section>
        <section class="card" aria-labelledby="auto-who">
          <h2 id="auto-who">Who</h2>
          <fieldset class="radio-list"><legend class="visually-hidden">Who may go through it</legend>
            <label><input type="radio" name="audience_on" value="no" data-focus-key="aud-no" ${audience ? '' : html`checked`}> Everyone</label>
            <label><input type="radio" name="audience_on" value="yes" data-focus-key="aud-yes" ${audience ? html`checked` : ''}> Only people who match</label>
          </fieldset>
          <div data-region="audience"></div>${slot('audience')}
          <div class="field"><label for="auto-frequency">How often one person may go through it</label>
            <select id="auto-frequency" name="frequency.type" data-focus-key="frequency" aria-describedby="${described('frequency.days')}">
              ${[['once', 'Once'], ['every_days', 'At most once every … days'], ['every_time', 'Every time (one run at a time)']]
                .map(([v, l]) => option(v, l, frequency.type))}
            </select></div>
          ${frequency.type === 'every_days' ? html`<div class="field"><label for="auto-frequency-days">Days</label>
            <input id="auto-frequency-days" name="frequency.days" type="number" min="1" max="3650" step="1"
              value="${frequency.days ?? 7}" aria-describedby="${described('frequency.days')}"></div>` : ''}
          ${slot('frequency.days')}
        </section>
        <section class="card" aria-labelledby="auto-goal">
          <h2 id="auto-goal">Goal</h2>
          <label class="check"><input type="checkbox" name="goal_on" data-focus-key="goal-on" ${goal ? html`checked` : ''}>
            End a run and count it when the person matches</label>
          <div data-region="goal"></div>${slot('goal')}
        </section>
      </form>`);
    const types = propertyTypes(editor.schema());
    for (const [key, filter] of [['audience', audience], ['goal', goal]]) {
      builders[key] = null;
      const region = element.querySelector(`[data-region="${key}"]`);
      if (!filter) continue;
      const group = builderFromFilter(filter, types);
      if (!group) {
        render(region, html`<p class="notice">This filter is more than the builder can show; it is kept as it is.</p>`);
        continue;
      }
      builders[key] = mountFilterBuilder(region, {
        initial: group,
        getSchema: () => editor.schema(),
        getSegments: () => editor.segments(),
        onChange: () => editor.changeSettings({ ...editor.settings, [key]: builders[key].compiled().filter }),
      });
    }
  };

  const read = (form, target) => {
    const settings = { ...editor.settings };
    const name = target.name;
    if (name === 'trigger.type') settings.trigger = newTrigger(target.value);
    else if (name.startsWith('trigger.')) settings.trigger = readTrigger(settings.trigger, form);
    else if (name === 'audience_on') settings.audience = target.value === 'yes' ? (settings.audience ?? { and: [] }) : null;
    else if (name === 'goal_on') settings.goal = target.checked ? (settings.goal ?? { and: [] }) : null;
    else if (name === 'frequency.type') {
      settings.frequency = target.value === 'every_days' ? { type: 'every_days', days: 7 } : { type: target.value };
    } else if (name === 'frequency.days') settings.frequency = { type: 'every_days', days: Number(target.value) };
    else return null;
    return settings;
  };

  const structural = new Set(['trigger.type', 'trigger.url_how', 'audience_on', 'goal_on', 'frequency.type']);
  const onEdit = (event) => {
    const form = event.target.closest('form[data-form="automation-settings"]');
    if (!form || event.target.closest('[data-region="audience"], [data-region="goal"]')) return;
    const next = read(form, event.target);
    if (!next) return;
    editor.changeSettings(next);
    if (structural.has(event.target.name) && event.type === 'change') draw();
  };
  element.addEventListener('input', onEdit);
  element.addEventListener('change', onEdit);

  /** `errors`: field → message, for trigger.*, frequency.*, audience.*, goal.*. */
  const showErrors = (errors = {}) => {
    const form = element.querySelector('form');
    if (!form) return;
    const rest = { ...errors };
    for (const place of form.querySelectorAll('[data-error-for]')) {
      render(place, html`${rest[place.dataset.errorFor] ?? ''}`);
      delete rest[place.dataset.errorFor];
    }
    for (const key of ['audience', 'goal']) {
      const faults = Object.entries(rest).filter(([field]) => field.startsWith(`${key}.`) || field.startsWith(`${key}[`));
      if (!builders[key]) continue;
      const { paths } = builders[key].compiled();
      const rows = {};
      let top = '';
      for (const [field, message] of faults) {
        const where = locateField(field.replace(key, 'filter'), paths);
        if (where?.id) rows[where.id] = { message, part: where.part ?? '' };
        else top = message;
        delete rest[field];
      }
      builders[key].showErrors(rows, top);
    }
    render(form.querySelector('[data-settings-error]'), html`${Object.entries(rest).map(([f, m]) => `${f}: ${m}`).join(' ')}`);
  };

  return { draw, showErrors };
}
