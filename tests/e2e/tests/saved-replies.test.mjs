// Saved replies in Chromium: added in Settings (a bad shortcut refused
// beside its field), then typed as `/ref` in a reply: the list opens,
// the arrow keys move in it, Esc closes it and keeps the text, Enter puts
// the reply in with its snippet tag filled in for the contact, and Enter
// again sends it. Then the thread's own keys: e closes and reopens.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withServerAndBrowser, screenshot, signInToInbox } from '../harness.mjs';

const env = withServerAndBrowser();

test('a saved reply added in Settings is inserted with / in the composer, filled in for the contact', async () => {
  const { page, injected, context } = await signInToInbox(env.browser, env.rapport);
  await page.getByTestId('nav-settings').click();
  const section = page.getByTestId('saved-replies-section');
  await section.getByTestId('saved-replies-empty').waitFor();

  await section.getByTestId('saved-replies-new-title').fill('Refund policy');
  await section.getByTestId('saved-replies-new-shortcut').fill('no spaces please');
  await section.getByTestId('saved-replies-new-body').fill('Hi {{ user.name | default("there") }}, refunds take 5 days.');
  await section.getByTestId('saved-replies-create').click();
  await section.locator('[data-error-for="shortcut"]').filter({ hasText: /letters, digits/ }).waitFor();
  await section.getByTestId('saved-replies-new-shortcut').fill('refund');
  await section.getByTestId('saved-replies-create').click();
  await section.getByTestId('saved-reply-item').filter({ hasText: '/refund' }).waitFor();
  // A second one, so the list has somewhere to move.
  await section.getByTestId('saved-replies-new-title').fill('Shipping times');
  await section.getByTestId('saved-replies-new-shortcut').fill('shipping');
  await section.getByTestId('saved-replies-new-body').fill('Orders ship within a day.');
  await section.getByTestId('saved-replies-new-personal').check();
  await section.getByTestId('saved-replies-create').click();
  await section.getByTestId('saved-reply-item').filter({ hasText: '/shipping' }).waitFor();
  const listed = (await env.rapport.api('GET', '/api/v1/saved-replies')).body.data;
  assert.deepEqual(listed.map((r) => [r.shortcut, r.owner_id !== null]), [['refund', false], ['shipping', true]]);

  // A conversation with Ada.
  const ada = await env.rapport.api('POST', '/api/v1/contacts', { user_id: 'ada', name: 'Ada' });
  const sent = await env.rapport.api('POST', '/api/v1/messages', { contact_id: ada.body.id, body: 'How can we help?' });
  assert.equal(sent.status, 201, JSON.stringify(sent.body));
  await page.getByTestId('nav-inbox').click();
  const row = page.getByTestId('conversation-row').filter({ hasText: 'How can we help?' });
  await row.waitFor({ timeout: 15_000 });
  await row.click();
  const input = page.getByTestId('composer-input');
  await input.waitFor();

  // `/` lists them; what is typed narrows; arrows move; Esc closes.
  await input.focus();
  await page.keyboard.type('/');
  const picker = page.getByTestId('saved-reply-picker');
  await picker.getByTestId('saved-reply-option').first().waitFor();
  assert.equal(await picker.getByTestId('saved-reply-option').count(), 2);
  assert.equal(await input.getAttribute('aria-expanded'), 'true');
  await page.keyboard.press('ArrowDown');
  assert.equal(await picker.locator('[aria-selected="true"]').textContent().then((t) => /Shipping/.test(t)), true);
  await page.keyboard.press('Escape');
  assert.equal(await picker.isHidden(), true);
  assert.equal(await input.inputValue(), '/', 'Esc keeps what was typed');
  await page.keyboard.type('ref');
  await picker.getByTestId('saved-reply-option').filter({ hasText: 'Refund policy' }).waitFor();
  assert.equal(await picker.getByTestId('saved-reply-option').count(), 1);
  await screenshot(page, 'composer-saved-replies');

  // Enter puts it in, filled in for Ada; Enter again sends it.
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('[data-testid="composer-input"]').value.startsWith('Hi Ada'));
  assert.equal(await input.inputValue(), 'Hi Ada, refunds take 5 days.');
  assert.equal(await picker.isHidden(), true);
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'composer-input', 'focus stays in the box');
  await page.keyboard.press('Enter');
  await page.getByTestId('part').filter({ hasText: 'Hi Ada, refunds take 5 days.' }).waitFor();

  // The thread's actions have keys too, listed under ?: e closes, e reopens.
  await page.keyboard.press('Escape');
  await page.keyboard.press('?');
  const help = page.locator('#shortcut-help');
  await help.filter({ hasText: 'Close the conversation, or reopen it' }).waitFor();
  assert.match(await help.innerText(), /Saved replies/);
  await page.keyboard.press('Escape');
  await page.keyboard.press('e');
  await page.getByTestId('reopen-button').waitFor();
  assert.equal((await env.rapport.api('GET', `/api/v1/conversations/${sent.body.conversation_id}`)).body.status, 'closed');
  await page.keyboard.press('e');
  await page.getByTestId('close-button').waitFor();
  assert.deepEqual(injected, []);
  await context.close();
});
