// The Inbox's three panes: conversations, the open thread, the contact.

import { html, render } from '../../shared/html.js';
import { state } from '../data/store.js';
import { selectConversation } from '../data/conversations.js';
import { mountConversationList } from './conversation-list.js';
import { mountThreadView } from './thread-view.js';
import { mountContactPanel } from './contact-panel.js';

export function mountInboxView(element) {
  render(element, html`
    <main id="main" class="inbox" tabindex="-1">
      <section class="pane list-pane" aria-label="Conversation list" data-region="list"></section>
      <section class="pane thread-pane" aria-label="Conversation" data-region="thread"></section>
      <aside class="pane side-pane" aria-label="Contact details" data-region="side"></aside>
    </main>`);

  let thread = null;
  // `partId`: a message to bring into view once the thread shows (a search hit's).
  const open = (id, { partId = null } = {}) => {
    if (!id) return;
    if (partId) thread?.revealPart(id, partId);
    if (location.hash !== `#/conversations/${id}`) location.hash = `#/conversations/${id}`;
    else selectConversation(id);
  };

  const list = mountConversationList(element.querySelector('[data-region="list"]'), { onOpen: open });
  thread = mountThreadView(element.querySelector('[data-region="thread"]'), {
    onLeaveComposer: () => list.focus(),
  });
  const destroySide = mountContactPanel(element.querySelector('[data-region="side"]'));

  return {
    /** The route changed to `#/` or `#/conversations/{id}`. */
    show(conversationId) {
      if (conversationId !== state.selectedId) selectConversation(conversationId ?? null);
    },
    openCursor: () => open(state.cursorId),
    focusList: () => list.focus(),
    focusSearch: () => list.focusSearch(),
    focusComposer: (mode) => thread.focusComposer(mode),
    toggleNote: () => thread.toggleNote(),
    suggestReply: () => thread.suggestReply(),
    destroy() {
      list.destroy();
      thread.destroy();
      destroySide();
    },
  };
}
