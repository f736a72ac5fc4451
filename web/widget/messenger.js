// The messenger inside the widget's iframe (/messenger): start here.
//
// It waits for `boot` from the host page's loader, starts the visitor's
// session (session.js), and shows the conversation list or the start
// screen, a thread, and the composer (screens.js). A live socket brings
// team replies and typing (live-feed.js); the unread count of team
// messages goes back to the loader for the launcher's badge (unread.js).
// A bot's reply buttons and questions are bot-replies.js's, the "Search
// help" screen help-screen.js's, a message's files attachment-media.js's
// (images shown, files downloaded, the image dialog). What the
// modules share is in context.js; this file wires them together and
// handles the page's clicks and keys.

import { html, render } from '../shared/html.js';
import { els, state, store, host, composer, hooks } from './context.js';
import { onCommand, rebootAfterRefusal, retryBoot } from './session.js';
import { send, deliver } from './sending.js';
import { readIfViewing } from './unread.js';
import { settle, showList, showStart, openThread, focusPrimary, focusConversationItem } from './screens.js';
import { chooseReply, moveBetweenReplies } from './bot-replies.js';
import { showHelp, leaveHelp } from './help-screen.js';
import { chooseScore, sendRating } from './rating.js';
import { watchAttachments, openLightbox, closeLightbox, downloadAttachment } from './attachment-media.js';

hooks.refused = rebootAfterRefusal;
hooks.command = onCommand;
hooks.send = send;

watchAttachments();

document.addEventListener('visibilitychange', readIfViewing);

setInterval(() => {
  // Keep "5m" ages honest without disturbing someone reading.
  if (state.view === 'list' && state.isOpen && document.visibilityState === 'visible') showList();
}, 60_000);

document.addEventListener('keydown', (event) => {
  if (moveBetweenReplies(event)) return;
  if (event.key === 'Escape' && !event.defaultPrevented) {
    event.preventDefault();
    host.post({ rapport: 'close' });
  }
});

document.addEventListener('click', (event) => {
  const target = event.target.closest?.('[data-action], [data-conversation-id]');
  if (!target || !els.root.contains(target)) return;
  const action = target.dataset.action;
  if (!action && target.dataset.conversationId) {
    openThread(target.dataset.conversationId);
    composer.focus();
    return;
  }
  switch (action) {
    case 'close':
      host.post({ rapport: 'close' });
      break;
    case 'help':
      showHelp();
      break;
    case 'back': {
      if (state.view === 'help') {
        leaveHelp();
        break;
      }
      const from = state.openId;
      if (store.size) {
        showList();
        if (!from || !focusConversationItem(from)) focusPrimary();
      } else {
        showStart(false);
        composer.focus();
      }
      break;
    }
    case 'new':
      showStart(true);
      composer.focus();
      break;
    case 'retry': {
      const pending = state.pending.get(target.dataset.tempId);
      if (pending) deliver(pending);
      break;
    }
    case 'reply-button':
      chooseReply(target, send);
      break;
    case 'retry-boot':
      retryBoot();
      break;
    case 'reload-thread':
      if (state.openId) openThread(state.openId);
      break;
    case 'rate':
      chooseScore(target);
      break;
    case 'send-rating':
      sendRating();
      break;
    case 'open-image':
      openLightbox(target);
      break;
    case 'close-lightbox':
      closeLightbox();
      break;
    case 'download':
      downloadAttachment(target);
      break;
  }
});

// Start: tell the loader we listen.

if (host.embedded) {
  host.announceReady();
} else {
  settle('error');
  render(
    els.body,
    html`<div class="error"><p>This page is the chat window of the Rapport widget. Add /widget.js to your site to use it.</p></div>`,
  );
}
