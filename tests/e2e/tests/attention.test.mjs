// The Inbox asking for attention, in Chromium: a visitor's new message
// counts in the tab's title and on its icon, and while the tab is hidden
// it makes a browser notification for a member who chose to hear of every
// message; one who chose none is not notified. (The page's Notification
// and document.hidden are stood in for, as a headless browser has no
// desktop to show a notification on or to hide a tab behind.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withServerAndBrowser, signInToInbox } from '../harness.mjs';

const env = withServerAndBrowser();

/** A visitor who starts a conversation with `body`, through the widget API. */
async function visitorWrites(body) {
  const booted = await fetch(`${env.rapport.base}/widget/v1/boot`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ app_id: env.rapport.boot.app_id }),
  }).then((r) => r.json());
  const started = await fetch(`${env.rapport.base}/widget/v1/conversations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${booted.session}` },
    body: JSON.stringify({ body }),
  });
  assert.equal(started.status, 201);
}

test('a new message counts in the title and the icon, and notifies a hidden tab as the member chose', async () => {
  const { page, injected, context } = await signInToInbox(env.browser, env.rapport);
  await page.addInitScript(() => {
    window.__notes = [];
    window.__hidden = false;
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => window.__hidden });
    window.Notification = function Notification(title, options) {
      window.__notes.push({ title, body: options?.body });
      this.close = () => {};
    };
    window.Notification.permission = 'granted';
    window.Notification.requestPermission = async () => 'granted';
  });
  await page.reload();
  await page.getByTestId('conversation-list').waitFor();

  // Every message, on this browser.
  await page.getByTestId('nav-settings').click();
  const section = page.getByTestId('notifications-section');
  await section.getByTestId('notify-permission').filter({ hasText: 'shows them' }).waitFor();
  await section.getByTestId('notify-all').check();
  assert.equal(await page.evaluate(() => localStorage.getItem('rapport.inbox.notify')), 'all');
  // Emails about new conversations while nobody is online: on by default, kept by the server.
  const emailBox = section.getByTestId('notify-email-new');
  await page.waitForFunction(() => !document.querySelector('[data-testid="notify-email-new"]').disabled);
  assert.equal(await emailBox.isChecked(), true);
  await emailBox.uncheck();
  await section.getByTestId('notify-email-note').filter({ hasText: 'Saved' }).waitFor();
  assert.deepEqual((await env.rapport.api('GET', '/api/v1/me/email-notifications')).body, { new_conversations: false });
  await page.getByTestId('nav-inbox').click();
  await page.getByTestId('conversation-list').waitFor();
  const iconBefore = await page.locator('link[rel="icon"]').getAttribute('href');

  // Hidden: a visitor writes.
  await page.evaluate(() => { window.__hidden = true; });
  await visitorWrites('Is the blue one in stock?');
  await page.getByTestId('conversation-row').filter({ hasText: 'Is the blue one in stock?' }).waitFor({ timeout: 15_000 });
  await page.waitForFunction(() => window.__notes.length === 1);
  const [note] = await page.evaluate(() => window.__notes);
  assert.equal(note.body, 'Is the blue one in stock?');
  await page.waitForFunction(() => document.title.startsWith('(1) '));
  const iconAfter = await page.locator('link[rel="icon"]').getAttribute('href');
  assert.match(iconAfter, /^data:image\/png/);
  assert.notEqual(iconAfter, iconBefore, 'the icon shows the count');

  // None: the title still counts, nobody is notified.
  await page.evaluate(() => localStorage.setItem('rapport.inbox.notify', 'none'));
  await visitorWrites('Hello again');
  await page.getByTestId('conversation-row').filter({ hasText: 'Hello again' }).waitFor({ timeout: 15_000 });
  await page.waitForFunction(() => document.title.startsWith('(2) '));
  assert.equal(await page.evaluate(() => window.__notes.length), 1);

  // Opening one reads it: the count goes down.
  await page.evaluate(() => { window.__hidden = false; });
  await page.getByTestId('conversation-row').filter({ hasText: 'Hello again' }).click();
  await page.waitForFunction(() => document.title.startsWith('(1) '));
  assert.deepEqual(injected, []);
  await context.close();
});
