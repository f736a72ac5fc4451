// Teams: named groups of members that automations assign conversations to
// (round robin among the available ones) and ask about. Anyone reads them;
// owners and admins change them.

import { get, post, put, del } from './api.js';

const BASE = '/api/v1/teams';
const teamPath = (id) => `${BASE}/${encodeURIComponent(id)}`;

/** `[{id, workspace_id, name, members: [agent ids], created_at}]`, by name. */
export async function listTeams() {
  const answer = await get(BASE);
  const list = Array.isArray(answer) ? answer : answer?.data ?? [];
  return list.slice().sort((a, b) => String(a.name).localeCompare(String(b.name)));
}

/** `{name, members}`; answers with the new team. */
export const createTeam = (body) => post(BASE, body);

/** `{name, members}` replaces both; answers with the team. */
export const updateTeam = (id, body) => put(teamPath(id), body);

/** Deletes one; one already gone counts as deleted. */
export async function deleteTeam(id) {
  try {
    await del(teamPath(id));
  } catch (error) {
    if (error.status !== 404) throw error;
  }
}
