// The People filter builder's model, with no DOM: conditions as the builder
// holds them (the inputs' raw text), the filter JSON they compile to
// (docs/people.md), the way back (a saved segment into the builder), and
// which row a server error's `field` names. The top group may hold
// conditions and groups of conditions (one level of nesting, no deeper).
// Touches no DOM, so that `node --test` can load it.

import { fromDateTimeLocal, toDateTimeLocal } from '../ui/time.js';

/** The operators per type when the schema does not list them. */
export const OPERATORS = {
  string: ['eq', 'ne', 'contains', 'not_contains', 'starts_with', 'in', 'is_set', 'not_set'],
  number: ['eq', 'ne', 'gt', 'lt', 'between', 'is_set', 'not_set'],
  boolean: ['eq', 'is_set', 'not_set'],
  datetime: ['before', 'after', 'more_than_days_ago', 'less_than_days_ago', 'is_set', 'not_set'],
  list: ['contains', 'not_contains', 'is_set', 'not_set'],
  event: ['performed', 'not_performed', 'count_at_least', 'first_within_days', 'last_within_days'],
  tag: ['has', 'has_not'],
  conversation_tag: ['has', 'has_not'],
};

// `{"online": true}`, `{"open_conversation": false}` and `{"segment": id}`
// have no operator of their own; the builder offers these in its place.
const FLAG_OPERATORS = ['true', 'false'];
const SEGMENT_OPERATORS = ['in'];

const LABELS = {
  eq: 'is', ne: 'is not', contains: 'contains', not_contains: 'does not contain',
  starts_with: 'starts with', in: 'is one of', is_set: 'has any value', not_set: 'has no value',
  gt: 'is more than', lt: 'is less than', between: 'is between',
  before: 'is before', after: 'is after',
  more_than_days_ago: 'is more than … days ago', less_than_days_ago: 'is less than … days ago',
  performed: 'was performed', not_performed: 'was never performed',
  count_at_least: 'was performed at least … times',
  first_within_days: 'was first performed in the last … days',
  last_within_days: 'was last performed in the last … days',
  has: 'is applied', has_not: 'is not applied',
};

const SPECIAL_LABELS = {
  online: { true: 'is online now', false: 'is not online now' },
  open_conversation: { true: 'has an open conversation', false: 'has no open conversation' },
  segment: { in: 'is in this segment' },
  conversation_tag: { has: 'has a conversation tagged with it', has_not: 'has no conversation tagged with it' },
};

/** What a row's operator select says for `op` on a subject of `type`. */
export function operatorLabel(type, op) {
  return SPECIAL_LABELS[type]?.[op] ?? LABELS[op] ?? String(op).replaceAll('_', ' ');
}

/**
 * The operators a subject of `type` offers: the schema's list for the type
 * when it has one (names, or objects with `op` / `name`), else ours.
 */
export function operatorsFor(type, schemaOperators) {
  if (type === 'online' || type === 'open_conversation') return FLAG_OPERATORS;
  if (type === 'segment') return SEGMENT_OPERATORS;
  const listed = schemaOperators?.[type];
  if (Array.isArray(listed) && listed.length) {
    const names = listed.map((o) => (typeof o === 'string' ? o : o?.op ?? o?.name)).filter(Boolean);
    if (names.length) return names;
  }
  return OPERATORS[type] ?? OPERATORS.string;
}

const NO_VALUE = new Set(['is_set', 'not_set', 'performed', 'not_performed', 'has', 'has_not', 'true', 'false']);
const DAYS = new Set(['more_than_days_ago', 'less_than_days_ago', 'first_within_days', 'last_within_days']);

/**
 * The input a condition needs: 'none', 'text', 'number', 'range' (two
 * numbers), 'list' (strings), 'boolean', 'datetime', 'days' or 'count'
 * (whole numbers).
 */
export function valueKind(type, op) {
  if (type === 'segment' || NO_VALUE.has(op)) return 'none';
  if (op === 'between') return 'range';
  if (op === 'in') return 'list';
  if (DAYS.has(op)) return 'days';
  if (op === 'count_at_least') return 'count';
  if (type === 'number') return 'number';
  if (type === 'boolean') return 'boolean';
  if (type === 'datetime') return 'datetime';
  return 'text';
}

/** `"a, b ,, c"` → `["a", "b", "c"]`. */
export function parseList(text) {
  return String(text ?? '').split(',').map((item) => item.trim()).filter(Boolean);
}

function parseNumber(text) {
  const trimmed = String(text ?? '').trim();
  if (!trimmed) return null;
  const n = Number(trimmed);
  return Number.isFinite(n) ? n : null;
}

function parseWhole(text) {
  const trimmed = String(text ?? '').trim();
  return /^\d+$/.test(trimmed) ? Number(trimmed) : null;
}

/** `{name: type}` from the schema's `properties` (`[{name, type, system}]`). */
export function propertyTypes(schema) {
  const types = new Map();
  for (const property of schema?.properties ?? []) {
    if (property?.name) types.set(property.name, property.type ?? 'string');
  }
  return types;
}

