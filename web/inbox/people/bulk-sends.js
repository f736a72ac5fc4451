// Bulk sends, the parts with no DOM: who may create one, the audience a
// People selection becomes, whom the preview shows, and a send's progress.
// Touches no DOM, so that `node --test` can load it.

/** Whether this member may create or cancel a bulk send (the workspace may keep it to owners and admins). */
export function canBulkSend(me, workspace) {
  if (!workspace?.bulk_sends_admins_only) return true;
  return me?.role === 'owner' || me?.role === 'admin';
}

/**
 * The `audience` of POST /bulk-sends: the filter when "all matching" was
 * chosen, else the ticked contacts (null when nothing is ticked).
 */
export function bulkAudience({ allMatching, filter, selectedIds }) {
  if (allMatching) return { filter };
  const ids = [...(selectedIds ?? [])];
  return ids.length ? { contact_ids: ids } : null;
}

/** How many people a selection reaches. */
export function audienceSize({ allMatching, count, selectedIds }) {
  return allMatching ? Number(count) || 0 : selectedIds?.size ?? selectedIds?.length ?? 0;
}

/**
 * Whom the preview flips through: the ticked contacts in table order (the
 * ones the page has loaded), or the first page of the filter's results.
 */
export function previewRecipients({ allMatching, rows, selectedIds, limit = 50 }) {
  const list = allMatching ? rows : rows.filter((contact) => selectedIds.has(contact.id));
  return list.slice(0, limit);
}

/** A send's numbers, with `pending` worked out when the server leaves it out.
 * `read` and `replied` stay `null` while the server has not counted them (it
 * counts them once the send has ended). */
export function bulkProgress(send) {
  const total = Number(send?.total) || 0;
  const sent = Number(send?.sent) || 0;
  const failed = Number(send?.failed) || 0;
  const pending = send?.pending ?? Math.max(0, total - sent - failed);
  const settled = Math.min(total, sent + failed);
  return {
    total, sent, failed, pending,
    read: send?.read == null ? null : Number(send.read) || 0,
    replied: send?.replied == null ? null : Number(send.replied) || 0,
    settled,
    percent: total ? Math.round((settled / total) * 100) : 100,
  };
}

/** Whether a send is still going (the page polls while it is). */
export function isSending(send) {
  return send?.status === 'sending';
}

export const BULK_STATUS_LABELS = { sending: 'Sending', done: 'Done', cancelled: 'Cancelled' };

/** The body's first line, for lists: snippet tags left as they are. */
export function bodyExcerpt(body, chars = 90) {
  const flat = String(body ?? '').replace(/\s+/g, ' ').trim();
  return flat.length > chars ? `${flat.slice(0, chars - 1)}…` : flat;
}
