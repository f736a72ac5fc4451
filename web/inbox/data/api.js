// The Inbox's HTTP client: JSON in and out, the CSRF header on every
// request that changes something, and problem+json turned into ApiError.
// `upload` sends a body as it is and hands back the response to stream;
// `sendFile` sends one as it is, reporting progress, and reads JSON back.

/** An HTTP error with the server's problem+json body. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `Request failed (${status})`);
    this.status = status;
    this.problem = problem || {};
  }

  /** `{field: message}` from a 422's `errors`. */
  get fieldErrors() {
    const out = {};
    for (const { field, message } of this.problem.errors || []) {
      if (field && !(field in out)) out[field] = message;
    }
    return out;
  }
}

const listeners = new Set();

/** Called with no argument when a request comes back 401 (signed out elsewhere, expired). */
export function onUnauthorized(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/**
 * `api('GET', '/api/v1/session')`, `api('POST', path, body)`.
 * `quiet401` keeps a 401 from signalling "signed out" (the session probe and sign-in use it).
 */
export async function api(method, path, body, { quiet401 = false, signal } = {}) {
  const headers = { accept: 'application/json' };
  if (method !== 'GET') {
    headers['x-rapport-csrf'] = '1';
    headers['content-type'] = 'application/json';
  }
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? (method === 'GET' ? undefined : '{}') : JSON.stringify(body),
      credentials: 'same-origin',
      signal,
    });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, { detail: 'Cannot reach the server. Check your connection.' });
  }
  if (response.status === 204) return null;
  const type = response.headers.get('content-type') || '';
  const data = type.includes('json') ? await response.json().catch(() => null) : null;
  if (!response.ok) throw failure(response, data, quiet401);
  return data;
}

function failure(response, problem, quiet401 = false) {
  if (response.status === 401 && !quiet401) for (const fn of listeners) fn();
  return new ApiError(response.status, problem || { detail: `${response.status} ${response.statusText}` });
}

/**
 * POSTs `body` (a File, Blob or string) as `contentType` and returns the
 * response unread, for the caller to stream; an error status (read as
 * problem+json) throws ApiError like `api` does.
 */
export async function upload(path, body, { contentType, accept = 'application/x-ndjson', signal } = {}) {
  let response;
  try {
    response = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': contentType, accept: `${accept}, application/problem+json`, 'x-rapport-csrf': '1' },
      body,
      credentials: 'same-origin',
      signal,
    });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, { detail: 'Cannot reach the server. Check your connection.' });
  }
  if (!response.ok) {
    const type = response.headers.get('content-type') || '';
    throw failure(response, type.includes('json') ? await response.json().catch(() => null) : null);
  }
  return response;
}

/**
 * POSTs a File or Blob as it is and resolves with the JSON answer, calling
 * `onProgress(sent, total)` as the bytes go (fetch cannot report an
 * upload's progress, so this one request goes by XMLHttpRequest). Errors
 * are ApiError as with `api`; aborting through `signal` rejects with an
 * AbortError.
 */
export function sendFile(path, file, { onProgress, signal } = {}) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new DOMException('Aborted', 'AbortError'));
      return;
    }
    const request = new XMLHttpRequest();
    request.open('POST', path);
    request.withCredentials = true;
    request.setRequestHeader('accept', 'application/json, application/problem+json');
    request.setRequestHeader('content-type', file.type || 'application/octet-stream');
    request.setRequestHeader('x-rapport-csrf', '1');
    if (onProgress) {
      request.upload.addEventListener('progress', (event) => {
        if (event.lengthComputable) onProgress(event.loaded, event.total);
      });
    }
    const onAbort = () => request.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const settle = () => signal?.removeEventListener('abort', onAbort);
    request.addEventListener('load', () => {
      settle();
      let data = null;
      if ((request.getResponseHeader('content-type') || '').includes('json')) {
        try {
          data = JSON.parse(request.responseText);
        } catch {
          data = null;
        }
      }
      if (request.status >= 200 && request.status < 300) resolve(data);
      else reject(failure({ status: request.status, statusText: request.statusText }, data));
    });
    request.addEventListener('error', () => {
      settle();
      reject(new ApiError(0, { detail: 'Cannot reach the server. Check your connection.' }));
    });
    request.addEventListener('abort', () => {
      settle();
      reject(new DOMException('Aborted', 'AbortError'));
    });
    request.send(file);
  });
}

export const get = (path, options) => api('GET', path, undefined, options);
export const post = (path, body, options) => api('POST', path, body, options);
export const patch = (path, body, options) => api('PATCH', path, body, options);
export const put = (path, body, options) => api('PUT', path, body, options);
export const del = (path, options) => api('DELETE', path, undefined, options);
