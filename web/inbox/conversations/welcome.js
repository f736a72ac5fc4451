// What a new workspace's empty Inbox says: try the chat on Rapport's own
// demo page (one click, and the first conversation appears here live),
// then put it on the website with the snippet (Copy), and where the rest
// is set up. Shown in the thread pane while the workspace has no
// conversation at all.

import { html } from '../../shared/html.js';
import { installSnippet, tryItUrl } from '../ui/install-snippet.js';

export function welcomeView({ appId, origin, manage }) {
  return html`
    <li class="welcome" data-testid="inbox-welcome">
      <h2 id="welcome-title">Your Inbox is ready</h2>
      <p>Conversations with the people on your website appear here, live. Two steps to the first one:</p>
      <ol class="welcome-steps">
        <li>
          <h3>Try the chat yourself</h3>
          <p>Open a demo page with your chat on it and write a message as a visitor would. It shows up here at
            once; answer it and watch the reply arrive there.</p>
          <p><a class="button primary small" href="${tryItUrl(appId, origin)}" target="_blank" rel="noopener"
            data-testid="welcome-try-it">Open the demo page</a></p>
        </li>
        <li>
          <h3>Put it on your website</h3>
          <p>Paste this before <code>&lt;/body&gt;</code> on every page:</p>
          <div class="code-block">
            <pre id="welcome-snippet" data-testid="welcome-snippet">${installSnippet(appId, origin)}</pre>
            <button type="button" class="button small" data-copy="welcome-snippet" data-testid="welcome-copy">Copy</button>
          </div>
        </li>
      </ol>
      <p class="muted">${manage
        ? html`Then invite your team, set your office hours and greet visitors automatically:
          <a href="#/settings">Settings</a> · <a href="#/automations">Automations</a>. Press <kbd>?</kbd> for the
          keyboard shortcuts.`
        : html`Press <kbd>?</kbd> for the keyboard shortcuts.`}</p>
    </li>`;
}
