// Attachments from the Inbox, in Chromium: an agent attaches a small PNG
// with the paperclip's file input and sends it with text; it shows inline
// in the thread at its real size, opens in a lightbox that Esc closes, and
// both the team's API and the visitor's list it as image/png. A message of
// files alone (an image and a text file) has no text bubble, a download
// link for the text file and a "📎" preview in the list. A file the server
// refuses (HTML) shows its error on its chip and can be removed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withServerAndBrowser, signInToInbox, screenshot } from '../harness.mjs';

const env = withServerAndBrowser();

// A 2×2 RGB PNG, made for this test with Python's zlib and struct
// (IHDR 2×2 8-bit RGB, one IDAT, IEND).
const TINY_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFUlEQVR42mP4z8DA0AAkTjD8//8fACNbBkQu+/U1AAAAAElFTkSuQmCC',
  'base64',
);

/** A visitor who starts a conversation through the widget API: its id and the visitor's session. */
async function visitorStarts(body) {
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
  const { conversation } = await started.json();
  return { id: conversation.id, session: booted.session };
}

test('an agent attaches a PNG: it shows inline, opens in a lightbox, and both APIs list it', async () => {
  const visitor = await visitorStarts('Can you send me the picture?');
  const { page, injected, context } = await signInToInbox(env.browser, env.rapport);
  await page.goto(`${env.rapport.base}/#/conversations/${visitor.id}`);
  const input = page.getByTestId('composer-input');
  await input.waitFor();
  assert.equal(await page.getByTestId('attach-button').getAttribute('aria-label'), 'Attach files');

  // Chosen through the paperclip's input: a chip with its name and size, uploaded at once.
  await page.getByTestId('attach-input').setInputFiles({ name: 'dots.png', mimeType: 'image/png', buffer: TINY_PNG });
  const chip = page.getByTestId('attachment-chip');
  await chip.and(page.locator('[data-status="ready"]')).waitFor({ timeout: 15_000 });
  assert.match(await chip.innerText(), /dots\.png/);
  assert.match(await chip.innerText(), new RegExp(`${TINY_PNG.length} bytes`));
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'composer-input');

  await input.fill('Here is the picture');
  await input.press('Enter');
  const part = page.getByTestId('part').filter({ hasText: 'Here is the picture' });
  await part.waitFor();
  const image = part.getByTestId('part-image');
  await image.waitFor();
  await page.waitForFunction(() => {
    const img = document.querySelector('[data-testid="part-image"]');
    return img?.complete && img.naturalWidth > 0;
  });
  assert.equal(await image.evaluate((img) => img.naturalWidth), 2);
  assert.deepEqual([await image.getAttribute('alt'), await image.getAttribute('width'), await image.getAttribute('height')],
    ['dots.png', '2', '2']);
  assert.equal(await image.getAttribute('loading'), 'lazy');
  assert.equal(await chip.count(), 0, 'the tray clears after sending');
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'composer-input', 'focus stays in the box');
  await screenshot(page, 'attachment-inline');

  // The lightbox: the full image and its name; Esc closes it and focus goes back to the thumbnail.
  await image.click();
  const lightbox = page.getByTestId('lightbox');
  await lightbox.waitFor();
  assert.match(await lightbox.innerText(), /dots\.png/);
  const full = lightbox.locator('img');
  assert.equal(await full.getAttribute('src'), await image.getAttribute('src'));
  await lightbox.getByTestId('lightbox-close').waitFor();
  await screenshot(page, 'attachment-lightbox');
  await page.keyboard.press('Escape');
  await lightbox.waitFor({ state: 'hidden' });
  assert.equal(await page.evaluate(() => document.activeElement?.querySelector('[data-testid="part-image"]') !== null), true,
    'focus is back on the thumbnail');
  // Enter on the thumbnail opens it again (and the same Enter does not
  // close it); focus is on the dialog, and the Close button closes it.
  await page.keyboard.press('Enter');
  await lightbox.waitFor();
  await lightbox.getByTestId('lightbox-close').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'lightbox');
  await lightbox.getByTestId('lightbox-close').click();
  await lightbox.waitFor({ state: 'hidden' });

  // The team's API and the visitor's both list it.
  const detail = (await env.rapport.api('GET', `/api/v1/conversations/${visitor.id}`)).body;
  const sent = detail.parts.find((p) => p.body === 'Here is the picture');
  assert.equal(sent.attachments.length, 1);
  assert.deepEqual([sent.attachments[0].name, sent.attachments[0].content_type, sent.attachments[0].size],
    ['dots.png', 'image/png', TINY_PNG.length]);
  assert.deepEqual([sent.attachments[0].width, sent.attachments[0].height], [2, 2]);
  assert.equal(detail.parts.find((p) => p.body === 'Can you send me the picture?').attachments, undefined);
  const seen = await fetch(`${env.rapport.base}/widget/v1/conversations/${visitor.id}`, {
    headers: { authorization: `Bearer ${visitor.session}` },
  });
  assert.equal(seen.status, 200);
  const visitorPart = (await seen.json()).parts.find((p) => p.body === 'Here is the picture');
  assert.equal(visitorPart.attachments?.[0]?.content_type, 'image/png');
  assert.equal(visitorPart.attachments[0].id, sent.attachments[0].id);

  // Files alone, with an empty box: an image and a text file.
  await page.getByTestId('attach-input').setInputFiles([
    { name: 'only.png', mimeType: 'image/png', buffer: TINY_PNG },
    { name: 'order-notes.txt', mimeType: 'text/plain', buffer: Buffer.from('Order 1234 shipped on Monday.\n') },
  ]);
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="attachment-chip"]')]
    .filter((c) => c.dataset.status === 'ready').length === 2, null, { timeout: 15_000 });
  assert.equal(await input.inputValue(), '');
  await input.press('Enter');
  const filesOnly = page.getByTestId('part').filter({ has: page.getByTestId('part-file') });
  await filesOnly.waitFor();
  assert.equal(await filesOnly.getByTestId('part-image').getAttribute('alt'), 'only.png');
  const link = filesOnly.getByTestId('part-file');
  assert.equal(await link.getAttribute('download'), 'order-notes.txt');
  assert.match(await link.innerText(), /order-notes\.txt/);
  assert.equal(await filesOnly.locator('.part-body').count(), 0, 'no empty text bubble');
  const downloaded = await page.evaluate((href) => fetch(href).then((r) => r.text()), await link.getAttribute('href'));
  assert.equal(downloaded, 'Order 1234 shipped on Monday.\n');
  await page.getByTestId('conversation-row').filter({ hasText: '📎 only.png' }).waitFor();
  const last = (await env.rapport.api('GET', `/api/v1/conversations/${visitor.id}`)).body.parts.at(-1);
  assert.equal(last.body, '');
  assert.deepEqual(last.attachments.map((a) => a.name), ['only.png', 'order-notes.txt']);
  assert.equal(last.attachments[0].content_type, 'image/png');
  assert.match(last.attachments[1].content_type, /^text\/plain\b/);

  assert.deepEqual(injected, []);
  await context.close();
});

