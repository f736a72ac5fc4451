// A contact's properties, the parts with no DOM: reading a system or custom
// property, typing what an agent typed into a property's input, showing a
// value, and the profile's tags and events in one shape. Touches no DOM, so
// that `node --test` can load it.

import { fromDateTimeLocal, toDateTimeLocal, ago } from '../ui/time.js';

/** The system properties the profile shows, in order, with their labels. */
export const SYSTEM_PROPERTIES = [
  ['user_id', 'User ID'], ['email', 'Email'], ['name', 'Name'], ['phone', 'Phone'],
  ['first_seen_at', 'First seen'], ['last_seen_at', 'Last seen'], ['sessions', 'Sessions'],
  ['country', 'Country'], ['city', 'City'], ['browser', 'Browser'], ['os', 'OS'],
  ['last_page', 'Last page'], ['created_at', 'Created'],
];

const SYSTEM_LABELS = new Map(SYSTEM_PROPERTIES);

/** "Last seen" for `last_seen_at`; a custom property's name as it is. */
export function propertyLabel(name) {
  return SYSTEM_LABELS.get(name) ?? name;
}

/** The custom property types, for the "Add property" row. */
export const PROPERTY_TYPES = [
  ['string', 'Text'], ['number', 'Number'], ['boolean', 'Yes / no'], ['datetime', 'Date and time'], ['list', 'List'],
];

/**
 * A property's value on a contact: a top-level field (system properties)
 * or one of its custom `props`. Undefined when it has none.
 */
export function contactValue(contact, name) {
  if (!contact) return undefined;
  if (Object.hasOwn(contact, name) && contact[name] !== null && typeof contact[name] !== 'object') return contact[name];
  const props = contact.props ?? {};
  return Object.hasOwn(props, name) && props[name] !== null ? props[name] : undefined;
}

/** The type a value has when the schema does not say (for a property new to the page). */
export function typeOfValue(value) {
  if (typeof value === 'number') return 'number';
  if (typeof value === 'boolean') return 'boolean';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value) && !Number.isNaN(Date.parse(value))) {
    return 'datetime';
  }
  return 'string';
}

/** The input that edits a property of `type`: 'text', 'number', 'checkbox', 'datetime-local' or 'list'. */
export function propInputKind(type) {
  switch (type) {
    case 'number': return 'number';
    case 'boolean': return 'checkbox';
    case 'datetime': return 'datetime-local';
    case 'list': return 'list';
    default: return 'text';
  }
}

/** A value as its input holds it (a checkbox's is `checked`, a boolean). */
export function propInputValue(type, value) {
  if (value === undefined || value === null) return type === 'boolean' ? false : '';
  switch (type) {
    case 'boolean': return value === true;
    case 'datetime': return toDateTimeLocal(value);
    case 'list': return Array.isArray(value) ? value.join(', ') : String(value);
    default: return String(value);
  }
}

/**
 * What an input holds, typed for PATCH `props`: `{value}`, or `{error}`
 * when it is not a value of that type. An empty input is `{value: null}`
 * (unset), except for a checkbox.
 */
export function parsePropInput(type, raw) {
  if (type === 'boolean') return { value: raw === true || raw === 'true' };
  const text = String(raw ?? '').trim();
  if (!text) return { value: null };
  switch (type) {
    case 'number': {
      const n = Number(text);
      return Number.isFinite(n) ? { value: n } : { error: 'Enter a number.' };
    }
    case 'datetime': {
      const at = fromDateTimeLocal(text);
      return at ? { value: at } : { error: 'Enter a date and time.' };
    }
    case 'list':
      return { value: text.split(',').map((item) => item.trim()).filter(Boolean) };
    default:
      return { value: text };
  }
}

/** A value as a table cell or the profile shows it: "Yes", "3d ago", "a, b", "—". */
export function formatPropValue(value, type = typeOfValue(value), now = Date.now()) {
  if (value === undefined || value === null || value === '') return '—';
  if (type === 'boolean' || typeof value === 'boolean') return value ? 'Yes' : 'No';
  if (type === 'datetime') return ago(value, now) || String(value);
  if (Array.isArray(value)) return value.length ? value.join(', ') : '—';
  if (typeof value === 'number') return new Intl.NumberFormat('en').format(value);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** The contact's tags as names, whether the server sends strings or `{name}`. */
export function contactTags(contact) {
  return (contact?.tags ?? []).map((tag) => (typeof tag === 'string' ? tag : tag?.name)).filter(Boolean);
}

/**
 * The contact's events as `[{name, count, first_at, last_at}]`, latest
 * first, whether the server sends a list or an object keyed by name.
 */
export function contactEvents(contact) {
  const events = contact?.events;
  const list = Array.isArray(events) ? events
    : events && typeof events === 'object'
      ? Object.entries(events).map(([name, summary]) => ({ name, ...summary }))
      : [];
  return list
    .filter((event) => event?.name)
    .map(({ name, count, first_at: firstAt, last_at: lastAt }) => ({ name, count: count ?? 0, first_at: firstAt ?? null, last_at: lastAt ?? null }))
    .sort((a, b) => (Date.parse(b.last_at) || 0) - (Date.parse(a.last_at) || 0) || a.name.localeCompare(b.name));
}

/** The custom properties a contact has, sorted by name. */
export function customProps(contact) {
  return Object.entries(contact?.props ?? {})
    .filter(([, value]) => value !== null && value !== undefined)
    .sort(([a], [b]) => a.localeCompare(b));
}

/**
 * Why a new custom property's name cannot be used (the server's rule:
 * 1 to 64 letters, digits, '_' or '-', not a system property), or null.
 */
export function propertyNameError(name) {
  const text = String(name ?? '');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(text)) return 'Use 1 to 64 letters, digits, _ or -.';
  if (SYSTEM_LABELS.has(text)) return 'That is a system property: Rapport sets it already.';
  return null;
}

/** Property settings sorted by name, each `{name, type, messenger_writable}`. */
export function sortedPropertySettings(settings) {
  return [...(Array.isArray(settings) ? settings : [])]
    .filter((setting) => setting?.name)
    .sort((a, b) => a.name.localeCompare(b.name));
}