/**
 * A row's subject as the builder's select holds it: `prop:plan`,
 * `event:logged_in`, `tag:vip`, `conversation_tag:refund`, `segment:<id>`,
 * `online` or `open_conversation`. Null when nothing is chosen.
 */
export function parseSubject(subject) {
  if (subject === 'online' || subject === 'open_conversation') return { kind: subject, name: null };
  const match = /^(prop|event|tag|conversation_tag|segment):(.+)$/s.exec(subject ?? '');
  return match ? { kind: match[1], name: match[2] } : null;
}

/** The type that picks a subject's operators and value input. */
export function subjectType(subject, types) {
  const parsed = parseSubject(subject);
  if (!parsed) return null;
  if (parsed.kind === 'prop') return types.get(parsed.name) ?? 'string';
  return parsed.kind;
}

let lastId = 0;
/** A fresh id for a row or group (unique in this page's life). */
export function nextId(prefix = 'c') {
  lastId += 1;
  return `${prefix}${lastId}`;
}

export function newCondition(subject = '', op = '') {
  return { id: nextId('c'), subject, op, value: '', value2: '' };
}

export function newGroup(match = 'and', items = []) {
  return { id: nextId('g'), match, items };
}

/** Whether an item of a group is itself a group. */
export const isGroup = (item) => Array.isArray(item?.items);

/** A condition with `subject` chosen: its first operator, and empty values. */
export function withSubject(condition, subject, types, schemaOperators) {
  const type = subjectType(subject, types);
  const op = type ? operatorsFor(type, schemaOperators)[0] : '';
  return { ...condition, subject, op, value: type === 'boolean' ? 'true' : '', value2: '' };
}

/** A condition with operator `op`: values kept when the new operator takes the same input. */
export function withOperator(condition, op, types) {
  const type = subjectType(condition.subject, types);
  const same = valueKind(type, condition.op) === valueKind(type, op);
  return same ? { ...condition, op } : { ...condition, op, value: type === 'boolean' ? 'true' : '', value2: '' };
}

/**
 * One row as a filter node: `{node}`, or `{problem, part}` saying why it
 * cannot be applied yet (`part` is the input at fault).
 */
export function compileCondition(condition, types) {
  const subject = parseSubject(condition.subject);
  if (!subject) return { problem: 'Choose what to filter on.', part: 'subject' };
  const type = subjectType(condition.subject, types);
  const { op } = condition;
  switch (subject.kind) {
    case 'online':
    case 'open_conversation':
      return { node: { [subject.kind]: op !== 'false' } };
    case 'segment':
      return { node: { segment: subject.name } };
    case 'tag':
    case 'conversation_tag':
      return { node: { [subject.kind]: subject.name, op: op || 'has' } };
    default:
  }
  if (!op) return { problem: 'Choose an operator.', part: 'op' };
  const node = { [subject.kind]: subject.name, op };
  const kind = valueKind(type, op);
  switch (kind) {
    case 'none':
      return { node };
    case 'text': {
      if (!String(condition.value ?? '').length) return { problem: 'Enter a value.', part: 'value' };
      node.value = String(condition.value);
      return { node };
    }
    case 'list': {
      const items = parseList(condition.value);
      if (!items.length) return { problem: 'Enter one or more values, separated by commas.', part: 'value' };
      node.value = items;
      return { node };
    }
    case 'number': {
      const n = parseNumber(condition.value);
      if (n === null) return { problem: 'Enter a number.', part: 'value' };
      node.value = n;
      return { node };
    }
    case 'range': {
      const low = parseNumber(condition.value);
      const high = parseNumber(condition.value2);
      if (low === null) return { problem: 'Enter the lowest number.', part: 'value' };
      if (high === null) return { problem: 'Enter the highest number.', part: 'value2' };
      node.value = [low, high];
      return { node };
    }
    case 'days':
    case 'count': {
      const n = parseWhole(condition.value);
      if (n === null) {
        return { problem: kind === 'days' ? 'Enter a whole number of days.' : 'Enter a whole number.', part: 'value' };
      }
      node.value = n;
      return { node };
    }
    case 'boolean':
      node.value = condition.value !== 'false';
      return { node };
    case 'datetime': {
      const at = fromDateTimeLocal(condition.value);
      if (!at) return { problem: 'Enter a date and time.', part: 'value' };
      node.value = at;
      return { node };
    }
    default:
      return { problem: 'Enter a value.', part: 'value' };
  }
}

/**
 * The builder's top group as filter JSON. Rows that cannot be applied yet
 * are left out (and listed in `problems`, by row id); a sub-group with
 * nothing to apply is left out too. `paths[i]` says which row (or group,
 * with its rows) became the filter's node i, so that a server error's
 * field finds its row.
 */
