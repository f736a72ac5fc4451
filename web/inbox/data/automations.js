// Automations: the list, one automation's draft, publishing and pausing,
// its versions and numbers, its runs (with each one's log), a dry run for
// one contact, and export / import as JSON.

import { get, post, put, del } from './api.js';

const BASE = '/api/v1/automations';
const path = (id, rest = '') => `${BASE}/${encodeURIComponent(id)}${rest}`;
const listOf = (answer) => (Array.isArray(answer) ? answer : answer?.data ?? []);

export const listAutomations = async () => listOf(await get(BASE));

/** `{name, draft}` for a new one, or `{template, name?}` for one of the three templates. */
export const createAutomation = (body) => post(BASE, body);

export const getAutomation = (id) => get(path(id));

export const saveAutomation = (id, { name, draft }) => put(path(id), { name, draft });

/** Deletes one; one already gone counts as deleted. */
export async function deleteAutomation(id) {
  try {
    await del(path(id));
  } catch (error) {
    if (error.status !== 404) throw error;
  }
}

/** `runs`: what happens to runs of older versions: 'finish' | 'migrate' | 'stop'. */
export const publishAutomation = (id, runs) => post(path(id, '/publish'), { runs });
export const pauseAutomation = (id) => post(path(id, '/pause'));
export const resumeAutomation = (id) => post(path(id, '/resume'));

export const listVersions = async (id) => listOf(await get(path(id, '/versions')));
export const getStats = (id) => get(path(id, '/stats'));

/** A page of runs, newest first; `going` keeps only active and waiting ones. */
export async function listRuns(id, { going = false, before = null, limit = 50 } = {}) {
  const params = new URLSearchParams({ limit: String(limit) });
  if (going) params.set('going', 'true');
  if (before) params.set('before', before);
  return listOf(await get(path(id, `/runs?${params}`)));
}

/** `{run, log}`. */
export const getRun = (id, runId) => get(path(id, `/runs/${encodeURIComponent(runId)}`));
export const stopRun = (id, runId) => post(path(id, `/runs/${encodeURIComponent(runId)}/stop`));
export const startRun = (id, contactId) => post(path(id, '/runs'), { contact_id: contactId });

/** A dry run for one contact: `{path, messages}`; nothing is sent. */
export const simulate = (id, contactId) => post(path(id, '/simulate'), { contact_id: contactId });

/** `{name, draft}`, to save as a file. */
export const exportAutomation = (id) => get(path(id, '/export'));

/** Creates an automation from an exported file's text; throws a SyntaxError for a file that is not JSON. */
export function importAutomation(text) {
  const parsed = JSON.parse(text);
  if (!parsed || typeof parsed !== 'object' || !parsed.draft) throw new SyntaxError('This file is not an exported automation.');
  return post(BASE, { name: parsed.name, draft: parsed.draft });
}
