// The workspace's settings (name, origins, email fallback, identity
// verification, attachments), the team and its availability, office
// hours, contact property settings, and one's password.

import { get, patch, post, put, del } from './api.js';
import { sessionNumber, setWorkspaceAttachments } from './store.js';

export const getWorkspace = () => get('/api/v1/workspace');

/**
 * Reads what the workspace takes as attachments into the store, once a
 * session starts: the session's workspace summary does not carry it.
 */
export async function loadWorkspaceAttachments() {
  const session = sessionNumber();
  const workspace = await getWorkspace();
  if (session === sessionNumber()) setWorkspaceAttachments(workspace?.attachments);
}

/** PATCH /workspace; answers with the workspace. */
export const updateWorkspace = (body) => patch('/api/v1/workspace', body);

/** `request` is email.js's `testEmailRequest(to)`. */
export const sendTestEmail = (request) => post('/api/v1/workspace/email/test', request);

export const rotateIdentitySecret = (graceHours) =>
  post('/api/v1/workspace/identity-secret', { grace_hours: graceHours });

export const addMember = (member) => post('/api/v1/agents', member);

export const removeMember = (id) => del(`/api/v1/agents/${encodeURIComponent(id)}`);

export const getPropertySettings = () => get('/api/v1/people/properties');

export const saveProperty = (name, body) => put(`/api/v1/people/properties/${encodeURIComponent(name)}`, body);

export const changePassword = (body) => post('/api/v1/me/password', body);

/** Business hours, reply-time texts and the daily cap on automated messages. */
export const getOffice = () => get('/api/v1/settings/office');
export const saveOffice = (body) => put('/api/v1/settings/office', body);

/** `[{agent_id, away, max_open, open}]`. */
export async function getAvailability() {
  const answer = await get('/api/v1/team/availability');
  return Array.isArray(answer) ? answer : answer?.data ?? [];
}

export const setAvailability = (agentId, body) => put(`/api/v1/team/${encodeURIComponent(agentId)}/availability`, body);

/** `{new_conversations}`: what you are emailed about. */
export const getEmailNotifications = () => get('/api/v1/me/email-notifications');

export const setEmailNotifications = (body) => put('/api/v1/me/email-notifications', body);
