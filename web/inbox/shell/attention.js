// The Inbox asking for attention while the agent looks elsewhere: the
// number of unread conversations in the tab's title and on its icon, and,
// while the tab is hidden, a browser notification (once allowed) and a
// short sound for a contact's message the member chose to hear about
// (attention-rules.js: all, mine and new ones, or none; kept per browser).
// Clicking a notification opens its conversation.
//
//   const stop = startAttention();

import { state, subscribe } from '../data/store.js';
import { onActivity } from '../data/activity.js';
import { isUnread } from '../data/conversation-list.js';
import { messageInOneLine } from '../data/attachments.js';
import { notifies, titleWith, NOTIFY_KEY, CHOICES } from './attention-rules.js';

/** The member's choice on this browser: all, mine (the default) or none. */
export function notifyChoice() {
  const saved = localStorage.getItem(NOTIFY_KEY);
  return CHOICES.includes(saved) ? saved : 'mine';
}

export function setNotifyChoice(choice) {
  if (CHOICES.includes(choice)) localStorage.setItem(NOTIFY_KEY, choice);
}

function unreadCount() {
  let count = 0;
  for (const conversation of state.conversations.values()) {
    if (conversation.status === 'open' && isUnread(conversation)) count += 1;
  }
  return count;
}

/** The tab's icon: the app's mark, with the count on a red badge. */
function iconFor(count) {
  const canvas = document.createElement('canvas');
  canvas.width = 32;
  canvas.height = 32;
  const g = canvas.getContext('2d');
  if (!g) return null;
  g.fillStyle = '#2f5fd0';
  g.beginPath();
  g.roundRect?.(0, 0, 32, 32, 7);
  if (!g.roundRect) g.rect(0, 0, 32, 32);
  g.fill();
  g.fillStyle = '#fff';
  g.font = 'bold 20px system-ui, sans-serif';
  g.textAlign = 'center';
  g.textBaseline = 'middle';
  g.fillText('R', 16, 17);
  if (count) {
    g.fillStyle = '#d93025';
    g.beginPath();
    g.arc(23, 9, 9, 0, Math.PI * 2);
    g.fill();
    g.fillStyle = '#fff';
    g.font = 'bold 12px system-ui, sans-serif';
    g.fillText(count > 9 ? '9+' : String(count), 23, 10);
  }
  return canvas.toDataURL('image/png');
}

let audio = null;
/** A short two-note chime, made here: nothing to download. */
function chime() {
  try {
    audio = audio ?? new AudioContext();
    if (audio.state === 'suspended') audio.resume();
    const start = audio.currentTime;
    for (const [offset, frequency] of [[0, 880], [0.12, 1320]]) {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.15, start + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.2);
      tone.connect(gain).connect(audio.destination);
      tone.start(start + offset);
      tone.stop(start + offset + 0.22);
    }
  } catch {
    // No sound here (no audio device, or not allowed yet): the title says it.
  }
}

function notify(conversationId, name, body) {
  chime();
  if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
  const shown = new Notification(name, { body: body.slice(0, 140), tag: conversationId });
  shown.onclick = () => {
    window.focus();
    location.hash = `#/conversations/${encodeURIComponent(conversationId)}`;
    shown.close();
  };
}

export function startAttention() {
  let lastCount = -1;
  let lastTitle = '';
  const icon = document.querySelector('link[rel="icon"]');
  const show = () => {
    const count = unreadCount();
    const title = titleWith(count, document.title);
    if (title !== document.title) document.title = title;
    if (count !== lastCount && icon) {
      const url = iconFor(count);
      if (url) icon.href = url;
    }
    lastCount = count;
    lastTitle = document.title;
  };
  // The router sets a page's title: put the count back in front.
  const titleWatch = new MutationObserver(() => {
    if (document.title !== lastTitle) show();
  });
  const titleElement = document.querySelector('title');
  if (titleElement) titleWatch.observe(titleElement, { childList: true, characterData: true, subtree: true });

  // Conversations started by a contact, seen live: their first message is "new".
  const started = new Set();
  const offActivity = onActivity((frame) => {
    const id = frame.conversation_id ?? frame.data?.conversation_id;
    if (!id) return;
    if (frame.kind === 'conversation_started') {
      started.add(id);
      return;
    }
    const part = frame.data;
    if (frame.kind !== 'message' || part?.author?.type !== 'contact' || (part.type && part.type !== 'comment')) return;
    const startsIt = started.delete(id);
    if (!document.hidden) return;
    const conversation = state.conversations.get(id) ?? null;
    if (!notifies(notifyChoice(), { conversation, startsIt, me: state.me?.id })) return;
    const name = conversation?.contact?.name || conversation?.contact?.email || 'A visitor';
    notify(id, name, messageInOneLine(part.body, part.attachments));
  });
  const offs = [subscribe('list', show), subscribe('detail', show), subscribe('route', show)];
  show();
  return () => {
    offActivity();
    titleWatch.disconnect();
    offs.forEach((off) => off());
  };
}
