// The messenger's HTTP client for `/widget/v1` (same origin as the iframe),
// and where the visitor's session token is kept between visits.

import { t } from './i18n.js';

/** A failed request: `status` 0 for a network failure, else the HTTP status. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || (status ? `HTTP ${status}` : 'network error'));
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem || null;
  }

  /** What to tell the visitor: field messages of a 422 first, then the detail. */
  get visitorMessage() {
    const fieldErrors = this.problem?.errors;
    if (Array.isArray(fieldErrors) && fieldErrors.length) {
      return fieldErrors.map((e) => e.message).filter(Boolean).join(' ');
    }
    if (this.status === 0) return t('noConnection');
    return this.problem?.detail || t('wentWrong');
  }
}

export class WidgetApi {
  /**
   * @param {() => void} onUnauthorized called when the session is refused
   *   (revoked or expired) so the messenger can boot again.
   */
  constructor(onUnauthorized = () => {}) {
    this.session = null;
    this.onUnauthorized = onUnauthorized;
  }

  /**
   * A JSON request: the answer's JSON (null for 204). With `raw`, `body`
   * (a Blob) is sent as it is instead of as JSON.
   */
  async request(method, path, body, options = {}) {
    const response = await this.fetchResponse(method, path, body, options);
    if (response.status === 204) return null;
    return parseBody(await response.text());
  }

  /** The response of a request that succeeded; an ApiError otherwise. */
  async fetchResponse(method, path, body, { authorized = true, raw = false, signal, accept = 'application/json' } = {}) {
    const headers = { Accept: accept };
    if (body !== undefined) headers['Content-Type'] = raw ? 'application/octet-stream' : 'application/json';
    if (authorized) {
      if (!this.session) throw new ApiError(401, { detail: 'not booted' });
      headers.Authorization = `Bearer ${this.session}`;
    }
    let response;
    try {
      response = await fetch(`/widget/v1${path}`, {
        method,
        headers,
        body: body === undefined || raw ? body : JSON.stringify(body),
        credentials: 'omit',
        cache: 'no-store',
        signal,
      });
    } catch {
      throw new ApiError(0, null);
    }
    if (!response.ok) {
      const payload = parseBody(await response.text().catch(() => ''));
      if (response.status === 401 && authorized) this.onUnauthorized();
      throw new ApiError(response.status, payload);
    }
    return response;
  }

  boot(body) {
    return this.request('POST', '/boot', body, { authorized: false });
  }

  conversations() {
    return this.request('GET', '/conversations');
  }

  conversation(id) {
    return this.request('GET', `/conversations/${encodeURIComponent(id)}`);
  }

  startConversation(body, attachmentIds = []) {
    return this.request('POST', '/conversations', messageRequest(body, attachmentIds));
  }

  sendMessage(conversationId, body, attachmentIds = []) {
    return this.request('POST', `/conversations/${encodeURIComponent(conversationId)}/messages`, messageRequest(body, attachmentIds));
  }

  /** Uploads one file's bytes (the server reads its type from them): `{id, name, content_type, size, width?, height?}`. */
  uploadAttachment(file, name, signal) {
    return this.request('POST', `/attachments?name=${encodeURIComponent(name)}`, file, { raw: true, signal });
  }

  /** An attachment's bytes, as a Blob (an <img> cannot send the session's token). */
  async attachmentBlob(id) {
    const response = await this.fetchResponse('GET', `/attachments/${encodeURIComponent(id)}`, undefined, { accept: '*/*' });
    try {
      return await response.blob();
    } catch {
      throw new ApiError(0, null);
    }
  }

  rate(conversationId, score, comment) {
    return this.request('POST', `/conversations/${encodeURIComponent(conversationId)}/rating`, { score, comment });
  }

  markRead(conversationId) {
    return this.request('POST', `/conversations/${encodeURIComponent(conversationId)}/read`);
  }

  track(name, params) {
    return this.request('POST', '/events', { name, params });
  }

  update(changes) {
    return this.request('POST', '/update', changes);
  }

  /** The help center's search (public: no session needed): `{data: [{title, heading, snippet, url}]}`. */
  helpSearch(appId, q) {
    const params = new URLSearchParams({ app_id: appId ?? '', q });
    return this.request('GET', `/help/search?${params}`, undefined, { authorized: false });
  }
}

function parseBody(text) {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text.slice(0, 200) };
  }
}

/** A message's request: its text, and the uploaded files' ids when there are any. */
export function messageRequest(body, attachmentIds = []) {
  const ids = Array.isArray(attachmentIds) ? attachmentIds.filter(Boolean) : [];
  return ids.length ? { body, attachment_ids: ids } : { body };
}

/**
 * Ends a widget session on the server (`Rapport('shutdown')`): best
 * effort, never throws, and `keepalive` lets it finish when the host page
 * navigates away right after (a user signing out).
 */
export async function endSession(session, fetchFn = globalThis.fetch) {
  if (!session) return false;
  try {
    const response = await fetchFn('/widget/v1/shutdown', {
      method: 'POST',
      headers: { Authorization: `Bearer ${session}` },
      credentials: 'omit',
      cache: 'no-store',
      keepalive: true,
    });
    return response.ok;
  } catch {
    return false;
  }
}

// localStorage may be unavailable (blocked third-party storage, private
// modes): the session then lasts as long as the page.
const memory = new Map();

function sessionKey(appId) {
  return `rapport:${appId}:session`;
}

export function loadSession(appId) {
  try {
    return localStorage.getItem(sessionKey(appId));
  } catch {
    return memory.get(sessionKey(appId)) ?? null;
  }
}

export function saveSession(appId, session) {
  memory.set(sessionKey(appId), session);
  try {
    localStorage.setItem(sessionKey(appId), session);
  } catch {
    /* kept in memory only */
  }
}

export function forgetSession(appId) {
  memory.delete(sessionKey(appId));
  try {
    localStorage.removeItem(sessionKey(appId));
  } catch {
    /* nothing stored */
  }
}

// Boot settings that are not the contact's properties (`language` is the
// messenger's).
const IDENTITY_KEYS = new Set(['app_id', 'user_id', 'user_hash', 'email', 'name', 'session', 'props', 'language']);

/**
 * Splits the host page's settings into the boot request: the known fields,
 * and every other key as a contact property.
 */
export function bootRequest(settings, session) {
  const body = { app_id: settings.app_id };
  if (session) body.session = session;
  for (const key of ['user_id', 'user_hash', 'email', 'name']) {
    if (settings[key] !== undefined && settings[key] !== null) body[key] = String(settings[key]);
  }
  const props = propsOf(settings);
  if (props) body.props = props;
  return body;
}

/** The `update` request for changed settings: `email`, `name`, and the rest as props. */
export function updateRequest(changes) {
  const body = {};
  for (const key of ['email', 'name']) {
    if (changes[key] !== undefined && changes[key] !== null) body[key] = String(changes[key]);
  }
  const props = propsOf(changes);
  if (props) body.props = props;
  return body;
}

function propsOf(settings) {
  const props = {};
  if (settings.props && typeof settings.props === 'object' && !Array.isArray(settings.props)) {
    Object.assign(props, settings.props);
  }
  for (const [key, value] of Object.entries(settings)) {
    if (!IDENTITY_KEYS.has(key)) props[key] = value;
  }
  return Object.keys(props).length ? props : null;
}
