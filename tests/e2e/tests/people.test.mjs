// People in Chromium: a filter built in the builder finds the right
// contacts by property and by event, a bulk chat message personalised with
// snippet tags reaches each of them live in their widget (and nobody
// else), and the user profile shows it on the timeline and sends one more;
// at the end the profile exports one contact's data and erases them.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { startRapport, startHostSite, launchBrowser, watchForInjection, screenshot, signInToInbox } from '../harness.mjs';

const DAY = 24 * 60 * 60 * 1000;
const BULK_BODY = 'Hi {{ user.name }}, the billing page is new';

let rapport;
let browser;
const people = {}; // user_id -> contact
const visitors = []; // the two who have the widget open

before(async () => {
  rapport = await startRapport();
  browser = await launchBrowser();
  await seed();
});

after(async () => {
  for (const visitor of visitors) {
    await visitor.context.close();
    await visitor.site.stop();
  }
  await browser?.close();
  await rapport?.stop();
});

async function contact(userId, name, plan) {
  const answer = await rapport.api('POST', '/api/v1/contacts', {
    user_id: userId, name, email: `${userId}@example.com`, props: { plan },
  });
  assert.equal(answer.status, 201, JSON.stringify(answer.body));
  people[userId] = answer.body;
  return answer.body;
}

async function event(userId, name, daysAgo) {
  const answer = await rapport.api('POST', `/api/v1/contacts/${people[userId].id}/events`, {
    name, created_at: new Date(Date.now() - daysAgo * DAY).toISOString(),
  });
  assert.equal(answer.status, 201, JSON.stringify(answer.body));
}

/** A signed-in user of the host site with the widget open (identified by user_id). */
async function visitor(userId, name) {
  const site = await startHostSite(rapport, { user_id: userId, user_hash: rapport.userHash(userId), name });
  const context = await browser.newContext();
  const page = await context.newPage();
  const injected = await watchForInjection(page);
  await page.goto(site.url);
  await page.getByTestId('rapport-launcher').click();
  const messenger = page.frameLocator('[data-testid="rapport-frame"]');
  await messenger.getByTestId('messenger-composer').waitFor();
  const found = { page, messenger, injected, context, site, userId, name };
  visitors.push(found);
  return found;
}

// Four contacts; only Ada and Alan are on the pro plan, logged in this
// week and never opened the billing page. Barbara opened it; Edsger is on
// the free plan (and his name carries markup that must stay text).
async function seed() {
  await contact('ada', 'Ada Lovelace', 'pro');
  await contact('alan', 'Alan Turing', 'pro');
  await contact('barbara', 'Barbara Liskov', 'pro');
  await contact('edsger', 'Edsger <img src=x onerror="window.__injected(\'people\')">', 'free');
  await event('ada', 'logged_in', 2);
  await event('alan', 'logged_in', 1);
  await event('barbara', 'logged_in', 1);
  await event('barbara', 'opened_billing_page', 0.1);
  await event('edsger', 'logged_in', 3);
  await visitor('ada', 'Ada Lovelace');
  await visitor('alan', 'Alan Turing');
}

/** Grace signs in to the Inbox in a fresh browser context. */
const signIn = () => signInToInbox(browser, rapport);

async function openPeople(page) {
  await page.getByTestId('nav-people').click();
  await page.getByTestId('people-view').waitFor();
  await page.getByTestId('people-count').filter({ hasText: /^4 people$/ }).waitFor({ timeout: 15000 });
}

/** Adds a row to the filter builder and fills it in. */
async function addCondition(page, subject, op, value) {
  await page.getByTestId('filter-add').click();
  const row = page.getByTestId('filter-condition').last();
  await row.getByTestId('filter-subject').selectOption(subject);
  await row.getByTestId('filter-op').selectOption(op);
  if (value !== undefined) await row.getByTestId('filter-value').fill(String(value));
}

async function conversationsOf(userId) {
  const answer = await rapport.api('GET', `/api/v1/conversations?contact_id=${people[userId].id}&limit=50`);
  assert.equal(answer.status, 200);
  return answer.body.data;
}

