// A flow step's fields as form controls, and the form's values read back
// into the step. Markup only (the `html` helper), no DOM, so that
// `node --test` can check the reading: each control's `name` is the
// field's path (`body`, `buttons[1]`, `for.name`) so errors find it.

import { html } from '../../shared/html.js';

const UNITS = [['seconds', 1], ['minutes', 60], ['hours', 3600], ['days', 86400]];

/** `seconds` as the largest whole unit: `{amount: 2, unit: 'hours'}`. */
export function splitDuration(seconds) {
  const s = Number(seconds) || 0;
  for (const [unit, size] of [...UNITS].reverse()) {
    if (s >= size && s % size === 0) return { amount: s / size, unit };
  }
  return { amount: s, unit: 'seconds' };
}

export function joinDuration(amount, unit) {
  const size = UNITS.find(([name]) => name === unit)?.[1] ?? 1;
  const n = Number(amount);
  return Number.isFinite(n) && String(amount).trim() !== '' ? Math.round(n * size) : NaN;
}

/**
 * A `to` (`'round_robin'`, `'nobody'`, `{agent}`, `{team}`) as a select's
 * value (`agent:<id>`, `team:<id>`), and back.
 */
export function assigneeValue(to) {
  if (to && typeof to === 'object') return to.team ? `team:${to.team}` : `agent:${to.agent}`;
  return to || 'nobody';
}

export function assigneeFrom(value) {
  if (value.startsWith('agent:')) return { agent: value.slice(6) };
  if (value.startsWith('team:')) return { team: value.slice(5) };
  return value;
}

/** The type a set_property value is edited as. */
export function valueType(value) {
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'number') return 'number';
  if (typeof value === 'boolean') return 'boolean';
  return 'text';
}

function typedValue(type, text) {
  switch (type) {
    case 'number':
      return String(text).trim() === '' ? NaN : Number(text);
    case 'boolean':
      return text === 'true';
    case 'list':
      return String(text).split(',').map((s) => s.trim()).filter(Boolean);
    default:
      return String(text);
  }
}

const number = (text) => (String(text ?? '').trim() === '' ? NaN : Number(text));
const lines = (text) => String(text ?? '').split('\n').map((s) => s.trim()).filter(Boolean);

/**
 * The step with the form's values (`values`: control name → its value,
 * checkboxes as booleans). Fields the form does not show are kept.
 */
export function readNode(node, values) {
  const has = (name) => Object.prototype.hasOwnProperty.call(values, name);
  const next = { ...node };
  if (has('id')) next.id = values.id.trim();
  for (const field of ['body', 'name', 'tag', 'property', 'url']) if (has(field)) next[field] = values[field];
  if (has('secret')) {
    if (values.secret) next.secret = values.secret;
    else delete next.secret;
  }
  if (has('from')) next.from = values.from === 'bot' ? 'bot' : assigneeFrom(values.from);
  if (has('email_fallback')) next.email_fallback = Boolean(values.email_fallback);
  if (has('until')) {
    if (values.until === 'business_hours') {
      next.business_hours = true;
      delete next.time;
    } else {
      next.time = values.time || '09:00';
      delete next.business_hours;
    }
  }
  if (has('to')) next.to = assigneeFrom(values.to);
  if (has('team')) {
    if (values.team) next.team = values.team;
    else delete next.team;
  }
  for (const field of ['by', 'minutes', 'percent']) if (has(field)) next[field] = number(values[field]);
  if (has('value')) next.value = typedValue(values.value_type ?? 'text', values.value);
  if (has('seconds_amount')) next.seconds = joinDuration(values.seconds_amount, values.seconds_unit);
  if (has('timeout_amount')) {
    if (node.type === 'wait_for' || values.timeout_on) next.timeout_seconds = joinDuration(values.timeout_amount, values.timeout_unit);
    else delete next.timeout_seconds;
  }
  if (has('for.type')) {
    next.for = ['event', 'property_changed'].includes(values['for.type'])
      ? { type: values['for.type'], name: values['for.name'] ?? node.for?.name ?? '' } : { type: values['for.type'] };
  }
  const buttons = Object.keys(values).filter((k) => /^buttons\[\d+\]$/.test(k))
    .sort((a, b) => Number(a.slice(8, -1)) - Number(b.slice(8, -1)));
  if (buttons.length || has('buttons')) next.buttons = buttons.map((k) => values[k]);
  if (has('answer')) next.answer = values.answer;
  if (has('choices')) next.choices = lines(values.choices);
  if (has('message')) {
    if (String(values.message).trim()) next.message = values.message;
    else delete next.message;
  }
  if (has('reask')) {
    if (String(values.reask).trim()) next.reask = values.reask;
    else delete next.reask;
  }
  return next;
}

