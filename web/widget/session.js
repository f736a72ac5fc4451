// The visitor's session and the host page's commands: `boot` (POST
// /widget/v1/boot, the token kept in localStorage), `update`, `track`,
// `open` / `close` and `shutdown`; booting again as a new visitor when the
// server refuses the session, at most once in a while.

import { html, render } from '../shared/html.js';
import { bootRequest, updateRequest, loadSession, saveSession, forgetSession, endSession } from './api.js';
import { els, state, store, api, host, composer } from './context.js';
import { hideTyping } from './typing.js';
import { readIfViewing } from './unread.js';
import { startLive, stopLive } from './live-feed.js';
import { refreshConversations } from './refresh.js';
import { showLoading, showError, openThread, focusPrimary } from './screens.js';
import { t, pickLanguage, setLanguage, language } from './i18n.js';

const REBOOT_AT_MOST_EVERY_MS = 30_000;

let commandChain = Promise.resolve();

export function onCommand(command) {
  switch (command.cmd) {
    case 'open':
      setOpen(true);
      break;
    case 'close':
      setOpen(false);
      break;
    case 'shutdown':
      // Only this app's visitor is forgotten, whatever the host page says.
      shutdown(state.appId);
      break;
    default:
      // boot, update and track run in order: track waits for the session.
      commandChain = commandChain
        .then(() => runCommand(command))
        .catch((error) => console.warn(`rapport: ${command.cmd} failed`, error));
  }
}

async function runCommand(command) {
  if (command.cmd === 'boot') {
    if (!command.settings || typeof command.settings.app_id !== 'string') return;
    applyTheme(command.theme);
    speak(command.settings.language);
    await boot(command.settings);
  } else if (command.cmd === 'update') {
    if (!api.session || !command.props || typeof command.props !== 'object') return;
    const props = command.props;
    // A visitor who signs in on the page: boot again as that user.
    if (props.user_id !== undefined && String(props.user_id) !== String(state.settings.user_id ?? '')) {
      await boot({ ...state.settings, ...props });
      return;
    }
    state.settings = { ...state.settings, ...props };
    const body = updateRequest(props);
    if (Object.keys(body).length) await api.update(body);
  } else if (command.cmd === 'track') {
    if (!api.session || typeof command.name !== 'string') return;
    await api.track(command.name, command.params && typeof command.params === 'object' ? command.params : {});
  }
}

/** Speaks the boot's `language`, else the browser's (i18n.js). */
function speak(requested) {
  const preferred = navigator.languages?.length ? navigator.languages : [navigator.language];
  setLanguage(pickLanguage(typeof requested === 'string' ? requested : null, preferred));
  document.documentElement.lang = language();
  for (const element of document.querySelectorAll('[data-i18n]')) element.textContent = t(element.dataset.i18n);
  for (const element of document.querySelectorAll('[data-i18n-label]')) {
    element.setAttribute('aria-label', t(element.dataset.i18nLabel));
  }
}

function applyTheme(theme) {
  const accent = theme?.accent;
  if (typeof accent === 'string' && globalThis.CSS?.supports?.('color', accent)) {
    document.documentElement.style.setProperty('--rapport-accent', accent);
  }
}

async function boot(settings) {
  // The page's framing policy is the URL's app's: booting another app here
  // would show it on sites that app never allowed.
  if (!state.appId || settings.app_id !== state.appId) {
    console.error('rapport: boot refused: its app_id is not the one this messenger was loaded for');
    if (!api.session) showError(t('notSetUp'), false);
    return;
  }
  const generation = ++state.generation;
  clearTimeout(state.bootRetryTimer);
  clearTimeout(state.rebootTimer);
  state.rebootTimer = null;
  state.settings = settings;
  // Booting again (another user signed in): the thread in view comes back
  // if it is still this visitor's.
  const reopen = state.view === 'thread' ? state.openId : null;
  stopLive();
  resetConversations();
  showLoading();

  const stored = loadSession(state.appId);
  let answer;
  try {
    answer = await api.boot(bootRequest(settings, stored));
  } catch (error) {
    if (generation !== state.generation) return;
    // A stored session the server no longer knows is not an error (it starts
    // a new visitor); 401 means identity verification refused the user_id.
    bootFailed(error, settings);
    return;
  }
  if (generation !== state.generation) return;
  if (!answer?.session) {
    bootFailed(new Error('boot answered without a session'), settings);
    return;
  }
  state.bootRetryDelay = 2000;
  api.session = answer.session;
  saveSession(state.appId, answer.session);
  state.workspace = answer.workspace ?? { name: '' };
  state.team = Array.isArray(answer.team) ? answer.team : [];
  composer.setAttachments(answer.attachments);
  startLive();
  await refreshConversations();
  if (reopen && generation === state.generation && store.has(reopen)) {
    await openThread(reopen);
    if (state.isOpen) focusPrimary();
  }
}

function bootFailed(error, settings) {
  console.warn('rapport: boot failed', error);
  if (error.status === 404) {
    showError(t('notAvailable'), false);
  } else if (error.status === 401 || error.status === 403) {
    showError(t('notConfirmed'), false);
  } else if (error.status === 422) {
    showError(t('notSetUp'), false);
  } else {
    showError(t('cannotReach'), true);
    state.bootRetryTimer = setTimeout(() => {
      commandChain = commandChain.then(() => boot(settings));
    }, state.bootRetryDelay);
    state.bootRetryDelay = Math.min(state.bootRetryDelay * 2, 30_000);
  }
}

// The server refused the session (revoked, shut down elsewhere, expired,
// or the contact changed identity or was merged): start again as a new
// visitor, at most once in a while so a broken setup cannot loop; a
// refusal inside that window reboots when it ends.
export function rebootAfterRefusal() {
  if (!state.settings) return;
  const now = Date.now();
  const wait = state.lastReboot + REBOOT_AT_MOST_EVERY_MS - now;
  if (wait > 0) {
    if (!state.rebootTimer) {
      state.rebootTimer = setTimeout(() => {
        state.rebootTimer = null;
        rebootAfterRefusal();
      }, wait);
    }
    return;
  }
  state.lastReboot = now;
  forgetSession(state.appId);
  api.session = null;
  const settings = state.settings;
  commandChain = commandChain.then(() => boot(settings));
}

function shutdown(appId) {
  state.generation++;
  clearTimeout(state.bootRetryTimer);
  clearTimeout(state.rebootTimer);
  state.rebootTimer = null;
  // End the session on the server too, so the token stops working even if
  // someone kept a copy; not awaited: the messenger resets at once.
  const session = api.session ?? (appId ? loadSession(appId) : null);
  endSession(session);
  if (appId) forgetSession(appId);
  stopLive();
  api.session = null;
  state.settings = null;
  resetConversations();
  composer.clearDrafts();
  composer.show(false);
  render(els.header, html``);
  render(els.body, html``);
  host.post({ rapport: 'shutdown' });
}

function resetConversations() {
  store.clear();
  state.pending.clear();
  state.parts = [];
  state.partIds.clear();
  state.openId = null;
  state.postedUnread = null;
  hideTyping();
}

/** The error screen's "Try again now". */
export function retryBoot() {
  if (!state.settings) return;
  const settings = state.settings;
  commandChain = commandChain.then(() => boot(settings));
}

function setOpen(open) {
  state.isOpen = open;
  if (!open) return;
  focusPrimary();
  readIfViewing();
}
