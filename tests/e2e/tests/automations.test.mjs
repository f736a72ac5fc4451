// Automations end to end in Chromium: an admin creates each shipped
// template with one click in the Inbox and publishes it there; a visitor
// on a host page meets it in the widget, in real time. Each test has its
// own server, so one test's live automations never start runs in another.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRapport, startHostSite, launchBrowser, watchForInjection, screenshot, signInToInbox } from '../harness.mjs';

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

/** A fresh server, the admin signed in to its Inbox, and clean-up. */
async function setUp() {
  const rapport = await startRapport();
  const agent = await signInToInbox(browser, rapport);
  const opened = [agent.context];
  const sites = [];
  return {
    rapport,
    agent,
    /** A visitor on the host site at `path`, the widget booted. */
    async visit(path = '') {
      const site = await startHostSite(rapport);
      sites.push(site);
      const context = await browser.newContext();
      opened.push(context);
      const page = await context.newPage();
      const injected = await watchForInjection(page);
      await page.goto(`${site.url}${path}`);
      await page.getByTestId('rapport-launcher').waitFor();
      const messenger = page.frameLocator('[data-testid="rapport-frame"]');
      return { page, messenger, injected };
    },
    async tearDown() {
      for (const context of opened) await context.close().catch(() => {});
      for (const site of sites) await site.stop();
      await rapport.stop();
    },
  };
}

/** Polls `read` until `ok` holds of its answer; returns that answer. */
async function eventually(read, ok, what, { tries = 100, every = 200 } = {}) {
  let last;
  for (let i = 0; i < tries; i++) {
    last = await read();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, every));
  }
  assert.fail(`${what}; last seen: ${JSON.stringify(last)}`);
}

/**
 * In the Inbox: Automations > New from template > `template`; resolves
 * with the new automation's id once its editor shows.
 */
