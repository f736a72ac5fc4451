// The demo page (`/try?app_id=…`): boots the workspace's widget on a page
// Rapport serves itself, so a new team's first conversation is one click
// from the Inbox. The same snippet a website pastes, with the app id read
// from the address.
(function tryTheChat() {
  const appId = new URLSearchParams(window.location.search).get('app_id') || '';
  window.Rapport = window.Rapport || function queue() {
    (window.Rapport.q = window.Rapport.q || []).push(arguments);
  };
  window.Rapport('boot', { app_id: appId });
  const loader = document.createElement('script');
  loader.async = true;
  loader.src = '/widget.js';
  document.head.append(loader);
  document.getElementById('open-chat').addEventListener('click', () => window.Rapport('show'));
}());