// --- Markup -------------------------------------------------------------------------

const fid = (name) => `node-field-${name.replace(/[^a-z0-9]+/gi, '-')}`;

function errorSlot(name) {
  return html`<p class="field-error" id="${fid(name)}-error" data-error-for="${name}"></p>`;
}

function text(name, label, value, { area = false, hint = '', list = '', required = true } = {}) {
  const id = fid(name);
  const described = `${id}-error${hint ? ` ${id}-hint` : ''}`;
  return html`<div class="field">
    <label for="${id}">${label}</label>
    ${area ? html`<textarea id="${id}" name="${name}" rows="3" aria-describedby="${described}" ${required ? html`required` : ''}>${value ?? ''}</textarea>`
      : html`<input id="${id}" name="${name}" value="${value ?? ''}" autocomplete="off" aria-describedby="${described}"
        ${list ? html`list="${list}"` : ''} ${required ? html`required` : ''}>`}
    ${hint ? html`<p class="field-hint" id="${id}-hint">${hint}</p>` : ''}
    ${errorSlot(name)}
  </div>`;
}

function numberField(name, label, value, { min = '', max = '', step = '1' } = {}) {
  const id = fid(name);
  return html`<div class="field">
    <label for="${id}">${label}</label>
    <input id="${id}" name="${name}" type="number" min="${min}" max="${max}" step="${step}"
      value="${Number.isFinite(value) ? value : ''}" aria-describedby="${id}-error" required>
    ${errorSlot(name)}
  </div>`;
}

/** `options`: `[value, label]` pairs, or `{group, options}` for an `<optgroup>` of them. */
function select(name, label, options, current, { structural = false } = {}) {
  const id = fid(name);
  const option = ([value, text2]) => html`<option value="${value}" ${value === current ? html`selected` : ''}>${text2}</option>`;
  return html`<div class="field">
    <label for="${id}">${label}</label>
    <select id="${id}" name="${name}" aria-describedby="${id}-error" ${structural ? html`data-redraw` : ''}>
      ${options.map((entry) => (Array.isArray(entry) ? option(entry)
    : html`<optgroup label="${entry.group}">${entry.options.map(option)}</optgroup>`))}
    </select>
    ${errorSlot(name)}
  </div>`;
}

const optionValues = (options) => options.flatMap((entry) => (Array.isArray(entry) ? [entry[0]] : entry.options.map(([v]) => v)));

/**
 * `options` with `current` kept when none of them is it (a team since
 * deleted, a teammate since removed, or lists not loaded yet), so that
 * the select does not quietly change the step.
 */
function keeping(options, current, label) {
  return !current || optionValues(options).includes(current) ? options : [...options, [current, label]];
}

function missingLabel(value, { agents, teams }) {
  if (value.startsWith('team:')) return teams ? 'A deleted team' : 'A team';
  return agents.length ? 'A removed teammate' : 'A teammate';
}

function durationField(prefix, field, label, seconds) {
  const { amount, unit } = splitDuration(seconds);
  const id = fid(`${prefix}_amount`);
  return html`<div class="field">
    <label for="${id}">${label}</label>
    <div class="input-with-button">
      <input id="${id}" name="${prefix}_amount" type="number" min="1" step="1" value="${amount || ''}"
        aria-describedby="${fid(field)}-error" required>
      <select name="${prefix}_unit" aria-label="${label}: unit">
        ${UNITS.map(([name]) => html`<option value="${name}" ${name === unit ? html`selected` : ''}>${name}</option>`)}
      </select>
    </div>
    ${errorSlot(field)}
  </div>`;
}

