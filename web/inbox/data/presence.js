// Our own presence: online while the Inbox is open and visible, away after
// the tab has been hidden for five minutes.

import { post } from './api.js';

const AWAY_AFTER_MS = 5 * 60_000;

let awayTimer = null;
let current = null;
let started = false;

async function setPresence(status) {
  if (current === status) return;
  current = status;
  try {
    await post('/api/v1/presence', { status });
  } catch (error) {
    // Not worth interrupting anyone for; try again at the next change.
    current = null;
    console.warn('presence:', error.message);
  }
}

function onVisibility() {
  if (document.visibilityState === 'visible') {
    clearTimeout(awayTimer);
    awayTimer = null;
    current = null; // Say it again: the server may have timed us out.
    setPresence('online');
  } else if (!awayTimer) {
    awayTimer = setTimeout(() => {
      awayTimer = null;
      setPresence('away');
    }, AWAY_AFTER_MS);
  }
}

export function startPresence() {
  if (started) return;
  started = true;
  document.addEventListener('visibilitychange', onVisibility);
  if (document.visibilityState === 'visible') setPresence('online');
  else onVisibility();
}

export function stopPresence() {
  started = false;
  current = null;
  clearTimeout(awayTimer);
  awayTimer = null;
  document.removeEventListener('visibilitychange', onVisibility);
}
