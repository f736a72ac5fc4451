// Settings > Notifications (every member): which new messages make a
// sound and a browser notification while the Inbox's tab is hidden (all,
// yours and new conversations, or none; kept on this browser), the button
// that asks the browser's permission to show notifications, and whether
// you are emailed about new conversations while nobody is online (kept by
// the server).
//
//   const destroy = mountNotificationsSection(element);

import { html, render } from '../../shared/html.js';
import { notifyChoice, setNotifyChoice } from '../shell/attention.js';
import { getEmailNotifications, setEmailNotifications } from '../data/settings.js';

const LABELS = {
  all: 'Every new message from a contact',
  mine: 'New conversations, and replies in conversations assigned to me',
  none: 'None (the tab title still counts unread conversations)',
};

function permissionText() {
  if (typeof Notification === 'undefined') return 'This browser does not show notifications; you will hear a sound.';
  if (Notification.permission === 'granted') return 'This browser shows them.';
  if (Notification.permission === 'denied') return 'This browser blocks them: allow them in its site settings.';
  return 'This browser has not been asked yet.';
}

export function mountNotificationsSection(element) {
  let alive = true;
  let emails = null; // {new_conversations} once read
  let emailNote = '';
  const draw = () => {
    const choice = notifyChoice();
    const askable = typeof Notification !== 'undefined' && Notification.permission === 'default';
    render(element, html`
      <section class="card" aria-labelledby="s-notifications" data-testid="notifications-section">
        <h2 id="s-notifications">Notifications</h2>
        <p>While the Inbox is open in a background tab, tell me with a sound and a browser notification about:</p>
        <fieldset class="radio-list">
          <legend class="visually-hidden">Notify me about</legend>
          ${Object.entries(LABELS).map(([value, label]) => html`<label class="check">
            <input type="radio" name="notify" value="${value}" data-testid="${`notify-${value}`}"
              ${value === choice ? html`checked` : ''}> ${label}</label>`)}
        </fieldset>
        <p class="muted small" data-testid="notify-permission">${permissionText()}</p>
        ${askable ? html`<button type="button" class="button small" data-action="allow-notifications"
          data-testid="notify-allow">Allow browser notifications</button>` : ''}
        <p class="muted small">Kept on this browser.</p>
        <h3>Email</h3>
        <label class="check">
          <input type="checkbox" name="email_new_conversations" data-testid="notify-email-new"
            ${emails?.new_conversations ? html`checked` : ''} ${emails ? '' : html`disabled`}>
          Email me about new conversations while nobody on the team is online
        </label>
        <p class="saved-note" role="status" data-testid="notify-email-note">${emailNote}</p>
      </section>`);
  };
  const onChange = async (event) => {
    if (event.target.name === 'notify') setNotifyChoice(event.target.value);
    if (event.target.name !== 'email_new_conversations') return;
    const wanted = event.target.checked;
    try {
      emails = await setEmailNotifications({ new_conversations: wanted });
      emailNote = 'Saved';
    } catch (error) {
      emailNote = `Not saved: ${error.message}`;
    }
    if (!alive) return;
    draw();
    element.querySelector('[name="email_new_conversations"]')?.focus();
  };
  const onClick = async (event) => {
    if (!event.target.closest('[data-action="allow-notifications"]')) return;
    await Notification.requestPermission();
    draw();
    element.querySelector('input[name="notify"]:checked')?.focus();
  };
  element.addEventListener('change', onChange);
  element.addEventListener('click', onClick);
  draw();
  getEmailNotifications().then((answer) => {
    emails = answer;
    if (alive) draw();
  }, (error) => {
    emailNote = `Could not read your email settings: ${error.message}`;
    if (alive) draw();
  });
  return () => {
    alive = false;
    element.removeEventListener('change', onChange);
    element.removeEventListener('click', onClick);
  };
}
