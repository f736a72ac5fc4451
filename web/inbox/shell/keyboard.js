// Inbox shortcuts: j/k or ↑/↓ move in the list, Enter or o opens, / goes
// to the search box, r replies, n toggles note mode, s suggests a reply
// from the knowledge base, e closes or reopens, a and z go to the assignee
// and snooze choices, t to the tag box, p opens the contact's profile, ?
// lists the shortcuts. Esc in the composer (and / there) is handled by the
// composer; keys in the search box and its hits by the search.

import { html, render } from '../../shared/html.js';
import { moveCursor } from '../data/conversation-list.js';
import { isEditable } from '../ui/focus.js';

const SHORTCUTS = [
  ['j / ↓', 'Next conversation'],
  ['k / ↑', 'Previous conversation'],
  ['Enter / o', 'Open the highlighted conversation'],
  ['/', 'Search conversations'],
  ['Esc', 'Clear the search (in the search box)'],
  ['r', 'Reply'],
  ['n', 'Toggle note mode'],
  ['s', 'Suggest a reply from the knowledge base'],
  ['e', 'Close the conversation, or reopen it'],
  ['a', 'Assign (choose with the arrows, Enter)'],
  ['z', 'Snooze (choose with the arrows, Enter)'],
  ['t', 'Tag the conversation (type a tag, Enter)'],
  ['p', "Open the contact's profile"],
  ['/', 'Saved replies (in the reply box)'],
  ['Enter', 'Send (in the reply box)'],
  ['Shift+Enter', 'New line'],
  ['Ctrl/⌘+Enter', 'Send'],
  ['Esc', 'Leave the reply box'],
  ['?', 'Show these shortcuts'],
];

function toggleHelp() {
  let dialog = document.getElementById('shortcut-help');
  if (!dialog) {
    dialog = document.createElement('dialog');
    dialog.id = 'shortcut-help';
    dialog.className = 'shortcut-help';
    dialog.setAttribute('aria-labelledby', 'shortcut-help-title');
    render(dialog, html`
      <h2 id="shortcut-help-title">Keyboard shortcuts</h2>
      <dl>${SHORTCUTS.map(([keys, what]) => html`<dt><kbd>${keys}</kbd></dt><dd>${what}</dd>`)}</dl>
      <form method="dialog"><button class="button small">Close</button></form>`);
    document.body.append(dialog);
  }
  if (dialog.open) dialog.close();
  else dialog.showModal();
}

/** `getInbox()` returns the mounted Inbox view, or null on other pages. */
export function installShortcuts(getInbox) {
  const onKeyDown = (event) => {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    if (isEditable(event.target)) return;
    if (document.querySelector('dialog[open]')) return;
    const inbox = getInbox();
    if (event.key === '?') {
      event.preventDefault();
      toggleHelp();
      return;
    }
    if (!inbox) return;
    const target = event.target;
    const inList = target.closest?.('[role="listbox"]');
    const free = inList || target === document.body || target.tagName === 'MAIN';
    switch (event.key) {
      case 'j':
        moveCursor(1);
        break;
      case 'k':
        moveCursor(-1);
        break;
      case 'ArrowDown':
      case 'ArrowUp':
        // Elsewhere the arrows scroll (the thread) or work the control.
        if (!free) return;
        moveCursor(event.key === 'ArrowDown' ? 1 : -1);
        if (!inList) inbox.focusList();
        break;
      case 'Enter':
        // Enter on a button or link must keep doing what it does.
        if (!free) return;
        inbox.openCursor();
        break;
      case 'o':
        inbox.openCursor();
        break;
      case 'r':
        inbox.focusComposer('comment');
        break;
      case 'n':
        inbox.toggleNote();
        break;
      case 's':
        inbox.suggestReply();
        break;
      case '/':
        inbox.focusSearch();
        break;
      case 'e':
      case 'a':
      case 'z':
      case 't':
      case 'p': {
        // The open conversation's own controls, so what they do (and
        // where focus goes after) is theirs.
        const control = document.querySelector({
          e: '[data-testid="close-button"], [data-testid="reopen-button"]',
          a: '[data-testid="assign-select"]',
          z: '[data-testid="snooze-select"]',
          t: '.thread-header [data-testid="tag-input"]',
          p: '[data-testid="open-profile"]',
        }[event.key]);
        if (!control) return;
        if (event.key === 'e' || event.key === 'p') control.click();
        else control.focus();
        break;
      }
      default:
        return;
    }
    event.preventDefault();
  };
  document.addEventListener('keydown', onKeyDown);
  return () => document.removeEventListener('keydown', onKeyDown);
}
