// Conversation tags and search, in Chromium. Tags: `t` in a thread goes to
// the tag box, Enter adds, the chip shows (and on the list's row), the
// list's tag filter narrows to it, ✕ takes it off, and the profile's
// timeline says both. Search: `/` goes to the box, a word from a closed
// conversation's visitor message finds it with the word marked, and the
// hit opens the thread with that message in view.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withServerAndBrowser, signInToInbox, screenshot } from '../harness.mjs';

const env = withServerAndBrowser();

/** A contact with a conversation the team started: `{contactId, conversationId}`. */
async function teamConversation(userId, name, body) {
  const contact = await env.rapport.api('POST', '/api/v1/contacts', { user_id: userId, name });
  assert.equal(contact.status, 201, JSON.stringify(contact.body));
  const sent = await env.rapport.api('POST', '/api/v1/messages', { contact_id: contact.body.id, body });
  assert.equal(sent.status, 201, JSON.stringify(sent.body));
  return { contactId: contact.body.id, conversationId: sent.body.conversation_id };
}

/** An anonymous visitor starts a conversation through the widget API: `{conversationId, messageId}`. */
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
  const { conversation, message } = await started.json();
  return { conversationId: conversation.id, messageId: message.id };
}

const row = (page, id) => page.locator(`[data-testid="conversation-row"][data-conversation-id="${id}"]`);
const focused = (page) => page.evaluate(() => document.activeElement?.dataset?.testid ?? null);
const listedIds = (page) => page.evaluate(() =>
  [...document.querySelectorAll('[data-testid="conversation-row"]')].map((r) => r.dataset.conversationId));

test('a conversation is tagged from the keyboard, the list filters by the tag, and the tag comes off', async () => {
  const ada = await teamConversation('ada', 'Ada Lovelace', 'Your refund is on its way.');
  const bob = await teamConversation('bob', 'Bob Untagged', 'Thanks for getting in touch.');
  const { page, injected, context } = await signInToInbox(env.browser, env.rapport);
  await row(page, bob.conversationId).waitFor({ timeout: 15_000 });
  await row(page, ada.conversationId).click();
  await page.getByTestId('part').filter({ hasText: 'Your refund is on its way.' }).waitFor();

  // `t` (from the list, not a text box) goes to the tag box; Enter adds.
  await page.getByTestId('conversation-list').focus();
  await page.keyboard.press('t');
  assert.equal(await focused(page), 'tag-input');
  // Refused before asking: a tag is at most 64 characters.
  await page.keyboard.type('x'.repeat(65));
  await page.keyboard.press('Enter');
  const error = page.getByTestId('tag-error');
  await error.filter({ hasText: '64' }).waitFor();
  assert.equal(await error.getAttribute('role'), 'alert');
  await page.getByTestId('tag-input').fill('');
  await page.keyboard.type('refund');
  await page.keyboard.press('Enter');
  const chips = page.getByTestId('thread-tags');
  await chips.getByTestId('thread-tag').filter({ hasText: 'refund' }).waitFor();
  assert.equal(await focused(page), 'tag-input', 'focus stays in the tag box');
  assert.equal(await page.getByTestId('tag-input').inputValue(), '');
  assert.equal(await error.innerText(), '');
  assert.deepEqual((await env.rapport.api('GET', `/api/v1/conversations/${ada.conversationId}`)).body.tags, ['refund']);
  await row(page, ada.conversationId).getByTestId('row-tag').filter({ hasText: 'refund' }).waitFor();
  assert.equal(await row(page, bob.conversationId).getByTestId('row-tag').count(), 0);

  // The list's tag filter offers it and asks the server for it.
  const asked = page.waitForRequest((request) => {
    const url = new URL(request.url());
    return url.pathname === '/api/v1/conversations' && url.searchParams.get('tag') === 'refund';
  });
  await page.getByTestId('list-tag-filter').selectOption('refund');
  await asked;
  await page.waitForFunction((id) => {
    const ids = [...document.querySelectorAll('[data-testid="conversation-row"]')].map((r) => r.dataset.conversationId);
    return ids.length === 1 && ids[0] === id;
  }, ada.conversationId, { timeout: 15_000 });
  assert.deepEqual(await listedIds(page), [ada.conversationId]);
  await screenshot(page, 'inbox-tags');

  // ✕ takes it off; focus goes back to the box; the row leaves the filtered list.
  await chips.getByRole('button', { name: 'Remove tag refund' }).click();
  await page.waitForFunction(() => !document.querySelector('[data-testid="thread-tag"]'));
  assert.equal(await focused(page), 'tag-input');
  assert.deepEqual((await env.rapport.api('GET', `/api/v1/conversations/${ada.conversationId}`)).body.tags, []);
  await page.waitForFunction(() => !document.querySelector('[data-testid="conversation-row"]'));
  await page.locator('.list-empty').filter({ hasText: 'tagged “refund”' }).waitFor();
  await page.getByTestId('list-tag-filter').selectOption('');
  await row(page, bob.conversationId).waitFor({ timeout: 15_000 });

  // The shortcuts are listed under ?.
  await page.getByTestId('conversation-list').focus();
  await page.keyboard.press('?');
  const help = page.locator('#shortcut-help');
  await help.filter({ hasText: 'Search conversations' }).waitFor();
  assert.match(await help.innerText(), /Tag the conversation/);
  await page.keyboard.press('Escape');

  // The profile's timeline tells both, under Conversations.
  await page.goto(`${env.rapport.base}/#/contacts/${ada.contactId}`);
  await page.getByTestId('timeline-filter-conversations').click();
  const timeline = page.getByTestId('timeline');
  await timeline.locator('[data-testid="timeline-entry"][data-kind="tagged"]')
    .filter({ hasText: 'Tagged the conversation “refund”' }).waitFor({ timeout: 15_000 });
  await timeline.locator('[data-testid="timeline-entry"][data-kind="untagged"]')
    .filter({ hasText: 'Removed the tag “refund”' }).waitFor();

  assert.deepEqual(injected, []);
  await context.close();
});