async function createFromTemplate(page, template) {
  await page.getByTestId('nav-automations').click();
  await page.getByTestId('automations-view').waitFor();
  await page.getByTestId('automation-templates').click();
  await page.getByTestId(`template-${template}`).click();
  await page.waitForURL(/#\/automations\/[^/]+$/);
  await page.getByTestId('automation-publish').waitFor();
  return decodeURIComponent(new URL(page.url()).hash.split('/').pop());
}

/** The editor's Publish… and the dialog's Publish; resolves once it is live. */
async function publish(page) {
  assert.equal(await page.getByTestId('automation-publish-reason').count(), 0, 'the template is ready to publish');
  await page.getByTestId('automation-publish').click();
  await page.getByTestId('publish-confirm').click();
  await page.locator('[data-testid="automation-view"] [data-testid="automation-status"][data-status="live"]').waitFor();
  await page.getByRole('status').filter({ hasText: 'Published version 1.' }).first().waitFor();
}

/** The messenger's one conversation, opened from the launcher. */
async function openTheConversation(page, messenger) {
  await page.getByTestId('rapport-launcher').click();
  const item = messenger.getByTestId('conversation-item');
  await item.first().waitFor();
  assert.equal(await item.count(), 1);
  await item.click();
}

/** The only conversation of the workspace (each test has its own server), through the API. */
async function theConversation(rapport) {
  const list = await eventually(() => rapport.api('GET', '/api/v1/conversations'), (r) => r.body?.data?.length === 1,
    'one conversation');
  return list.body.data[0];
}

/**
 * After the run: the list shows the automation live with its numbers, and
 * the editor's Runs tab lists the run and shows its log.
 */
async function checkListAndRunLog(page, id, { name, runs, sent, nodes }) {
  await page.getByTestId('nav-automations').click();
  const row = page.locator(`[data-testid="automation-row"][data-automation-id="${id}"]`);
  await row.waitFor();
  assert.equal(await row.getByTestId('automation-status').getAttribute('data-status'), 'live');
  const cells = row.locator('td');
  const number = async (i) => Number((await cells.nth(i).innerText()).replace(/[^\d]/g, ''));
  assert.ok((await number(3)) >= runs, `runs ≥ ${runs}: ${await cells.nth(3).innerText()}`);
  assert.ok((await number(6)) >= sent, `sent ≥ ${sent}: ${await cells.nth(6).innerText()}`);
  await screenshot(page, `automation-${name}-list`);

  await row.getByRole('link').click();
  await page.getByTestId('automation-stats').waitFor();
  await page.getByTestId('automation-tab-runs').click();
  const runRow = page.getByTestId('run-row');
  await runRow.first().waitFor();
  assert.equal(await runRow.count(), runs);
  await runRow.first().getByRole('button', { name: 'Log' }).click();
  const log = page.getByTestId('run-log');
  await log.waitFor();
  const text = await log.innerText();
  for (const node of nodes) assert.match(text, new RegExp(`\\b${node}\\b`), `the log shows step ${node}`);
  return text;
}

test('the Greeting template greets a visitor who stays 30 seconds on the pricing page', async () => {
  const { rapport, agent, visit, tearDown } = await setUp();
  try {
    const id = await createFromTemplate(agent.page, 'greeting');
    // One click made the whole template: the trigger is the pricing page, 30 s.
    const created = await rapport.api('GET', `/api/v1/automations/${id}`);
    assert.deepEqual(created.body.draft.trigger, { type: 'page_visited', url: { contains: '/pricing' }, seconds_on_page: 30 });
    assert.equal(created.body.status, 'draft');
    await publish(agent.page);

    const guest = await visit('pricing');
    const arrived = Date.now();
    // The greeting comes while the messenger is closed: the launcher counts it.
    await guest.page.locator('[data-testid="rapport-badge"]:not([hidden])').waitFor({ timeout: 90_000 });
    const waited = Date.now() - arrived;
    assert.ok(waited >= 29_000, `not before the visitor stayed 30 s (came after ${waited} ms)`);
    assert.equal((await guest.page.getByTestId('rapport-badge').innerText()).trim(), '1');

    await openTheConversation(guest.page, guest.messenger);
    const part = guest.messenger.getByTestId('messenger-part')
      .filter({ hasText: "Hi there, any questions about our plans? I'm happy to help." });
    await part.waitFor();
    assert.equal(await part.getAttribute('data-author-type'), 'agent');
    assert.equal(await part.getByTestId('messenger-agent-name').innerText(), 'Grace Hopper');
    assert.doesNotMatch(await part.innerText(), /\{\{|user\.name/, 'the snippet tag is rendered');
    await screenshot(guest.page, 'automation-greeting-widget');

    const log = await checkListAndRunLog(agent.page, id, { name: 'greeting', runs: 1, sent: 1, nodes: ['greet'] });
    assert.match(log, /Done/);
    await screenshot(agent.page, 'automation-greeting-run-log');
    assert.deepEqual(guest.injected, []);
    assert.deepEqual(agent.injected, []);
  } finally {
    await tearDown();
  }
});

test('out of office hours the Autoresponder answers, asks for an email and assigns the agent online', async () => {
  const { rapport, agent, visit, tearDown } = await setUp();
  try {
    // Settings > Office hours: every day closed, so now is out of hours.
    await agent.page.getByTestId('nav-settings').click();
    const days = agent.page.getByTestId('office-day');
    await days.first().waitFor();
    assert.equal(await days.count(), 7);
    for (let d = 0; d < 7; d++) await days.nth(d).fill('');
    await agent.page.getByTestId('office-save').click();
    await agent.page.locator('[data-form="office"] [data-saved]').filter({ hasText: 'Saved' }).waitFor();
    const office = await rapport.api('GET', '/api/v1/settings/office');
    assert.deepEqual(office.body.weekly, [[], [], [], [], [], [], []]);

    const id = await createFromTemplate(agent.page, 'autoresponder');
    await publish(agent.page);
    // Grace keeps her Inbox open: round robin has someone available.

    const guest = await visit();
    await guest.page.getByTestId('rapport-launcher').click();
    const composer = guest.messenger.getByTestId('messenger-composer');
    await composer.fill('Is anyone there?');
    await composer.press('Enter');
    await guest.messenger.getByTestId('messenger-part').filter({ hasText: 'Is anyone there?' }).waitFor();

    const reply = guest.messenger.getByTestId('messenger-part').filter({ hasText: 'Thanks for your message! Nobody from the team can answer right now' });
    await reply.waitFor({ timeout: 15_000 });
    assert.equal(await reply.getAttribute('data-author-type'), 'agent');
    const question = guest.messenger.getByTestId('messenger-part').filter({ hasText: 'What email address can we reach you at?' });
    await question.waitFor({ timeout: 15_000 });

    // The composer becomes an email field for the answer.
    const line = guest.messenger.getByTestId('messenger-composer-line');
    await line.waitFor();
    assert.equal(await line.getAttribute('type'), 'email');
    assert.equal(await line.getAttribute('autocomplete'), 'email');
    assert.equal(await composer.isHidden(), true, 'the text area makes way for it');
    await screenshot(guest.page, 'automation-autoresponder-email-field');
    await line.fill('Bob@Example.com');
    await line.press('Enter');
    await guest.messenger.getByTestId('messenger-part').filter({ hasText: 'Bob@Example.com' }).waitFor();
    // Answered: back to the ordinary text area.
    await composer.waitFor();
    assert.equal(await line.isHidden(), true);

    const conversation = await theConversation(rapport);
    const contact = await eventually(() => rapport.api('GET', `/api/v1/contacts/${conversation.contact_id}`),
      (r) => r.body?.email === 'bob@example.com', 'the contact has the email address');
    assert.equal(contact.body.email_verified, false, 'an email typed to a bot is a claim');
    const assigned = await eventually(() => rapport.api('GET', `/api/v1/conversations/${conversation.id}`),
      (r) => r.body?.assignee_id === rapport.boot.owner_id, 'the conversation is assigned to the agent online');
    assert.equal(assigned.body.assignee_id, rapport.boot.owner_id);

    // The Inbox shows it assigned to Grace.
    await agent.page.getByTestId('nav-inbox').click();
    const row = agent.page.locator(`[data-testid="conversation-row"][data-conversation-id="${conversation.id}"]`);
    await row.waitFor({ timeout: 15_000 });
    await row.locator('.assignee-chip').filter({ hasText: 'Grace Hopper' }).waitFor({ timeout: 15_000 });
    await row.click();
    await agent.page.getByTestId('part').filter({ hasText: 'What email address can we reach you at?' }).waitFor();
    assert.equal(await agent.page.getByTestId('assign-select').inputValue(), rapport.boot.owner_id);
    await screenshot(agent.page, 'automation-autoresponder-inbox');

    const log = await checkListAndRunLog(agent.page, id, { name: 'autoresponder', runs: 1, sent: 2, nodes: ['hours', 'reply', 'known', 'email', 'assign'] });
    assert.match(log, /hours\s+business_hours → no/);
    assert.deepEqual(guest.injected, []);
    assert.deepEqual(agent.injected, []);
  } finally {
    await tearDown();
  }
});

test('the Lead bot asks with buttons, saves the answers and hands over', async () => {
  const { rapport, agent, visit, tearDown } = await setUp();
  try {
    const id = await createFromTemplate(agent.page, 'lead_bot');
    const created = await rapport.api('GET', `/api/v1/automations/${id}`);
    assert.deepEqual(created.body.draft.trigger, { type: 'page_visited', url: { contains: '/' }, seconds_on_page: 10 });
    await publish(agent.page);

    const guest = await visit('features');
    const arrived = Date.now();
    await guest.page.locator('[data-testid="rapport-badge"]:not([hidden])').waitFor({ timeout: 60_000 });
    assert.ok(Date.now() - arrived >= 9_000, 'not before the visitor stayed 10 s');
    await openTheConversation(guest.page, guest.messenger);
    const hello = guest.messenger.getByTestId('messenger-part').filter({ hasText: 'Hi! What brings you here today?' });
    await hello.waitFor();
    assert.equal(await hello.getAttribute('data-author-type'), 'bot');

    // Two real buttons under it.
    const buttons = guest.messenger.getByTestId('messenger-reply-button');
    await buttons.first().waitFor();
    assert.deepEqual(await buttons.allInnerTexts(), ['I want a demo', 'Just looking']);
    assert.deepEqual(await buttons.evaluateAll((all) => all.map((b) => b.tagName)), ['BUTTON', 'BUTTON']);
    await screenshot(guest.page, 'automation-lead-bot-buttons');
    await buttons.filter({ hasText: 'I want a demo' }).click();
    await guest.messenger.locator('[data-testid="messenger-part"][data-author-type="contact"]').filter({ hasText: 'I want a demo' }).waitFor();

    // The team size, as choice buttons; arrows move between them.
    await guest.messenger.getByTestId('messenger-part').filter({ hasText: 'How many people are on your team?' }).waitFor({ timeout: 15_000 });
    const choices = guest.messenger.locator('[data-testid="messenger-reply-buttons"]:not([data-chosen]) [data-testid="messenger-reply-button"]');
    await choices.first().waitFor();
    assert.deepEqual(await choices.allInnerTexts(), ['1-10', '11-50', '51+']);
    await choices.first().focus();
    await choices.first().press('ArrowRight');
    assert.equal(await choices.nth(1).evaluate((b) => b === document.activeElement), true, 'the arrow moves to the next choice');
    await choices.filter({ hasText: '11-50' }).click();
    await guest.messenger.locator('[data-testid="messenger-part"][data-author-type="contact"]').filter({ hasText: '11-50' }).waitFor();

    // The work email, in an email field.
    await guest.messenger.getByTestId('messenger-part').filter({ hasText: "What's your work email?" }).waitFor({ timeout: 15_000 });
    const line = guest.messenger.getByTestId('messenger-composer-line');
    await line.waitFor();
    assert.equal(await line.getAttribute('type'), 'email');
    await line.fill('Ann@Example.com');
    await line.press('Enter');

    const handover = guest.messenger.getByTestId('messenger-part').filter({ hasText: 'Thanks! Someone from sales will be with you.' });
    await handover.waitFor({ timeout: 15_000 });
    assert.equal(await handover.getAttribute('data-author-type'), 'bot');
    await screenshot(guest.page, 'automation-lead-bot-handover');

    const conversation = await theConversation(rapport);
    const contact = await eventually(() => rapport.api('GET', `/api/v1/contacts/${conversation.contact_id}`),
      (r) => (r.body?.tags ?? []).includes('lead'), 'the contact is tagged lead');
    assert.equal(contact.body.props.team_size, '11-50');
    assert.equal(contact.body.email, 'ann@example.com');
    assert.deepEqual(contact.body.tags, ['lead']);
    const handed = await rapport.api('GET', `/api/v1/conversations/${conversation.id}`);
    assert.equal(handed.body.assignee_id, rapport.boot.owner_id, 'handed over to the member who made it');

    const log = await checkListAndRunLog(agent.page, id, { name: 'lead-bot', runs: 1, sent: 4, nodes: ['hello', 'size', 'email', 'tag', 'handover'] });
    assert.match(log, /chose "I want a demo"/);
    await screenshot(agent.page, 'automation-lead-bot-run-log');
    assert.deepEqual(guest.injected, []);
    assert.deepEqual(agent.injected, []);
  } finally {
    await tearDown();
  }
});
