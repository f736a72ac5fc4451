// The checks the editor makes before publishing, with no DOM: the same
// faults the server would find (it checks again), named by the same paths
// (`flow.nodes[2].body`, `trigger.minutes`), plus which nodes no path from
// the start reaches and which exits lead nowhere, for the drawing to
// highlight. An exit left unconnected ends the run there: not a fault.
// Also: where a fault's path puts it (which node, which field).

import { NODE_ID, NODE_TYPES, TRIGGER_TYPES, exitNames } from './definition.js';
import { depths } from './layout.js';

export const MAX_NODES = 200;
export const MAX_WAIT_SECONDS = 90 * 24 * 3600;
const MAX_BUTTONS = 10;
const MAX_LABEL = 80;

const blank = (text) => typeof text !== 'string' || !text.trim();
const whole = (n, min, max) => Number.isInteger(n) && n >= min && n <= max;

function checkNode(node, at, push) {
  const text = (field) => blank(node[field]) && push(`${at}.${field}`, 'Write something.');
  const name = (field, value = node[field]) => blank(value) && push(`${at}.${field}`, 'Enter a name.');
  const wait = (field) => !whole(node[field], 1, MAX_WAIT_SECONDS) && push(`${at}.${field}`, 'Must be 1 second to 90 days.');
  switch (node.type) {
    case 'send_message':
    case 'note':
      text('body');
      break;
    case 'webhook':
      if (!/^https?:\/\/[^/\s]+/.test(node.url ?? '')) push(`${at}.url`, 'Enter an https:// URL.');
      break;
    case 'set_property':
    case 'unset_property':
      name('name');
      break;
    case 'increment_property':
      name('name');
      if (!Number.isFinite(node.by)) push(`${at}.by`, 'Enter a number.');
      break;
    case 'add_tag':
    case 'remove_tag':
      name('tag');
      break;
    case 'snooze':
      if (!whole(node.minutes, 1, 129600)) push(`${at}.minutes`, 'Must be 1 to 129600 minutes.');
      break;
    case 'split':
      if (!whole(node.percent, 0, 100)) push(`${at}.percent`, 'Must be 0 to 100.');
      break;
    case 'wait':
      wait('seconds');
      break;
    case 'wait_until':
      if (Boolean(node.business_hours) === /^\d\d:\d\d$/.test(node.time ?? '')) {
        push(`${at}.time`, 'Give a time of day (HH:MM), or wait until business hours.');
      }
      break;
    case 'wait_for':
      wait('timeout_seconds');
      if (['event', 'property_changed'].includes(node.for?.type)) name('for.name', node.for.name);
      break;
    case 'bot_message': {
      text('body');
      const buttons = node.buttons ?? [];
      if (!buttons.length || buttons.length > MAX_BUTTONS) push(`${at}.buttons`, `Give it 1 to ${MAX_BUTTONS} buttons.`);
      const seen = new Set();
      buttons.forEach((label, i) => {
        const key = String(label ?? '').trim().toLowerCase();
        if (!key || key.length > MAX_LABEL) push(`${at}.buttons[${i}]`, `A label is 1 to ${MAX_LABEL} characters.`);
        else if (seen.has(key)) push(`${at}.buttons[${i}]`, 'Repeats another button.');
        seen.add(key);
      });
      if (node.timeout_seconds != null) wait('timeout_seconds');
      break;
    }
    case 'ask':
      text('body');
      name('property');
      if (node.answer === 'choice' && !(node.choices?.length >= 1 && node.choices.length <= MAX_BUTTONS)) {
        push(`${at}.choices`, `A choice question offers 1 to ${MAX_BUTTONS} choices.`);
      }
      if (node.timeout_seconds != null) wait('timeout_seconds');
      break;
    default:
  }
}

function checkTrigger(trigger, push) {
  if (!TRIGGER_TYPES[trigger?.type]) {
    push('trigger.type', 'Choose a trigger.');
    return;
  }
  switch (trigger.type) {
    case 'page_visited': {
      const value = Object.values(trigger.url ?? {})[0];
      if (blank(value)) push('trigger.url', 'Enter part of an address.');
      break;
    }
    case 'event_tracked':
    case 'property_changed':
      if (blank(trigger.name)) push('trigger.name', 'Enter a name.');
      break;
    case 'tag_added':
      if (blank(trigger.tag)) push('trigger.tag', 'Enter a tag.');
      break;
    case 'date_reached':
      if (blank(trigger.property)) push('trigger.property', 'Enter a date property.');
      if (!Number.isInteger(Number(trigger.offset_days)) || Math.abs(Number(trigger.offset_days)) > 3650) {
        push('trigger.offset_days', 'Must be a whole number of days, -3650 to 3650.');
      }
      break;
    case 'no_team_reply':
    case 'contact_unresponsive':
      if (!whole(trigger.minutes, 1, 129600)) push('trigger.minutes', 'Must be 1 minute or more.');
      break;
    default:
  }
}