test('a file the server refuses shows its error on its chip and can be removed', async () => {
  const visitor = await visitorStarts('Here is my page');
  const { page, injected, context } = await signInToInbox(env.browser, env.rapport);
  await page.goto(`${env.rapport.base}/#/conversations/${visitor.id}`);
  const input = page.getByTestId('composer-input');
  await input.waitFor();

  await page.getByTestId('attach-input').setInputFiles({
    name: 'evil.html',
    mimeType: 'text/html',
    buffer: Buffer.from('<!doctype html><html><body><script>window.__injected("upload")</script></body></html>'),
  });
  const chip = page.getByTestId('attachment-chip');
  const error = chip.getByTestId('attachment-error');
  await error.waitFor({ timeout: 15_000 });
  assert.match(await chip.innerText(), /evil\.html/);
  assert.notEqual((await error.innerText()).trim(), '', 'it says why');
  assert.equal(await error.getAttribute('role'), 'alert');
  assert.equal(await chip.getAttribute('data-status'), 'error');
  await screenshot(page, 'attachment-refused');

  // Send is held back while a refused file is in the tray.
  await input.fill('Did it arrive?');
  await input.press('Enter');
  await page.locator('#composer-error').filter({ hasText: /could not be uploaded/ }).waitFor();
  assert.equal(await input.inputValue(), 'Did it arrive?', 'the text stays');

  await page.getByTestId('attachment-remove').click();
  assert.equal(await page.getByTestId('attachment-chip').count(), 0);
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'composer-input');
  await input.press('Enter');
  await page.getByTestId('part').filter({ hasText: 'Did it arrive?' }).waitFor();
  const parts = (await env.rapport.api('GET', `/api/v1/conversations/${visitor.id}`)).body.parts;
  assert.equal(parts.some((p) => p.attachments?.length), false);
  assert.deepEqual(injected, []);
  await context.close();
});