test('a filter by property and events finds two people, and a personalised bulk message reaches both widgets', async () => {
  const { page, injected, context } = await signIn();
  await openPeople(page);
  assert.equal(await page.getByTestId('person-row').count(), 4);

  await addCondition(page, 'prop:plan', 'eq', 'pro');
  await page.getByTestId('people-count').filter({ hasText: /^3 people$/ }).waitFor({ timeout: 15000 });
  await addCondition(page, 'event:logged_in', 'last_within_days', 7);
  await addCondition(page, 'event:opened_billing_page', 'not_performed');
  await page.getByTestId('people-count').filter({ hasText: /^2 people$/ }).waitFor({ timeout: 15000 });
  const names = (await page.locator('[data-testid="person-row"] .person-name').allInnerTexts()).sort();
  assert.deepEqual(names, ['Ada Lovelace', 'Alan Turing']);
  await screenshot(page, 'people-filtered');

  // Tick the page, then choose everyone the filter matches.
  await page.getByTestId('select-page').check();
  await page.getByTestId('select-all-matching').click();
  await page.getByTestId('select-all-banner').filter({ hasText: 'All 2 people matching this filter are selected' }).waitFor();

  await page.getByTestId('send-message').click();
  await page.getByTestId('send-chat-message').click();
  await page.getByTestId('bulk-compose').waitFor();
  await page.getByTestId('bulk-body').fill(BULK_BODY);
  // The preview renders for real recipients, and flips from one to the other.
  const preview = page.getByTestId('bulk-preview-body');
  await preview.filter({ hasText: /^Hi (Ada Lovelace|Alan Turing), the billing page is new$/ }).waitFor({ timeout: 15000 });
  const first = await preview.innerText();
  await page.getByTestId('bulk-preview-next').click();
  const other = first.includes('Ada') ? 'Hi Alan Turing, the billing page is new' : 'Hi Ada Lovelace, the billing page is new';
  await preview.filter({ hasText: other }).waitFor({ timeout: 15000 });
  await screenshot(page, 'people-bulk-compose');

  await page.getByTestId('bulk-review').click();
  assert.equal((await page.getByTestId('bulk-confirm').innerText()).trim(), 'Send to 2 people');
  await page.getByTestId('bulk-confirm').click();

  // The send's page follows it to the end.
  await page.getByTestId('bulk-send-view').waitFor({ timeout: 15000 });
  assert.match(page.url(), /#\/bulk-sends\/[^/]+$/);
  await page.locator('[data-testid="bulk-status"][data-status="done"]').waitFor({ timeout: 30000 });
  assert.match(await page.getByTestId('bulk-sent').innerText(), /\b2\b/);
  assert.match(await page.getByTestId('bulk-failed').innerText(), /\b0\b/);
  assert.equal(await page.getByTestId('bulk-cancel-send').count(), 0, 'no Cancel once it is done');
  await screenshot(page, 'people-bulk-done');

  // Each visitor has their own copy, live in the widget.
  for (const guest of visitors) {
    await guest.messenger.getByText(`Hi ${guest.name}, the billing page is new`).first().waitFor({ timeout: 15000 });
    await screenshot(guest.page, `people-bulk-widget-${guest.userId}`);
  }
  // ...and nobody outside the filter got anything.
  assert.deepEqual(await conversationsOf('barbara'), []);
  assert.deepEqual(await conversationsOf('edsger'), []);
  const [adaConversation] = await conversationsOf('ada');
  assert.equal(adaConversation?.last_part?.body, 'Hi Ada Lovelace, the billing page is new');

  // The list of sends shows it.
  await page.getByRole('link', { name: 'All bulk sends' }).click();
  const row = page.getByTestId('bulk-send-row').first();
  await row.waitFor();
  assert.match(await row.innerText(), /Done/);

  assert.deepEqual(injected, []);
  for (const guest of visitors) assert.deepEqual(guest.injected, []);
  await context.close();
});

test('the profile shows the bulk message on the timeline and sends one more from there', async () => {
  const { page, injected, context } = await signIn();
  await openPeople(page);
  await page.getByTestId('person-link').filter({ hasText: 'Ada Lovelace' }).click();
  await page.getByTestId('contact-view').waitFor();
  assert.equal((await page.getByTestId('contact-name').innerText()).trim(), 'Ada Lovelace');
  // Her events, with their counts.
  await page.locator('[data-testid="event-row"][data-event="logged_in"]').waitFor();

  const timeline = page.getByTestId('timeline');
  await timeline.locator('[data-testid="timeline-entry"][data-kind="message"]')
    .filter({ hasText: 'Hi Ada Lovelace, the billing page is new' }).waitFor({ timeout: 15000 });
  await timeline.locator('[data-testid="timeline-entry"][data-kind="bulk_send_received"]').first().waitFor();

  // The Bulk sends chip narrows the timeline to those entries.
  await page.getByTestId('timeline-filter-bulk').click();
  await page.waitForFunction(() => {
    const kinds = [...document.querySelectorAll('[data-testid="timeline-entry"]')].map((e) => e.dataset.kind);
    return kinds.length > 0 && kinds.every((kind) => kind === 'bulk_send_received');
  }, null, { timeout: 15000 });
  await page.getByTestId('timeline-filter-all').click();
  await timeline.locator('[data-testid="timeline-entry"][data-kind="event"]').first().waitFor({ timeout: 15000 });

  // Send a message from the profile, with a live preview for her.
  await page.getByTestId('profile-send-open').click();
  await page.getByTestId('profile-body').fill('Thanks {{ user.name | default("there") }}, your invoice is ready');
  await page.getByTestId('profile-preview-body').filter({ hasText: 'Thanks Ada Lovelace, your invoice is ready' }).waitFor({ timeout: 15000 });
  await page.getByTestId('profile-send').click();
  await timeline.locator('[data-testid="timeline-entry"][data-kind="message"]')
    .filter({ hasText: 'Thanks Ada Lovelace, your invoice is ready' }).waitFor({ timeout: 15000 });
  assert.equal(await page.getByTestId('profile-body').inputValue(), '', 'the box is cleared once sent');
  await screenshot(page, 'people-profile');

  // It reached her widget too.
  const ada = visitors.find((v) => v.userId === 'ada');
  await ada.messenger.getByText('Thanks Ada Lovelace, your invoice is ready').first().waitFor({ timeout: 15000 });

  // "Show all conversations" opens the Inbox narrowed to her.
  await page.getByTestId('show-all-conversations').click();
  await page.getByTestId('contact-filter').filter({ hasText: 'Ada Lovelace' }).waitFor({ timeout: 15000 });
  const rows = page.getByTestId('conversation-row');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="conversation-row"]').length >= 2, null, { timeout: 15000 });
  for (const text of await rows.allInnerTexts()) assert.match(text, /Ada Lovelace/);

  assert.deepEqual(injected, []);
  await context.close();
});

