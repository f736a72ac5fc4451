// Email fallback in the Inbox: the settings form (a server-side field
// error, saving, a reload), and the composer's "Email if unread" turned
// off for one reply, which the contact's timeline then records.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRapport, launchBrowser, screenshot, signInToInbox } from '../harness.mjs';

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

async function openSettings(page) {
  await page.getByTestId('nav-settings').click();
  await page.getByTestId('settings-email-delay').waitFor();
}

/** Ticks the settings page's "Email unread chat messages" switch (through its label, as a person would). */
async function switchFallbackOn(page) {
  if (!(await page.getByTestId('settings-email-enabled').isChecked())) {
    await page.locator('form[data-form="email"] label.switch').click();
  }
  assert.equal(await page.getByTestId('settings-email-enabled').isChecked(), true);
}

async function until(what, fn, tries = 100) {
  for (let i = 0; i < tries; i++) {
    const value = await fn();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('the email settings show a field error from the server, save, and survive a reload', async () => {
  const { page, injected, context } = await signIn();
  await openSettings(page);
  const before = await rapport.api('GET', '/api/v1/workspace');
  assert.equal(before.status, 200);
  assert.equal(typeof before.body.email?.fallback_delay_minutes, 'number');

  const delay = page.getByTestId('settings-email-delay');
  await delay.fill('0');
  await page.getByTestId('settings-save-email').click();
  // The 422's `email.fallback_delay_minutes` lands beside the field.
  const error = page.getByTestId('settings-email-delay-error');
  await error.waitFor();
  assert.notEqual((await error.innerText()).trim(), '');
  assert.equal(await delay.getAttribute('aria-invalid'), 'true');
  const unchanged = await rapport.api('GET', '/api/v1/workspace');
  assert.equal(unchanged.body.email.fallback_delay_minutes, before.body.email.fallback_delay_minutes, 'nothing saved');

  await switchFallbackOn(page);
  await delay.fill('5');
  await page.getByTestId('settings-save-email').click();
  await page.locator('form[data-form="email"] [data-saved]').filter({ hasText: 'Saved' }).waitFor();
  assert.equal(await error.isVisible(), false, 'the error is cleared');
  await screenshot(page, 'settings-email');

  await page.reload();
  await page.getByTestId('settings-email-delay').waitFor();
  assert.equal(await page.getByTestId('settings-email-delay').inputValue(), '5');
  assert.equal(await page.getByTestId('settings-email-enabled').isChecked(), true);
  const saved = await rapport.api('GET', '/api/v1/workspace');
  assert.equal(saved.body.email.fallback_delay_minutes, 5);
  assert.equal(saved.body.email.fallback_enabled, true);
  assert.deepEqual(injected, []);
  await context.close();
});

test('a reply sent with "Email if unread" off is recorded as not emailed (fallback_off)', async () => {
  const contact = await rapport.api('POST', '/api/v1/contacts', { email: 'ann@example.test', name: 'Ann Example' });
  assert.ok([200, 201].includes(contact.status), JSON.stringify(contact.body));
  const welcome = await rapport.api('POST', '/api/v1/messages', { contact_id: contact.body.id, body: 'Welcome to Acme' });
  assert.equal(welcome.status, 201, JSON.stringify(welcome.body));
  const conversationId = welcome.body.conversation.id;

  const { page, injected, context } = await signIn();
  // Fallback on for the workspace, so the composer offers the toggle.
  await openSettings(page);
  await switchFallbackOn(page);
  await page.getByTestId('settings-save-email').click();
  await page.locator('form[data-form="email"] [data-saved]').filter({ hasText: /Saved|No changes/ }).waitFor();

  await page.evaluate((id) => { location.hash = `#/conversations/${encodeURIComponent(id)}`; }, conversationId);
  await page.getByTestId('part').filter({ hasText: 'Welcome to Acme' }).waitFor();
  const toggle = page.getByTestId('email-fallback-toggle');
  assert.equal(await toggle.isChecked(), true, 'on by default');
  await toggle.uncheck();

  const text = 'Following up here, no email needed';
  const sent = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith(`/conversations/${conversationId}/reply`));
  await page.getByTestId('composer-input').fill(text);
  await page.getByTestId('composer-input').press('Enter');
  assert.equal(JSON.parse((await sent).postData()).email_fallback, false);
  const part = page.getByTestId('part').filter({ hasText: text });
  await part.waitFor();
  const messageId = await part.getAttribute('data-part-id');
  assert.ok(messageId);

  const entry = await until('a not_emailed entry for the reply', async () => {
    const timeline = await rapport.api('GET', `/api/v1/contacts/${contact.body.id}/timeline?limit=100`);
    assert.equal(timeline.status, 200);
    return timeline.body.data.find((e) => e.kind === 'not_emailed' && e.data?.message_ids?.includes(messageId));
  });
  assert.equal(entry.data.reason, 'fallback_off');
  assert.equal(entry.conversation_id, conversationId);
  assert.equal(entry.contact_id, contact.body.id);

  // The welcome message kept the default: it is not marked as opted out.
  const timeline = await rapport.api('GET', `/api/v1/contacts/${contact.body.id}/timeline?limit=100`);
  assert.equal(timeline.body.data.some((e) => e.kind === 'not_emailed' && e.data?.reason === 'fallback_off'
    && e.data?.message_ids?.includes(welcome.body.id)), false);

  // And the open thread says so under the reply, live.
  const line = page.locator('[data-testid="email-line"][data-reason="fallback_off"]');
  await line.waitFor({ timeout: 15000 });
  assert.match(await line.innerText(), /Not emailed: email fallback off/);
  await screenshot(page, 'inbox-email-fallback-off');
  assert.deepEqual(injected, []);
  await context.close();
});
