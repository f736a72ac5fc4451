// People: the workspace's people schema (properties, operators, events,
// tags), saved segments, the contact search behind the People table, and
// the CSV import.

import { get, post, patch, del, upload } from './api.js';
import { state, emit, sessionNumber } from './store.js';

let schemaRequest = null;
let schemaSession = null; // the sign-in `schemaRequest` was made for

/** GET /people/schema, read once per sign-in (or again with `force`, after a change). */
export function loadPeopleSchema({ force = false } = {}) {
  const session = sessionNumber();
  if (state.peopleSchema && !force) return Promise.resolve(state.peopleSchema);
  if (schemaRequest && schemaSession === session && !force) return schemaRequest;
  const request = get('/api/v1/people/schema').then((schema) => {
    // An answer for a session since signed out of is dropped.
    if (schemaRequest === request && sessionNumber() === session) {
      state.peopleSchema = schema ?? { properties: [], events: [], tags: [] };
      emit('schema');
    }
    return state.peopleSchema;
  }).finally(() => {
    if (schemaRequest === request) schemaRequest = null;
  });
  schemaRequest = request;
  schemaSession = session;
  return request;
}

/** The saved segments, by name. */
export async function listSegments() {
  const answer = await get('/api/v1/segments');
  return (Array.isArray(answer) ? answer : answer?.data ?? [])
    .slice().sort((a, b) => String(a.name).localeCompare(String(b.name)));
}

export const createSegment = (name, filter) => post('/api/v1/segments', { name, filter });

export const updateSegmentFilter = (id, filter) => patch(`/api/v1/segments/${encodeURIComponent(id)}`, { filter });

/** Deletes a segment; one already gone counts as deleted. */
export async function deleteSegment(id) {
  try {
    await del(`/api/v1/segments/${encodeURIComponent(id)}`);
  } catch (error) {
    if (error.status !== 404) throw error;
  }
}

/** One page of the people matching `{filter, sort, order, limit, cursor}`. */
export const searchContacts = (body, signal) => post('/api/v1/contacts/search', body, { signal });

/** Sends a CSV file as it is; the answer is a stream of JSON lines to read. */
export const importContacts = (file, signal) => upload('/api/v1/contacts/import', file, { contentType: 'text/csv', signal });