export function compileFilter(group, types) {
  const nodes = [];
  const paths = [];
  const problems = {};
  const compileRows = (items, into, pathsInto) => {
    for (const item of items) {
      const result = compileCondition(item, types);
      if (result.node) {
        into.push(result.node);
        pathsInto.push({ id: item.id });
      } else {
        problems[item.id] = { message: result.problem, part: result.part };
      }
    }
  };
  for (const item of group.items) {
    if (isGroup(item)) {
      const subNodes = [];
      const subPaths = [];
      compileRows(item.items, subNodes, subPaths);
      if (subNodes.length) {
        nodes.push({ [item.match]: subNodes });
        paths.push({ id: item.id, items: subPaths });
      }
    } else {
      compileRows([item], nodes, paths);
    }
  }
  return { filter: { [group.match]: nodes }, paths, problems };
}

function groupMatch(node) {
  if (!node || typeof node !== 'object' || Array.isArray(node)) return null;
  const keys = Object.keys(node);
  if (keys.length === 1 && (keys[0] === 'and' || keys[0] === 'or') && Array.isArray(node[keys[0]])) return keys[0];
  return null;
}

function valueText(kind, value) {
  if (value === undefined || value === null) return ['', ''];
  switch (kind) {
    case 'range':
      return Array.isArray(value) ? [String(value[0] ?? ''), String(value[1] ?? '')] : [String(value), ''];
    case 'list':
      return [Array.isArray(value) ? value.join(', ') : String(value), ''];
    case 'datetime':
      return [toDateTimeLocal(value), ''];
    case 'none':
      return ['', ''];
    default:
      return [String(value), ''];
  }
}

/** One filter node as a builder row, or null if the builder cannot show it. */
export function conditionFromNode(node, types) {
  if (!node || typeof node !== 'object' || Array.isArray(node)) return null;
  if (typeof node.online === 'boolean') return newCondition('online', String(node.online));
  if (typeof node.open_conversation === 'boolean') {
    return newCondition('open_conversation', String(node.open_conversation));
  }
  if (typeof node.segment === 'string') return newCondition(`segment:${node.segment}`, 'in');
  if (typeof node.tag === 'string') return newCondition(`tag:${node.tag}`, node.op ?? 'has');
  if (typeof node.conversation_tag === 'string') {
    return newCondition(`conversation_tag:${node.conversation_tag}`, node.op ?? 'has');
  }
  for (const kind of ['prop', 'event']) {
    if (typeof node[kind] !== 'string' || typeof node.op !== 'string') continue;
    const subject = `${kind}:${node[kind]}`;
    const [value, value2] = valueText(valueKind(subjectType(subject, types), node.op), node.value);
    return { ...newCondition(subject, node.op), value, value2 };
  }
  return null;
}

/**
 * A filter (a saved segment's) as the builder's top group, or null when it
 * nests deeper than the builder shows or holds something it does not know.
 */
export function builderFromFilter(filter, types) {
  if (filter === null || filter === undefined) return newGroup('and');
  const match = groupMatch(filter);
  if (!match) {
    const single = conditionFromNode(filter, types);
    return single ? newGroup('and', [single]) : null;
  }
  const items = [];
  for (const node of filter[match]) {
    const subMatch = groupMatch(node);
    if (subMatch) {
      const rows = node[subMatch].map((child) => conditionFromNode(child, types));
      if (rows.some((row) => row === null)) return null;
      items.push(newGroup(subMatch, rows));
    } else {
      const row = conditionFromNode(node, types);
      if (!row) return null;
      items.push(row);
    }
  }
  return newGroup(match, items);
}

/**
 * Which builder row a server error names: `filter.and[1].value` (or
 * `audience.filter.or[0].and[2].op`) → `{id, part}` from the `paths` that
 * compileFilter returned; `id` is null for the filter as a whole. Null when
 * the field is not about the filter.
 */
export function locateField(field, paths) {
  const match = /(?:^|\.)filter(?=[.[]|$)/.exec(String(field ?? ''));
  if (!match) return null;
  let rest = field.slice(match.index + match[0].length);
  const indices = [];
  const step = /^\.(?:and|or)\[(\d+)\]/;
  let m;
  while ((m = step.exec(rest))) {
    indices.push(Number(m[1]));
    rest = rest.slice(m[0].length);
  }
  const part = rest.replace(/^\./, '') || null;
  if (!indices.length) return { id: null, part };
  const top = paths[indices[0]];
  if (!top) return { id: null, part };
  if (indices.length === 1) return { id: top.id, part };
  const inner = top.items?.[indices[1]];
  return inner ? { id: inner.id, part } : { id: top.id, part };
}

/** JSON with object keys sorted, to compare two filters however their keys were ordered. */
export function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

const NUMBER = new Intl.NumberFormat('en');

/** "1 person", "1,234 people". */
export function peopleCount(count) {
  const n = Number(count) || 0;
  return `${NUMBER.format(n)} ${n === 1 ? 'person' : 'people'}`;
}
