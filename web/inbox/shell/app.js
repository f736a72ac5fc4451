// The Inbox's entry point: first-run setup or sign-in, then the app shell,
// the hash router (#/, #/?contact={id}, #/conversations/{id}, #/people,
// #/people/import, #/bulk-sends, #/bulk-sends/{id}, #/contacts/{id},
// #/automations, #/automations/{id}, #/knowledge, #/knowledge/new,
// #/knowledge/{id}, #/reports, #/settings), the live connection and presence.

import { html, render } from '../../shared/html.js';
import { setupStatus, currentSession, signOut as endSession, onUnauthorized } from '../data/session.js';
import { state, setSession, clearAll, loadAgents, onAnnounce, emit } from '../data/store.js';
import { loadList, setContactFilter } from '../data/conversation-list.js';
import { loadWorkspaceAttachments } from '../data/settings.js';
import { showSetup } from './setup-view.js';
import { showSignIn } from './signin-view.js';
import { mountTopBar } from './top-bar.js';
import { mountInboxView } from '../conversations/inbox-view.js';
import { mountSettingsView } from '../settings/settings-view.js';
import { mountContactView } from '../contacts/contact-view.js';
import { mountPeopleView } from '../people/people-view.js';
import { mountImportView } from '../people/import-view.js';
import { mountBulkSendsView, mountBulkSendView } from '../people/bulk-sends-view.js';
import { mountAutomationsView } from '../automations/automations-view.js';
import { mountAutomationView } from '../automations/automation-view.js';
import { mountKnowledgeView } from '../knowledge/knowledge-view.js';
import { mountArticleView } from '../knowledge/article-view.js';
import { mountReportsView } from '../reports/reports-view.js';
import { installShortcuts } from './keyboard.js';
import { startLive, stopLive } from '../data/live-updates.js';
import { startAttention } from './attention.js';
import { forgetSavedReplies } from '../conversations/saved-reply-picker.js';
import { startPresence, stopPresence } from '../data/presence.js';

const root = document.getElementById('app');
const announcer = document.getElementById('announcer');

let shell = null; // {view, destroyTopBar, viewElement}

// --- Screen-reader announcements --------------------------------------------------

onAnnounce((text) => {
  // Clear first so the same words twice are still announced.
  render(announcer, html``);
  requestAnimationFrame(() => render(announcer, html`<p>${text}</p>`));
});

// --- Routing -----------------------------------------------------------------------

