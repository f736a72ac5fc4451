// Files in the widget, in Chromium: a visitor pastes an image into the
// message box and sends it with no text; the widget's thread draws it
// (fetched with the session's token, shown from an object URL), opens it
// larger and closes it with Escape; the Inbox shows it inline too. A file
// chosen with the attach button comes back as a download; a file of a
// kind the server does not take is refused with a reason.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { withServerAndBrowser, startHostSite, watchForInjection, signInToInbox, screenshot } from '../harness.mjs';

const env = withServerAndBrowser();

// A 3 × 2 RGB PNG made for this test (zlib-compressed rows, CRCs filled in).
const PNG_3X2 = 'iVBORw0KGgoAAAANSUhEUgAAAAMAAAACCAIAAAASFvFNAAAAHUlEQVR42mO4o6GhscVGI+AOw68Tcv///xcREQEAVLUIspKXg5sAAAAASUVORK5CYII=';

/** Polls `check` until it holds (what the tests wait for is drawn asynchronously). */
async function until(what, check, timeout = 15_000) {
  const end = Date.now() + timeout;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A visitor on a host page with the messenger open. */
async function visit() {
  const site = await startHostSite(env.rapport);
  const context = await env.browser.newContext();
  const page = await context.newPage();
  const injected = await watchForInjection(page);
  await page.goto(site.url);
  await page.getByTestId('rapport-launcher').click();
  const messenger = page.locator('[data-testid="rapport-frame"]').contentFrame();
  const composer = messenger.getByTestId('messenger-composer');
  await composer.waitFor();
  return { page, messenger, composer, injected, close: async () => { await context.close(); await site.stop(); } };
}

const shown = (img) => img.evaluate((el) => el.complete && el.naturalWidth > 0);

test('a pasted image is sent alone, drawn in the widget, opened larger, and shown in the Inbox', async () => {
  const visitor = await visit();
  after(() => visitor.close());
  const { page, messenger, composer } = visitor;
  assert.equal(await messenger.getByTestId('widget-attach-button').getAttribute('aria-label'), 'Attach files');

  const uploaded = page.waitForResponse((r) => r.url().includes('/widget/v1/attachments?name=') && r.request().method() === 'POST');
  await composer.evaluate((area, base64) => {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const clipboard = new DataTransfer();
    clipboard.items.add(new File([bytes], 'image.png', { type: 'image/png' }));
    area.focus();
    area.dispatchEvent(new ClipboardEvent('paste', { clipboardData: clipboard, bubbles: true, cancelable: true }));
  }, PNG_3X2);
  const chip = visitor.messenger.getByTestId('widget-attachment-chip');
  await chip.waitFor();
  assert.match(await chip.innerText(), /image\.png/);
  const upload = await uploaded;
  assert.equal(upload.status(), 201);
  assert.deepEqual(
    (({ name, content_type, size, width, height }) => ({ name, content_type, size, width, height }))(await upload.json()),
    { name: 'image.png', content_type: 'image/png', size: 86, width: 3, height: 2 },
  );
  const send = messenger.getByTestId('messenger-send');
  await until('the upload to be ready', async () => (await chip.getAttribute('data-status')) === 'ready');
  assert.equal(await send.getAttribute('aria-disabled'), 'false', 'an image alone may be sent');
  assert.equal(await composer.inputValue(), '');

  const started = page.waitForResponse((r) => r.url().endsWith('/widget/v1/conversations') && r.request().method() === 'POST');
  await send.click();
  const answer = await started;
  assert.equal(answer.status(), 201);
  const { conversation, message } = await answer.json();
  assert.equal(message.body, '');
  assert.deepEqual(message.attachments.map((a) => [a.name, a.content_type, a.width, a.height]), [['image.png', 'image/png', 3, 2]]);
  assert.equal(await chip.count(), 0);

  // The widget's thread draws it from an object URL, at its size.
  const image = messenger.getByTestId('widget-part-image');
  await until('the image in the widget', () => shown(image));
  assert.deepEqual(
    await image.evaluate((el) => [el.src.startsWith('blob:'), el.naturalWidth, el.naturalHeight, el.getAttribute('width'), el.getAttribute('height')]),
    [true, 3, 2, '3', '2'],
  );
  await until('the message to be stored', async () => (await messenger.getByTestId('messenger-part').getAttribute('data-id')) === message.id);
  // Read again from the server, the thread still draws it.
  await messenger.locator('[data-action="back"]').click();
  await messenger.getByTestId('conversation-item').click();
  await until('the image after reopening', () => shown(messenger.getByTestId('widget-part-image')));
  await screenshot(page, 'widget-attachment-image');

  // Larger in a dialog; Escape closes it (not the messenger) and focus returns.
  await messenger.getByTestId('widget-part-image').click();
  const lightbox = messenger.getByTestId('widget-lightbox');
  await lightbox.waitFor();
  await until('the larger image', () => shown(lightbox.locator('img')));
  await page.keyboard.press('Escape');
  await lightbox.waitFor({ state: 'hidden' });
  assert.equal(await messenger.locator('[data-action="open-image"]').evaluate((el) => el === document.activeElement), true);
  assert.equal(await page.getByTestId('rapport-frame').isVisible(), true);

  // The Inbox draws it inline as well.
  const agent = await signInToInbox(env.browser, env.rapport);
  await agent.page.goto(`${env.rapport.base}/#/conversations/${conversation.id}`);
  const inboxImage = agent.page.getByTestId('part-image');
  await inboxImage.first().waitFor();
  await until('the image in the Inbox', () => shown(inboxImage.first()));
  assert.equal(await inboxImage.first().evaluate((el) => el.naturalWidth), 3);
  await screenshot(agent.page, 'inbox-attachment-image');
  assert.deepEqual(visitor.injected, []);
  assert.deepEqual(agent.injected, []);
  await agent.context.close();
});

test('a file chosen with the attach button downloads from the thread; a kind not taken is refused', async () => {
  const visitor = await visit();
  after(() => visitor.close());
  const { page, messenger, composer } = visitor;
  const notes = 'Order 1042: the lid is cracked.\n';
  await messenger.getByTestId('widget-attach-input').setInputFiles([
    { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from(notes) },
    // NUL bytes and no known magic number: neither text nor a taken type.
    { name: 'tool.bin', mimeType: 'application/octet-stream', buffer: Buffer.from([0, 1, 2, 3, 0, 255, 0, 7]) },
  ]);
  const error = messenger.getByTestId('widget-attachment-error');
  await error.waitFor();
  assert.equal(await error.getAttribute('role'), 'alert');
  assert.match(await error.innerText(), /cannot be sent/);
  const chips = messenger.getByTestId('widget-attachment-chip');
  assert.equal(await chips.count(), 2);
  await until('the text file to be ready', async () => (await chips.first().getAttribute('data-status')) === 'ready');

  await composer.fill('Here is what happened');
  await composer.press('Enter');
  const file = messenger.getByTestId('widget-part-file');
  await file.waitFor();
  assert.match(await file.innerText(), new RegExp(`notes\\.txt[\\s\\S]*${Buffer.byteLength(notes)} B`));
  assert.equal(await chips.count(), 0, 'the refused file does not linger');
  assert.equal(await messenger.getByTestId('messenger-part').filter({ hasText: 'Here is what happened' }).count(), 1);

  const [download] = await Promise.all([page.waitForEvent('download'), file.click()]);
  assert.equal(download.suggestedFilename(), 'notes.txt');
  assert.equal(await readFile(await download.path(), 'utf8'), notes);
  assert.deepEqual(visitor.injected, []);
});
