// Sending the visitor's messages: a "Sending…" bubble at once, then the
// message stored (the first one of a new conversation creates it; more
// typed meanwhile wait for its id), or a Retry when it failed. Files go
// as the ids of their uploads; the bubble shows them from the visitor's
// own bytes.

import { render } from '../shared/html.js';
import { els, state, store, api, composer, viewContext } from './context.js';
import { threadView } from './thread.js';
import { postUnread } from './unread.js';
import { addToLog, redrawPending, settleSend } from './thread-log.js';
import { settle, renderHeader, showList, syncThread } from './screens.js';
import { rememberFile } from './attachment-media.js';
import { isInlineImage } from './attachments.js';
import { t } from './i18n.js';

/** Sends `text` with `files` (`{attachment, file}`: the composer's stored uploads). */
export function send(text, files = []) {
  for (const { attachment, file } of files) {
    if (isInlineImage(attachment)) rememberFile(attachment.id, file);
  }
  const pending = {
    tempId: `tmp-${++state.pendingSeq}`,
    pending: true,
    failed: null,
    body: text,
    attachments: files.map((f) => f.attachment),
    author: { type: 'contact' },
    conversationId: state.view === 'thread' ? state.openId : null,
  };
  if (state.view !== 'thread') {
    // The start screen becomes the new conversation's thread.
    settle('thread');
    state.openId = null;
    state.parts = [];
    state.partIds.clear();
    renderHeader();
    render(els.body, threadView([], viewContext()));
    composer.setPlaceholder(t('writeReply'));
  }
  state.pending.set(pending.tempId, pending);
  addToLog(pending, { own: true });
  deliver(pending);
}

export async function deliver(pending) {
  if (pending.failed) {
    pending.failed = null;
    pending.pending = true;
    redrawPending(pending);
  }
  try {
    if (!pending.conversationId && state.creating) {
      // A second message while the first one is still creating the
      // conversation goes into that conversation.
      const id = await state.creating;
      if (id) pending.conversationId = id;
    }
    if (pending.conversationId) {
      const message = await api.sendMessage(pending.conversationId, pending.body, attachmentIds(pending));
      if (settleSend(pending, message) && state.view === 'list') showList();
    } else {
      const started = api.startConversation(pending.body, attachmentIds(pending));
      const creating = started.then((answer) => answer?.conversation?.id ?? null, () => null);
      state.creating = creating;
      creating.then(() => {
        if (state.creating === creating) state.creating = null;
      });
      const answer = await started;
      const conversation = answer?.conversation;
      if (!conversation?.id) throw new Error('no conversation in the answer');
      pending.conversationId = conversation.id;
      store.upsert(conversation, answer.message);
      if (state.view === 'thread' && state.openId === null) {
        state.openId = conversation.id;
        composer.renameDraft(conversation.id);
      }
      if (settleSend(pending, answer.message) && state.view === 'list') showList();
      // Anything the team or a bot said meanwhile.
      if (state.openId === conversation.id) syncThread(conversation.id);
      postUnread();
    }
  } catch (error) {
    if (!state.pending.has(pending.tempId)) return;
    pending.pending = false;
    pending.failed = error.visitorMessage || t('notSent');
    redrawPending(pending);
  }
}

function attachmentIds(pending) {
  return (pending.attachments ?? []).map((a) => a.id);
}
