// What a member's role lets them do in the settings, the parts with no DOM
// (the server decides; these only keep the Inbox from offering the rest).
// Touches no DOM, so that `node --test` can load it.

const RANK = { agent: 0, admin: 1, owner: 2 };

/** Owners and admins change the workspace's settings and its team. */
export function canManage(me) {
  return me?.role === 'owner' || me?.role === 'admin';
}

/**
 * Whether `me` may remove `member`: owners and admins may, but not the
 * owner, not themselves, and not someone of a higher role.
 */
export function canRemove(me, member) {
  if (!canManage(me) || !member || member.id === me.id || member.role === 'owner') return false;
  return (RANK[me.role] ?? 0) >= (RANK[member.role] ?? 0);
}
