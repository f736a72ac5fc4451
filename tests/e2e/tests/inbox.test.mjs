// The agent's Inbox and a visitor's widget, side by side in Chromium: both
// see each other live.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRapport, startHostSite, launchBrowser, watchForInjection, screenshot, signInToInbox } from '../harness.mjs';

let rapport;
let browser;

before(async () => {
  rapport = await startRapport();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await rapport?.stop();
});

/** Grace signs in to the Inbox in a fresh browser context. */
const signIn = () => signInToInbox(browser, rapport);

async function visitor() {
  const site = await startHostSite(rapport);
  const context = await browser.newContext();
  const page = await context.newPage();
  const injected = await watchForInjection(page);
  await page.goto(site.url);
  await page.getByTestId('rapport-launcher').click();
  const messenger = page.frameLocator('[data-testid="rapport-frame"]');
  await messenger.getByTestId('messenger-composer').waitFor();
  return { page, messenger, injected, context, site };
}

test('a visitor message appears in the Inbox live, and the Enter-sent reply reaches the widget live', async () => {
  const agent = await signIn();
  const guest = await visitor();
  const payload = 'Help! <img src=x onerror="window.__injected(\'inbox\')">';
  await guest.messenger.getByTestId('messenger-composer').fill(payload);
  await guest.messenger.getByTestId('messenger-composer').press('Enter');

  // No reload: the conversation arrives over the Inbox's socket.
  const row = agent.page.getByTestId('conversation-row').filter({ hasText: 'Help!' });
  await row.waitFor({ timeout: 15000 });
  await row.click();
  const visitorPart = agent.page.getByTestId('part').filter({ hasText: 'onerror' });
  await visitorPart.waitFor();
  assert.equal(await agent.page.locator('[data-testid="thread"] img[src="x"]').count(), 0, 'shown as text');

  await agent.page.getByTestId('composer-input').fill('On it. Your order ships **today**.');
  await agent.page.getByTestId('composer-input').press('Enter');
  const reply = guest.messenger.getByTestId('messenger-part').filter({ hasText: 'Your order ships today.' });
  await reply.waitFor({ timeout: 15000 });
  assert.match(await reply.innerText(), /Grace Hopper/);

  // And the visitor's next words reach the open thread in the Inbox.
  await guest.messenger.getByTestId('messenger-composer').fill('Thank you!');
  await guest.messenger.getByTestId('messenger-composer').press('Enter');
  await agent.page.getByTestId('part').filter({ hasText: 'Thank you!' }).waitFor({ timeout: 15000 });

  await screenshot(agent.page, 'inbox-conversation');
  await screenshot(guest.page, 'widget-after-reply');
  assert.deepEqual(agent.injected, []);
  assert.deepEqual(guest.injected, []);
  await agent.context.close();
  await guest.context.close();
  await guest.site.stop();
});

test('a note stays with the team and a snippet tag previews for the contact', async () => {
  const agent = await signIn();
  const guest = await visitor();
  await guest.messenger.getByTestId('messenger-composer').fill('Can someone call me?');
  await guest.messenger.getByTestId('messenger-composer').press('Enter');
  const row = agent.page.getByTestId('conversation-row').filter({ hasText: 'Can someone call me?' });
  await row.waitFor({ timeout: 15000 });
  await row.click();
  await agent.page.getByTestId('note-toggle').click();
  await agent.page.getByTestId('composer-input').fill('Team only: VIP customer');
  await agent.page.getByTestId('composer-input').press('Enter');
  await agent.page.locator('[data-testid="part"][data-part-type="note"]').filter({ hasText: 'VIP customer' }).waitFor();
  await agent.page.getByTestId('note-toggle').click();
  await agent.page.getByTestId('composer-input').fill('Hi {{ user.name | default("there") }}, calling you now');
  await agent.page.getByTestId('snippet-preview').filter({ hasText: 'Hi there, calling you now' }).waitFor();
  await agent.page.getByTestId('send-button').click();
  await guest.messenger.getByTestId('messenger-part').filter({ hasText: 'Hi there, calling you now' }).waitFor({ timeout: 15000 });
  assert.equal(await guest.messenger.getByText('VIP customer').count(), 0, 'the note never reaches the visitor');
  await agent.context.close();
  await guest.context.close();
  await guest.site.stop();
});