function optionalTimeout(node, label) {
  const on = node.timeout_seconds != null;
  return html`<label class="check"><input type="checkbox" name="timeout_on" data-redraw ${on ? html`checked` : ''}>
      Give up after a while (the <em>Timed out</em> exit)</label>
    ${on ? durationField('timeout', 'timeout_seconds', label, node.timeout_seconds)
    : html`<input type="hidden" name="timeout_amount" value="">${errorSlot('timeout_seconds')}`}`;
}

/**
 * The choices of a "to" (or, with `bot`, a "from") select: round robin,
 * nobody, each team (round robin among its members) and each teammate.
 */
export function assigneeOptions(agents, { bot = false, teams = null } = {}) {
  const people = agents.map((agent) => [`agent:${agent.id}`, agent.name]);
  if (bot) return [['bot', 'The bot'], ...people];
  return [
    ['round_robin', 'Round robin (the available teammate with the fewest open)'],
    ['nobody', 'Nobody (unassigned)'],
    ...(teams?.length ? [{ group: 'A team (round robin among its available members)', options: teams.map((team) => [`team:${team.id}`, team.name]) }] : []),
    ...(people.length ? [{ group: 'A teammate', options: people }] : []),
  ];
}

function assigneeSelect(name, label, current, lists, { bot = false } = {}) {
  const options = assigneeOptions(lists.agents, { bot, teams: lists.teams });
  return select(name, label, keeping(options, current, missingLabel(current, lists)), current);
}

/**
 * The controls for a step's own fields. `agents`: `[{id, name}]`;
 * `teams`: `[{id, name}]`, or null while they are not known.
 */
