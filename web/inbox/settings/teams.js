// Settings > Teams, the parts with no DOM: a team form's values checked and
// turned into the body of POST / PUT /teams, the server's refusals placed
// by field, and a team's members named for the list. Touches no DOM, so
// that `node --test` can load it.

export const MAX_NAME = 100;

/**
 * `{name, members}` (members: the checked agent ids) as
 * `{body, errors: [{field, message}]}`. `teams`: the workspace's teams,
 * `id`: the team being edited (null for a new one), so that its own name
 * does not count as taken.
 */
export function teamRequest({ name, members }, { teams = [], id = null } = {}) {
  const errors = [];
  const trimmed = String(name ?? '').trim();
  if (!trimmed) errors.push({ field: 'name', message: 'Give the team a name.' });
  else if ([...trimmed].length > MAX_NAME) errors.push({ field: 'name', message: `At most ${MAX_NAME} characters.` });
  else if (/[\r\n]/.test(trimmed)) errors.push({ field: 'name', message: 'One line only.' });
  else if (teams.some((team) => team.id !== id && team.name === trimmed)) {
    errors.push({ field: 'name', message: 'Another team has this name.' });
  }
  const unique = [...new Set((members ?? []).filter(Boolean))];
  return { body: errors.length ? null : { name: trimmed, members: unique }, errors };
}

/**
 * An ApiError as the form shows it: a 409 is the name being taken (unless
 * it says the workspace has all the teams it may have).
 */
export function teamProblem(error) {
  if (error?.status === 409 && !/at most/i.test(error.message ?? '')) {
    return { fieldErrors: { name: 'Another team has this name.' }, message: '' };
  }
  return error;
}

/**
 * The team's members as the list shows them: the names of those still in
 * the workspace (`agents`: id → {name}), by name, and how many are not.
 */
export function teamMembers(team, agents) {
  const names = [];
  let former = 0;
  for (const id of new Set(team?.members ?? [])) {
    const agent = agents.get(id);
    if (agent) names.push(agent.name);
    else former += 1;
  }
  return { names: names.sort((a, b) => a.localeCompare(b)), former };
}

/** "Ada Lovelace, Grace Hopper and 1 former member", or "No members yet". */
export function membersText(team, agents) {
  const { names, former } = teamMembers(team, agents);
  const parts = [...names];
  if (former) parts.push(`${former} former member${former === 1 ? '' : 's'}`);
  if (!parts.length) return 'No members yet';
  return parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
}

/** Whether the workspace may have one more team (the server keeps at most 100). */
export const MAX_TEAMS = 100;
export const canAddTeam = (teams) => (teams?.length ?? 0) < MAX_TEAMS;
