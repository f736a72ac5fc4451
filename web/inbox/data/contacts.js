// One contact: reading and changing their profile (properties, tags),
// their recent conversations, their timeline, and a chat message sent to
// them from the profile.

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

/** `{contact_id, body, from_agent_id, email_fallback?}`: a new conversation with that message. */
export const sendMessage = (request) => post('/api/v1/messages', request);
