// An automation's numbers as the editor shows them, with no DOM: the
// per-node funnel from `/stats` (one version's, or every version's added
// up by node id), and the headline figures of the list.

/**
 * `nodes` from `/stats` (`[{version, node, entered, sent, read, replied,
 * exits}]`) as a Map node id → the same counts, for `version` or, when it
 * is 'all', summed over versions.
 */
export function nodeFunnel(nodes, version = 'all') {
  const out = new Map();
  for (const row of nodes ?? []) {
    if (version !== 'all' && Number(row.version) !== Number(version)) continue;
    const sum = out.get(row.node) ?? { entered: 0, sent: 0, read: 0, replied: 0, exits: {} };
    for (const key of ['entered', 'sent', 'read', 'replied']) sum[key] += Number(row[key]) || 0;
    for (const [exit, count] of Object.entries(row.exits ?? {})) sum.exits[exit] = (sum.exits[exit] ?? 0) + (Number(count) || 0);
    out.set(row.node, sum);
  }
  return out;
}

/** The versions the stats know, newest first. */
export function statVersions(nodes) {
  return [...new Set((nodes ?? []).map((row) => Number(row.version)).filter(Number.isFinite))].sort((a, b) => b - a);
}

const NUMBER = new Intl.NumberFormat('en');
export const count = (n) => NUMBER.format(Number(n) || 0);

/** "12% reached the goal" from runs and goal_reached; '' without runs. */
export function goalRate(stats) {
  const runs = Number(stats?.runs) || 0;
  if (!runs) return '';
  return `${Math.round(((Number(stats.goal_reached) || 0) * 100) / runs)}%`;
}

/** The line a node's box shows: "120 in · 98 sent · 4 replied". */
export function funnelLine(funnel) {
  if (!funnel) return '';
  const parts = [`${count(funnel.entered)} in`];
  if (funnel.sent) parts.push(`${count(funnel.sent)} sent`);
  if (funnel.replied) parts.push(`${count(funnel.replied)} replied`);
  return parts.join(' · ');
}
