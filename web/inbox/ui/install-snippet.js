// The snippet a website pastes before </body> to show the chat widget:
// shown in Settings and on a new workspace's empty Inbox.

import { jsString } from '../settings/identity.js';

export function installSnippet(appId, origin) {
  return `<script>
  window.Rapport = window.Rapport || function () { (Rapport.q = Rapport.q || []).push(arguments) };
  Rapport('boot', { app_id: ${jsString(appId)} /*, user_id, user_hash, email, name, ...props */ });
</script>
<script async src="${origin}/widget.js"></script>`;
}

/** The demo page with the workspace's widget on it. */
export function tryItUrl(appId, origin) {
  return `${origin}/try?app_id=${encodeURIComponent(appId)}`;
}