/**
 * Checks a definition as publishing would. Returns `{errors: [{field,
 * message}], unreachable: [id], dangling: [{node, exit}], publishable,
 * reason}`: `reason` says in a sentence why it cannot be published.
 */
export function validateDefinition(definition) {
  const errors = [];
  const push = (field, message) => errors.push({ field, message });
  checkTrigger(definition?.trigger, push);
  const frequency = definition?.frequency;
  if (frequency?.type === 'every_days' && !whole(frequency.days, 1, 3650)) push('frequency.days', 'Must be 1 to 3650 days.');
  const flow = definition?.flow ?? { start: '', nodes: [] };
  const nodes = flow.nodes ?? [];
  const ids = new Set(nodes.map((n) => n.id));
  const dangling = [];
  let unreachable = [];
  if (!nodes.length) push('flow.nodes', 'Add at least one step.');
  else if (nodes.length > MAX_NODES) push('flow.nodes', `A flow has at most ${MAX_NODES} steps.`);
  else if (!ids.has(flow.start)) push('flow.start', 'Choose the step the flow starts with.');
  const seen = new Set();
  nodes.forEach((node, i) => {
    const at = `flow.nodes[${i}]`;
    if (!NODE_ID.test(node.id ?? '')) push(`${at}.id`, 'Use 1 to 64 letters, digits, - or _.');
    else if (seen.has(node.id)) push(`${at}.id`, 'Another step has this id.');
    seen.add(node.id);
    if (!NODE_TYPES[node.type]) push(`${at}.type`, `Unknown step type ${node.type}.`);
    else checkNode(node, at, push);
    const exits = exitNames(node);
    for (const [exit, target] of Object.entries(node.exits ?? {})) {
      if (!exits.includes(exit)) {
        push(`${at}.exits.${exit}`, `This step has no exit ${exit}.`);
        dangling.push({ node: node.id, exit });
      } else if (!ids.has(target)) {
        push(`${at}.exits.${exit}`, `Leads to ${target}, which is not a step of this flow.`);
        dangling.push({ node: node.id, exit });
      }
    }
  });
  if (ids.has(flow.start)) {
    const reached = depths(flow);
    unreachable = nodes.filter((n) => !reached.has(n.id)).map((n) => n.id);
    nodes.forEach((node, i) => {
      if (!reached.has(node.id)) push(`flow.nodes[${i}]`, `No path from the start reaches ${node.id}.`);
    });
  }
  return { errors, unreachable, dangling, publishable: errors.length === 0, reason: reasonOf(errors) };
}

function reasonOf(errors) {
  if (!errors.length) return '';
  const [first] = errors;
  const more = errors.length - 1;
  return `${describe(first)}${more ? ` (and ${more} more ${more === 1 ? 'problem' : 'problems'})` : ''}`;
}

function describe({ field, message }) {
  const node = /^flow\.nodes\[(\d+)\]/.exec(field);
  if (node) return `Step ${Number(node[1]) + 1}: ${message}`;
  if (field.startsWith('trigger')) return `Trigger: ${message}`;
  return message;
}

/**
 * Sorts faults (the server's or ours) by where they belong:
 * `{nodes: {nodeId: {field: message}}, settings: {field: message}, other: [text]}`.
 * A node's own fault (unreachable) has the field `''`; a filter's
 * (`flow.nodes[1].filter.and[0].op`) keeps its full path under `filter…`.
 */
export function placeErrors(errors, definition) {
  const nodes = {};
  const settings = {};
  const other = [];
  const list = definition?.flow?.nodes ?? [];
  for (const { field = '', message } of errors ?? []) {
    const match = /^flow\.nodes\[(\d+)\](?:\.(.*))?$/.exec(field);
    const node = match && list[Number(match[1])];
    if (node) {
      const slot = (nodes[node.id] ??= {});
      const key = match[2] ?? '';
      slot[key] = slot[key] ? `${slot[key]} ${message}` : message;
    } else if (/^(trigger|frequency|audience|goal|name)([.[]|$)/.test(field)) {
      settings[field] ??= message;
    } else {
      other.push(field ? `${field}: ${message}` : message);
    }
  }
  return { nodes, settings, other };
}
