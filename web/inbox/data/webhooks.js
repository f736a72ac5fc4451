// Webhook endpoints: where the workspace's events are posted, signed, and
// each endpoint's delivery log. Owners and admins only.

import { get, post, put, del } from './api.js';

const BASE = '/api/v1/webhooks';
const webhookPath = (id) => `${BASE}/${encodeURIComponent(id)}`;

/** The workspace's endpoints, oldest first. */
export async function listWebhooks() {
  const answer = await get(BASE);
  return Array.isArray(answer?.data) ? answer.data : [];
}

/** `{url, description, events, enabled}`; answers with the endpoint (and its secret). */
export const createWebhook = (body) => post(BASE, body);

/** Replaces the settings (`rotate_secret: true` for a new secret). */
export const updateWebhook = (id, body) => put(webhookPath(id), body);

/** Deletes one; one already gone counts as deleted. */
export async function deleteWebhook(id) {
  try {
    await del(webhookPath(id));
  } catch (error) {
    if (error.status !== 404) throw error;
  }
}

/** Queues a `webhook.test` event; answers with its delivery. */
export const sendTestEvent = (id) => post(`${webhookPath(id)}/test`);

/** `{data: [delivery], next}`, newest first. */
export function listDeliveries(id, { before = null, limit = 20 } = {}) {
  const query = new URLSearchParams({ limit: String(limit) });
  if (before) query.set('before', before);
  return get(`${webhookPath(id)}/deliveries?${query}`);
}
