// One contact: reading and changing their profile (properties, tags),
// their recent conversations, their timeline, a chat message sent to
// them from the profile, and contacts' names for lists that show only ids.

import { get, patch, post, del } from './api.js';

const contactPath = (id) => `/api/v1/contacts/${encodeURIComponent(id)}`;

export const getContact = (id) => get(contactPath(id));

/** PATCHes `props` (a value of null unsets one); answers with the contact. */
export const updateContactProps = (id, props) => patch(contactPath(id), { props });

/** Both answer with the contact's tags. */
export const addTag = (id, tag) => post(`${contactPath(id)}/tags`, { tag });
export const removeTag = (id, tag) => del(`${contactPath(id)}/tags/${encodeURIComponent(tag)}`);

export const contactConversations = (id, limit) =>
  get(`/api/v1/conversations?contact_id=${encodeURIComponent(id)}&limit=${limit}`);

/** One page of the timeline; `query` is timeline.js's `timelineQuery(…)`. */
export const timelinePage = (id, query) => get(`${contactPath(id)}/timeline?${query}`);

/** Everything stored about the contact (owners and admins). */
export const exportContact = (id) => get(`${contactPath(id)}/export`);

/** Requests the contact's erasure: answers with its record; a job deletes them. */
export const eraseContact = (id) => del(contactPath(id));

/** `{contact_id, body, from_agent_id, email_fallback?}`: a new conversation with that message. */
export const sendMessage = (request) => post('/api/v1/messages', request);

/** The last six characters of an id (its random part), to tell nameless contacts apart. */
export const shortId = (id) => String(id ?? '').replaceAll('-', '').slice(-6);

/** What a list calls a contact: the name, else the email address, else "Visitor" and a short id. */
export function contactLabel(contact, id = contact?.id) {
  return contact?.name || contact?.email || `Visitor ${shortId(id)}`;
}

// id -> Promise of the contact (null when there is none), asked for once.
const known = new Map();

/**
 * The contacts with these ids as a Map id → contact (null for one that
 * could not be read), each fetched at most once while the Inbox stays
 * loaded; a failure other than 404 is asked again next time.
 */
export async function contactsById(ids) {
  const unique = [...new Set(ids.filter(Boolean))];
  for (const id of unique) {
    if (known.has(id)) continue;
    known.set(id, getContact(id).catch((error) => {
      if (error.status !== 404) known.delete(id);
      return null;
    }));
  }
  return new Map(await Promise.all(unique.map(async (id) => [id, await known.get(id)])));
}
