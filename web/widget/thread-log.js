// The open thread's log as it grows: parts appended one by one (the
// visitor's own messages first as "Sending…" bubbles that become the
// stored part), keeping the scroll at the bottom when it was there, and a
// bot's reply buttons under the newest message (bot-replies.js).

import { render, append } from '../shared/html.js';
import { els, state, store, viewContext } from './context.js';
import { partView } from './thread.js';
import { refreshPrompt } from './bot-replies.js';
import { placeOf } from './store.js';
import { sameAttachments } from './attachments.js';

function logElement() {
  return document.getElementById('log');
}

/** The nodes of a fragment, for replacing one element in place. */
function nodesOf(fragment) {
  const holder = document.createElement('template');
  render(holder, fragment);
  return [...holder.content.childNodes];
}

export function scrollToBottom() {
  els.body.scrollTop = els.body.scrollHeight;
}

/** A part from the server the thread does not show yet (its own echo settles a message being sent). */
export function appendPart(part) {
  if (part.id && state.partIds.has(part.id)) return;
  if (part.author?.type === 'contact') {
    // The echo of a message this messenger is still sending.
    const mine = [...state.pending.values()].find(
      (p) => p.conversationId === state.openId && p.body === part.body && sameAttachments(p, part) && !p.failed,
    );
    if (mine) {
      settleSend(mine, part);
      return;
    }
  }
  addToLog(part);
}

export function addToLog(part, { own = false } = {}) {
  // Parts being sent stay in state.pending until stored; stored ones take
  // their place in the server's order (a refresh may bring an older one).
  let next = null;
  if (!part.tempId) {
    if (part.id) state.partIds.add(part.id);
    const at = placeOf(state.parts, part);
    next = state.parts[at] ?? null;
    state.parts.splice(at, 0, part);
  }
  const log = logElement();
  if (!log) return;
  const nearBottom = els.body.scrollHeight - els.body.scrollTop - els.body.clientHeight < 80;
  document.getElementById('log-empty')?.remove();
  const later = next?.id ? log.querySelector(`[data-id="${CSS.escape(next.id)}"]`) : null;
  if (later) later.before(...nodesOf(partView(part, viewContext())));
  else append(log, partView(part, viewContext()));
  if (nearBottom || own) scrollToBottom();
  refreshPrompt();
}

function pendingNode(pending) {
  return logElement()?.querySelector(`[data-temp-id="${CSS.escape(pending.tempId)}"]`) ?? null;
}

export function redrawPending(pending) {
  const node = pendingNode(pending);
  if (node) node.replaceWith(...nodesOf(partView(pending, viewContext())));
}

/**
 * A message being sent is stored: its bubble becomes the stored part.
 * Whether the thread gained that part (the list, if shown, is then redrawn by the caller).
 */
export function settleSend(pending, message) {
  if (!state.pending.delete(pending.tempId)) return false;
  const node = pendingNode(pending);
  if (!message?.id) {
    node?.remove();
    refreshPrompt();
    return false;
  }
  if (pending.conversationId) store.receive(pending.conversationId, message);
  const part = { ...message, author: { type: 'contact', ...message.author } };
  if (state.partIds.has(part.id)) {
    // Its echo came first: the thread has the part. The bubble goes, and
    // with it the message being sent that hid a bot's question behind it.
    node?.remove();
    refreshPrompt();
    return false;
  }
  state.partIds.add(part.id);
  const at = placeOf(state.parts, part);
  const next = state.parts[at] ?? null;
  state.parts.splice(at, 0, part);
  const later = next?.id ? logElement()?.querySelector(`[data-id="${CSS.escape(next.id)}"]`) : null;
  if (node) {
    // Where the server puts it: before a team message stored after it.
    if (later) {
      node.remove();
      later.before(...nodesOf(partView(part, viewContext())));
    } else {
      node.replaceWith(...nodesOf(partView(part, viewContext())));
    }
  }
  refreshPrompt();
  return true;
}
