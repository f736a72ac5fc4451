// The chat widget on a real host page, in Chromium: a visitor writes, the
// team answers (here through the API; tests/inbox.test.mjs uses the Inbox).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRapport, startHostSite, launchBrowser, watchForInjection, screenshot } from '../harness.mjs';

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

/** Opens a host page with the snippet and returns the page and the messenger frame. */
async function visit(settings = {}) {
  const site = await startHostSite(rapport, settings);
  const context = await browser.newContext();
  const page = await context.newPage();
  const injected = await watchForInjection(page);
  // The sessions the messenger was given, newest last (its storage is
  // partitioned away from the test).
  const sessions = [];
  page.on('response', async (response) => {
    if (!response.url().endsWith('/widget/v1/boot') || !response.ok()) return;
    sessions.push((await response.json().catch(() => ({}))).session);
  });
  await page.goto(site.url);
  await page.getByTestId('rapport-launcher').waitFor();
  const messenger = page.frameLocator('[data-testid="rapport-frame"]');
  return { page, messenger, injected, sessions, close: async () => { await context.close(); await site.stop(); } };
}

async function open(page, messenger) {
  await page.getByTestId('rapport-launcher').click();
  await messenger.getByTestId('messenger-composer').waitFor();
}

/** The conversation the visitor with this message is in, found through the API. */
async function conversationWith(text) {
  for (let i = 0; i < 50; i++) {
    const list = await rapport.api('GET', '/api/v1/conversations');
    const row = list.body.data.find((c) => c.last_part?.body === text);
    if (row) return row;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no conversation with ${text}`);
}

test('a visitor writes from a host page and sees the reply live with the agent name', async () => {
  const { page, messenger, injected, close } = await visit();
  await open(page, messenger);
  await messenger.getByTestId('messenger-composer').fill('Where is my order?');
  await messenger.getByTestId('messenger-composer').press('Enter');
  await messenger.getByTestId('messenger-part').filter({ hasText: 'Where is my order?' }).waitFor();
  const conversation = await conversationWith('Where is my order?');
  const reply = await rapport.api('POST', `/api/v1/conversations/${conversation.id}/reply`, { body: 'It ships **today**.' });
  assert.equal(reply.status, 201);
  const part = messenger.getByTestId('messenger-part').filter({ hasText: 'It ships today.' });
  await part.waitFor();
  assert.equal(await part.getAttribute('data-author-type'), 'agent');
  assert.match(await part.innerText(), /Grace Hopper/);
  assert.equal(await part.locator('strong').innerText(), 'today');
  await screenshot(page, 'widget-thread');
  assert.deepEqual(injected, []);
  await close();
});

test('messages with markup are shown as text on both sides and run nothing', async () => {
  const { page, messenger, injected, close } = await visit();
  await open(page, messenger);
  const payload = '<img src=x onerror="window.__injected(\'visitor\')"><script>window.__injected("script")</script>';
  await messenger.getByTestId('messenger-composer').fill(payload);
  await messenger.getByTestId('messenger-send').click();
  await messenger.getByTestId('messenger-part').filter({ hasText: '<img src=x' }).waitFor();
  const conversation = await conversationWith(payload);
  await rapport.api('POST', `/api/v1/conversations/${conversation.id}/reply`, {
    body: '<img src=x onerror="window.__injected(\'agent\')"> [click](javascript:window.__injected("link"))',
  });
  const agentPart = messenger.getByTestId('messenger-part').filter({ hasText: 'onerror' }).last();
  await agentPart.waitFor();
  assert.equal(await messenger.locator('img[src="x"]').count(), 0);
  assert.equal(await messenger.locator('a[href^="javascript:"]').count(), 0);
  await page.waitForTimeout(300);
  assert.deepEqual(injected, [], 'no injected script ran');
  await close();
});

test('the launcher counts unread replies and clears them when opened', async () => {
  const { page, messenger, close } = await visit();
  await open(page, messenger);
  await messenger.getByTestId('messenger-composer').fill('Hello there');
  await messenger.getByTestId('messenger-composer').press('Enter');
  const conversation = await conversationWith('Hello there');
  // Close the messenger, then the team answers twice.
  await page.getByTestId('rapport-launcher').click();
  for (const body of ['First answer', 'Second answer']) {
    await rapport.api('POST', `/api/v1/conversations/${conversation.id}/reply`, { body });
  }
  const badge = page.getByTestId('rapport-badge');
  await page.waitForFunction(() => document.querySelector('[data-testid="rapport-badge"]')?.textContent.trim() === '2');
  assert.equal((await badge.innerText()).trim(), '2');
  assert.ok((await page.evaluate(() => window.unreadCounts)).includes(2));
  await screenshot(page, 'widget-unread-badge');
  await page.getByTestId('rapport-launcher').click();
  await page.waitForFunction(() => (window.unreadCounts.at(-1) ?? 0) === 0);
  // The read receipt reaches the server.
  let readAt = null;
  for (let i = 0; i < 50 && !readAt; i++) {
    readAt = (await rapport.api('GET', `/api/v1/conversations/${conversation.id}`)).body.contact_read_at;
    if (!readAt) await page.waitForTimeout(100);
  }
  assert.ok(readAt, 'the read receipt was recorded');
  await close();
});

test('a snippet tag renders with the signed-in user name', async () => {
  const userId = 'user-ada';
  const { page, messenger, close } = await visit({ user_id: userId, user_hash: rapport.userHash(userId), name: 'Ada Lovelace' });
  await page.waitForTimeout(500);
  const contacts = await rapport.api('POST', '/api/v1/contacts', { user_id: userId });
  const sent = await rapport.api('POST', '/api/v1/messages', { contact_id: contacts.body.id, body: 'Hi {{ user.first_name | default("there") }}, welcome back!' });
  assert.equal(sent.status, 201);
  assert.equal(sent.body.body, 'Hi Ada, welcome back!');
  await page.getByTestId('rapport-launcher').click();
  // In the conversation list's preview, or in the thread.
  await messenger.getByText('Hi Ada, welcome back!').first().waitFor();
  await close();
});

test('with identity verification enforced, a forged user_id gets nothing', async () => {
  const before = await rapport.api('GET', '/api/v1/workspace');
  assert.equal(before.body.identity_verification, true, 'on by default in a new workspace');
  const settings = await rapport.api('PATCH', '/api/v1/workspace', { identity_verification: true });
  assert.equal(settings.status, 200);
  try {
    // A real user with a conversation...
    const victim = await rapport.api('POST', '/api/v1/contacts', { user_id: 'victim', name: 'Victim' });
    await rapport.api('POST', '/api/v1/messages', { contact_id: victim.body.id, body: 'Your invoice is attached' });
    // ...and someone claiming to be them without the hash.
    const site = await startHostSite(rapport, { user_id: 'victim', user_hash: 'f'.repeat(64) });
    const context = await browser.newContext();
    const page = await context.newPage();
    const boots = [];
    page.on('response', (response) => {
      if (response.url().endsWith('/widget/v1/boot')) boots.push(response.status());
    });
    await page.goto(site.url);
    await page.waitForTimeout(1500);
    assert.deepEqual(boots, [401]);
    const frame = page.frameLocator('[data-testid="rapport-frame"]');
    assert.equal(await frame.getByText('Your invoice is attached').count(), 0);
    await screenshot(page, 'widget-identity-refused');
    await context.close();
    await site.stop();
  } finally {
    // Back to what the workspace had (the default: on) for the tests after.
    await rapport.api('PATCH', '/api/v1/workspace', { identity_verification: before.body.identity_verification });
  }
});

test('Rapport(\'shutdown\') ends the visitor\'s session on the server: its token gets 401', async () => {
  const userId = 'user-grace';
  const { page, messenger, sessions, close } = await visit({ user_id: userId, user_hash: rapport.userHash(userId), name: 'Grace' });
  try {
    await open(page, messenger);
    const session = sessions.at(-1);
    assert.match(session ?? '', /^wst_/);
    const list = (token) => fetch(`${rapport.base}/widget/v1/conversations`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal((await list(session)).status, 200);

    await page.evaluate(() => window.Rapport('shutdown'));
    // The messenger does not wait for the server's answer: poll the token.
    let status = 200;
    for (let i = 0; i < 50 && status !== 401; i++) {
      await page.waitForTimeout(100);
      status = (await list(session)).status;
    }
    assert.equal(status, 401, 'the old token no longer works');
    // The launcher is gone until the page boots again.
    await page.getByTestId('rapport-launcher').waitFor({ state: 'detached' });
  } finally {
    await close();
  }
});

test('a widget whose session is revoked while open boots again as a new visitor', async () => {
  const { page, messenger, sessions, close } = await visit();
  try {
    await open(page, messenger);
    await messenger.getByTestId('messenger-composer').fill('Before the revocation');
    await messenger.getByTestId('messenger-composer').press('Enter');
    await messenger.getByTestId('messenger-part').filter({ hasText: 'Before the revocation' }).waitFor();
    const session = sessions.at(-1);
    assert.match(session ?? '', /^wst_/);
    // The session ends behind the messenger's back (a shutdown from elsewhere).
    const ended = await fetch(`${rapport.base}/widget/v1/shutdown`, { method: 'POST', headers: { authorization: `Bearer ${session}` } });
    assert.equal(ended.status, 204);
    // Its next request (or the live socket's 4401) boots a fresh session.
    await messenger.getByTestId('messenger-composer').fill('After the revocation');
    await messenger.getByTestId('messenger-composer').press('Enter');
    for (let i = 0; i < 100 && sessions.length < 2; i++) await page.waitForTimeout(100);
    assert.equal(sessions.length, 2, 'booted again');
    assert.match(sessions[1] ?? '', /^wst_/);
    assert.notEqual(sessions[1], session);
  } finally {
    await close();
  }
});