test('the profile exports everything about a contact, then erases them for good', async () => {
  const hopper = await contact('hopper', 'Rear Admiral Hopper', 'pro');
  const sent = await rapport.api('POST', '/api/v1/messages', { contact_id: hopper.id, body: 'About your data request' });
  assert.equal(sent.status, 201, JSON.stringify(sent.body));
  const { page, injected, context } = await signIn();
  await page.goto(`${rapport.base}/#/contacts/${hopper.id}`);
  await page.getByTestId('contact-data').waitFor();

  // Export data: a JSON file of the contact, their conversation and timeline.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('contact-export').click(),
  ]);
  assert.equal(download.suggestedFilename(), `contact-${hopper.id}.json`);
  const exported = JSON.parse(await readFile(await download.path(), 'utf8'));
  assert.equal(exported.contact.user_id, 'hopper');
  assert.equal(exported.conversations[0].parts[0].body, 'About your data request');
  await page.getByTestId('contact-data-status').filter({ hasText: /^Exported \d+ timeline entries and 1 conversations\.$/ }).waitFor();

  // Erase: asked once more, then requested; the job deletes her.
  await page.getByTestId('contact-erase').click();
  await page.getByTestId('contact-erase-confirm').click();
  await page.getByTestId('contact-data-status').filter({ hasText: 'Erasure requested' }).waitFor();
  await page.getByTestId('people-view').waitFor({ timeout: 15000 });
  let status = 200;
  for (let i = 0; i < 100 && status !== 404; i++) {
    status = (await rapport.api('GET', `/api/v1/contacts/${hopper.id}`)).status;
    if (status !== 404) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(status, 404, 'the erasure job deleted her');
  assert.deepEqual(injected, []);
  await context.close();
});
