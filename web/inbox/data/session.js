// Signing in and out, and the first-run setup. A 401 on any request calls
// the `onUnauthorized` listeners (the shell goes back to sign-in).

import { get, post, del, onUnauthorized } from './api.js';

export { onUnauthorized };

/** `{needed}`: whether the install still has no workspace. */
export const setupStatus = () => get('/api/v1/setup', { quiet401: true });

/** First run: the workspace and its owner. */
export const createWorkspace = (body) => post('/api/v1/setup', body, { quiet401: true });

/** The signed-in session (`{agent, workspace}`); 401 when there is none. */
export const currentSession = () => get('/api/v1/session', { quiet401: true });

export const signIn = (email, password) => post('/api/v1/session', { email, password }, { quiet401: true });

export const signOut = () => del('/api/v1/session', { quiet401: true });