function parseRoute(hash = location.hash) {
  const [path, query = ''] = (hash.replace(/^#/, '') || '/').split('?');
  let m;
  // A conversation keeps the list's contact filter; the bare Inbox clears it.
  if ((m = path.match(/^\/conversations\/([^/]+)$/))) return { name: 'inbox', id: decodeURIComponent(m[1]), contact: undefined };
  if ((m = path.match(/^\/contacts\/([^/]+)$/))) return { name: 'contact', id: decodeURIComponent(m[1]) };
  if ((m = path.match(/^\/bulk-sends\/([^/]+)$/))) return { name: 'bulk-send', id: decodeURIComponent(m[1]) };
  if (path === '/bulk-sends') return { name: 'bulk-sends' };
  if ((m = path.match(/^\/automations\/([^/]+)$/))) return { name: 'automation', id: decodeURIComponent(m[1]) };
  if (path === '/automations') return { name: 'automations' };
  if ((m = path.match(/^\/knowledge\/([^/]+)$/))) return { name: 'article', id: decodeURIComponent(m[1]) };
  if (path === '/knowledge') return { name: 'knowledge' };
  if (path === '/people/import') return { name: 'import' };
  if (path === '/people') return { name: 'people' };
  if (path === '/reports') return { name: 'reports' };
  if (path === '/settings') return { name: 'settings' };
  return { name: 'inbox', id: null, contact: new URLSearchParams(query).get('contact') };
}

// The pages other than the Inbox: how to mount each, and its title.
const PAGES = {
  settings: { mount: (element) => mountSettingsView(element), title: 'Settings' },
  contact: { mount: (element, route) => mountContactView(element, route.id), title: 'Contact' },
  people: { mount: (element) => mountPeopleView(element), title: 'People' },
  import: { mount: (element) => mountImportView(element), title: 'Import contacts' },
  'bulk-sends': { mount: (element) => mountBulkSendsView(element), title: 'Bulk sends' },
  'bulk-send': { mount: (element, route) => mountBulkSendView(element, route.id), title: 'Bulk send' },
  automations: { mount: (element) => mountAutomationsView(element), title: 'Automations' },
  automation: { mount: (element, route) => mountAutomationView(element, route.id), title: 'Automation' },
  knowledge: { mount: (element) => mountKnowledgeView(element), title: 'Knowledge base' },
  article: { mount: (element, route) => mountArticleView(element, route.id), title: 'Article' },
  reports: { mount: (element) => mountReportsView(element), title: 'Reports' },
};

function route() {
  if (!shell) return;
  const next = parseRoute();
  const current = shell.view;
  if (next.name === 'inbox' && next.contact !== undefined) setContactFilter(next.contact);
  if (current?.name === 'inbox' && next.name === 'inbox') {
    current.api.show(next.id);
    emit('route');
    return;
  }
  current?.destroy();
  const element = shell.viewElement;
  const page = PAGES[next.name];
  if (page) {
    shell.view = { name: next.name, destroy: page.mount(element, next) };
    document.title = `${page.title} · Rapport`;
  } else {
    const api = mountInboxView(element);
    shell.view = { name: 'inbox', api, destroy: () => api.destroy() };
    api.show(next.id);
    document.title = 'Inbox · Rapport';
    if (!next.id) api.focusList();
  }
  emit('route');
}

// --- Signed in ----------------------------------------------------------------------

function start(session) {
  setSession(session);
  render(root, html`
    <header class="top-bar" data-region="top"></header>
    <div class="view" data-region="view"></div>`);
  const destroyTopBar = mountTopBar(root.querySelector('[data-region="top"]'), { onSignOut: signOut });
  const removeShortcuts = installShortcuts(() => (shell?.view?.name === 'inbox' ? shell.view.api : null));
  const stopAttention = startAttention();
  shell = {
    view: null, viewElement: root.querySelector('[data-region="view"]'), destroyTopBar, removeShortcuts, stopAttention,
  };
  window.addEventListener('hashchange', route);
  route();
  loadAgents().catch((error) => console.warn('agents:', error.message));
  loadWorkspaceAttachments().catch((error) => console.warn('attachment settings:', error.message));
  loadList();
  startLive();
  startPresence();
}

function stop() {
  if (!shell) return;
  window.removeEventListener('hashchange', route);
  shell.view?.destroy();
  shell.destroyTopBar();
  shell.removeShortcuts();
  shell.stopAttention();
  shell = null;
  // The next member signing in on this tab must not see these.
  forgetSavedReplies();
  stopLive();
  stopPresence();
  clearAll();
}

async function signOut() {
  try {
    await endSession();
  } catch (error) {
    if (error.status !== 401) console.warn('sign out:', error.message);
  }
  stop();
  history.replaceState(null, '', location.pathname);
  signIn(null);
}

function signIn(notice) {
  showSignIn(root, { onSignedIn: start, notice });
}

onUnauthorized(() => {
  if (!shell) return;
  stop();
  signIn('Your session has ended. Please sign in again.');
});

// --- Boot -----------------------------------------------------------------------------

function showBootError(error) {
  render(root, html`
    <main id="main" class="auth-page">
      <div class="auth-card">
        <h1>Rapport is not answering</h1>
        <p class="form-error" role="alert">${error.message}</p>
        <button type="button" class="button primary" data-action="retry">Try again</button>
      </div>
    </main>`);
  root.querySelector('[data-action="retry"]').addEventListener('click', boot, { once: true });
}

async function boot() {
  try {
    const setup = await setupStatus();
    if (setup?.needed) {
      showSetup(root, { onDone: boot });
      return;
    }
  } catch (error) {
    // An older server without first-run setup: go on to sign-in.
    if (error.status !== 404) {
      showBootError(error);
      return;
    }
  }
  try {
    start(await currentSession());
  } catch (error) {
    if (error.status === 401 || error.status === 404) signIn(null);
    else showBootError(error);
  }
}

boot();

// For debugging from the console; not used by the app.
globalThis.rapportInbox = { state };