export function nodeFields(node, { agents = [], teams = null } = {}) {
  const lists = { agents, teams };
  switch (node.type) {
    case 'send_message':
      return html`
        ${assigneeSelect('from', 'From', node.from === 'bot' ? 'bot' : assigneeValue(node.from), lists, { bot: true })}
        ${text('body', 'Message', node.body, { area: true, hint: 'Markdown and {{ user.name }} placeholders work here.' })}
        <label class="check"><input type="checkbox" name="email_fallback" ${node.email_fallback !== false ? html`checked` : ''}>
          Email it if unread</label>`;
    case 'note':
      return text('body', 'Note (only the team sees it)', node.body, { area: true });
    case 'webhook':
      return html`${text('url', 'URL (https)', node.url, { hint: 'Gets the contact and the triggering event as JSON, retried until it answers 2xx.' })}
        ${text('secret', 'Signing secret (optional)', node.secret, { required: false,
    hint: 'Signs each call: Rapport-Signature is the HMAC-SHA256 of “t.body”.' })}`;
    case 'set_property': {
      const type = valueType(node.value);
      return html`${text('name', 'Property', node.name, { list: 'automation-properties' })}
        ${select('value_type', 'Value is', [['text', 'Text'], ['number', 'A number'], ['boolean', 'Yes or no'], ['list', 'A list']], type, { structural: true })}
        ${type === 'boolean' ? select('value', 'Value', [['true', 'Yes'], ['false', 'No']], String(node.value))
    : text('value', type === 'list' ? 'Values, separated by commas' : 'Value', type === 'list' ? node.value.join(', ') : Number.isNaN(node.value) ? '' : node.value, { required: false })}`;
    }
    case 'unset_property':
      return text('name', 'Property', node.name, { list: 'automation-properties' });
    case 'increment_property':
      return html`${text('name', 'Property', node.name, { list: 'automation-properties' })}
        ${numberField('by', 'Add', node.by, { step: 'any' })}`;
    case 'add_tag':
    case 'remove_tag':
      return text('tag', 'Tag', node.tag, { list: 'automation-tags' });
    case 'assign':
      return assigneeSelect('to', 'Assign to', assigneeValue(node.to), lists);
    case 'handover':
      return html`${assigneeSelect('to', 'Hand over to', assigneeValue(node.to), lists)}
        ${text('message', 'Tell the person (optional)', node.message, { area: true, required: false,
    hint: 'Left empty, the office’s reply-time text is sent.' })}`;
    case 'snooze':
      return numberField('minutes', 'Snooze for (minutes)', node.minutes, { min: 1 });
    case 'split':
      return numberField('percent', 'Share taking exit A (%)', node.percent, { min: 0, max: 100 });
    case 'wait':
      return durationField('seconds', 'seconds', 'Wait for', node.seconds);
    case 'wait_until': {
      const mode = node.business_hours ? 'business_hours' : 'time';
      return html`${select('until', 'Wait until', [['time', 'A time of day (office time zone)'], ['business_hours', 'Business hours open']], mode, { structural: true })}
        ${mode === 'time' ? html`<label>Time <input type="time" name="time" value="${node.time ?? '09:00'}" required></label>` : ''}`;
    }
    case 'wait_for': {
      const kind = node.for?.type ?? 'reply';
      return html`${select('for.type', 'Wait for', [['reply', 'A reply from the person'], ['team_reply', 'A reply from the team'],
        ['event', 'An event'], ['property_changed', 'A property to change']], kind, { structural: true })}
        ${['event', 'property_changed'].includes(kind) ? text('for.name', kind === 'event' ? 'Event' : 'Property', node.for?.name,
    { list: kind === 'event' ? 'automation-events' : 'automation-properties' }) : ''}
        ${durationField('timeout', 'timeout_seconds', 'At most', node.timeout_seconds)}`;
    }
    case 'bot_message':
      return html`${text('body', 'Message', node.body, { area: true })}
        <fieldset class="button-list"><legend>Reply buttons (each one is an exit)</legend>
          ${(node.buttons ?? []).map((label, i) => html`<div class="input-with-button">
            <input name="${`buttons[${i}]`}" value="${label}" aria-label="${`Button ${i + 1}`}"
              aria-describedby="${fid(`buttons[${i}]`)}-error" data-focus-key="${`button-${i}`}" required>
            <button type="button" class="button ghost small" data-action="remove-button" data-index="${i}"
              aria-label="${`Remove button ${i + 1}`}">✕</button></div>${errorSlot(`buttons[${i}]`)}`)}
          <input type="hidden" name="buttons" value="">
          ${errorSlot('buttons')}
          ${(node.buttons ?? []).length < 10 ? html`<button type="button" class="button small" data-action="add-button"
            data-focus-key="add-button">+ Button</button>` : ''}
        </fieldset>
        ${optionalTimeout(node, 'Wait for a click at most')}`;
    case 'ask':
      return html`${text('body', 'Question', node.body, { area: true })}
        ${text('property', 'Save the answer to the property', node.property, { list: 'automation-properties' })}
        ${select('answer', 'Answer', [['text', 'Text'], ['email', 'An email address'], ['phone', 'A phone number'],
    ['number', 'A number'], ['choice', 'One of some choices']], node.answer, { structural: true })}
        ${node.answer === 'choice' ? text('choices', 'Choices, one per line', (node.choices ?? []).join('\n'), { area: true }) : ''}
        ${text('reask', 'Asked again after an answer that does not fit (optional)', node.reask, { area: true, required: false })}
        ${optionalTimeout(node, 'Wait for an answer at most')}`;
    case 'team_available': {
      const options = [['', 'Any member of the workspace'], ...(teams ?? []).map((team) => [team.id, team.name])];
      return html`${select('team', 'Team', keeping(options, node.team ?? '', teams ? 'A deleted team' : 'A team'), node.team ?? '')}
        <p class="muted">Yes when a member (of the team, if one is chosen) is online, not away and under their open limit.</p>`;
    }
    case 'condition':
      return html`<div class="field"><span class="field-label">Takes <em>Yes</em> when the person matches</span>
        <div data-region="condition-filter"></div>${errorSlot('filter')}</div>`;
    default:
      return html`<p class="muted">${STEP_HELP[node.type] ?? ''}</p>`;
  }
}

const STEP_HELP = {
  close: 'Closes the conversation.',
  reopen: 'Opens the conversation again.',
  business_hours: 'Yes inside the office hours (Settings → Office hours), No outside them and on holidays.',
  contact_replied: 'Yes when the person has written in the conversation since the run began.',
  team_replied: 'Yes when the team has written in the conversation since the run began.',
  end: 'Ends the run.',
};