test('a closed conversation is found by a word of the visitor\'s, and the hit opens it at that message', async () => {
  const { conversationId, messageId } = await visitorWrites(
    'My parcel came with a cracked teapot lid <img src=x onerror="window.__injected(\'search\')">');
  const contactId = (await env.rapport.api('GET', `/api/v1/conversations/${conversationId}`)).body.contact.id;
  // Enough replies after it that the thread opens scrolled well past it.
  for (let i = 1; i <= 25; i++) {
    const sent = await env.rapport.api('POST', '/api/v1/messages', {
      contact_id: contactId, conversation_id: conversationId, body: `Update ${i}: we are still looking into your order.`,
    });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
  }
  const closed = await env.rapport.api('POST', `/api/v1/conversations/${conversationId}/close`, {});
  assert.equal(closed.status, 200, JSON.stringify(closed.body));

  const { page, injected, context } = await signInToInbox(env.browser, env.rapport);
  await page.waitForFunction(() => globalThis.rapportInbox?.state.listStatus === 'ready');
  assert.ok(!(await listedIds(page)).includes(conversationId), 'the list shows open conversations only');

  // `/` goes to the search box; typing searches.
  await page.getByTestId('conversation-list').focus();
  await page.keyboard.press('/');
  assert.equal(await focused(page), 'conversation-search');
  await page.keyboard.type('teapot');
  const hit = page.locator(`[data-testid="search-hit"][data-conversation-id="${conversationId}"]`);
  await hit.waitFor({ timeout: 15_000 });
  assert.equal(await page.getByTestId('conversation-list').isHidden(), true, 'the hits stand in for the list');
  assert.match(await hit.locator('mark').first().innerText(), /^teapot$/i);
  assert.equal(await hit.getByTestId('search-hit-status').innerText(), 'Closed');
  assert.equal(await hit.getAttribute('data-message-id'), messageId);
  assert.equal(await page.locator('[data-testid="search-results"] img').count(), 0, 'the excerpt is text');
  await screenshot(page, 'inbox-search');

  // The hit opens the closed thread with the visitor's message in view, marked.
  await hit.click();
  await page.getByTestId('reopen-button').waitFor();
  assert.equal(await page.getByTestId('status-badge').innerText(), 'Closed');
  await page.waitForFunction((id) => {
    const part = document.querySelector(`[data-testid="part"][data-part-id="${id}"]`);
    if (!part) return false;
    const frame = part.closest('.thread-scroll').getBoundingClientRect();
    const box = part.getBoundingClientRect();
    return part.classList.contains('is-found') && box.top >= frame.top && box.bottom <= frame.bottom;
  }, messageId, { timeout: 15_000 });
  assert.match(page.url(), new RegExp(`#/conversations/${conversationId}$`));

  // Nothing found says so; Esc clears the box and the list is back.
  await page.getByTestId('conversation-search').fill('zzyzx');
  await page.getByTestId('search-empty').filter({ hasText: 'No conversations match “zzyzx”.' }).waitFor();
  await page.getByTestId('conversation-search').press('Escape');
  assert.equal(await page.getByTestId('conversation-search').inputValue(), '');
  await page.getByTestId('conversation-list').waitFor();
  assert.equal(await page.getByTestId('search-hit').count(), 0);

  assert.deepEqual(injected, []);
  await context.close();
});
