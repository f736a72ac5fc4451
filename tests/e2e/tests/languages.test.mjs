// The widget in the visitor's language, in Chromium: German because the
// page boots it so, French because the browser prefers it (and the page
// names a language there are no words for), English otherwise; and a
// message in Arabic laid out right to left in an English widget.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withServerAndBrowser, startHostSite, watchForInjection } from '../harness.mjs';

const env = withServerAndBrowser();

/** A host page booting the widget with `settings`, in a browser speaking `locale`. */
async function visit(settings, locale = 'en-US') {
  const site = await startHostSite(env.rapport, settings);
  const context = await env.browser.newContext({ locale });
  const page = await context.newPage();
  const injected = await watchForInjection(page);
  await page.goto(site.url);
  const launcher = page.getByTestId('rapport-launcher');
  await launcher.waitFor();
  const messenger = page.locator('[data-testid="rapport-frame"]').contentFrame();
  return {
    page, launcher, messenger, injected,
    close: async () => { await context.close(); await site.stop(); },
  };
}

test('the widget speaks the language the page boots it with, else the browser\'s', async () => {
  const german = await visit({ language: 'de' });
  assert.equal(await german.launcher.getAttribute('aria-label'), 'Chat öffnen');
  await german.launcher.click();
  await german.messenger.getByText('Schreiben Sie uns').first().waitFor();
  assert.equal(await german.messenger.getByTestId('messenger-composer').getAttribute('placeholder'), 'Schreiben Sie Ihre Nachricht…');
  assert.equal(await german.messenger.locator('html').getAttribute('lang'), 'de');
  assert.equal(await german.launcher.getAttribute('aria-label'), 'Chat schließen');
  assert.deepEqual(german.injected, []);
  await german.close();

  const french = await visit({ language: 'tlh' }, 'fr-FR');
  await french.launcher.click();
  await french.messenger.getByText('Envoyez-nous un message').first().waitFor();
  assert.equal(await french.messenger.getByTestId('messenger-send').getAttribute('aria-label'), 'Envoyer');
  // `language` is the messenger's, not a property of the contact.
  const contacts = (await env.rapport.api('GET', '/api/v1/contacts?limit=10')).body.data;
  assert.ok(contacts.every((c) => !('language' in (c.props ?? {}))), JSON.stringify(contacts));
  await french.close();
});

/**
 * The computed direction of the bubble `locator` finds. The thread renders
 * again when a message is confirmed or read, so the element found may be
 * replaced before its style is read (a detached element computes no
 * direction): read again until one attached answers.
 */
async function directionOf(locator) {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const direction = await locator.evaluate((el) => (el.isConnected ? getComputedStyle(el).direction : ''));
    if (direction) return direction;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the bubble was replaced on every read for five seconds');
}

/** The bubble of the visitor's confirmed (no longer pending) message holding `text`. */
function confirmedBubble(visitor, text) {
  return visitor.messenger.locator('[data-testid="messenger-part"]:not([data-id=""])')
    .filter({ hasText: text }).locator('.bubble');
}

test('a message in Arabic is laid out right to left in an English widget', async () => {
  const visitor = await visit({});
  await visitor.launcher.click();
  const composer = visitor.messenger.getByTestId('messenger-composer');
  await composer.waitFor();
  assert.equal(await composer.getAttribute('placeholder'), 'Write your message…');
  await composer.fill('مرحبا، هل يمكنكم مساعدتي؟');
  await composer.press('Enter');
  const bubble = confirmedBubble(visitor, 'مرحبا');
  await bubble.waitFor();
  assert.equal(await directionOf(bubble), 'rtl');
  await composer.fill('Hello');
  await composer.press('Enter');
  const english = confirmedBubble(visitor, 'Hello');
  await english.waitFor();
  assert.equal(await directionOf(english), 'ltr');
  assert.deepEqual(visitor.injected, []);
  await visitor.close();
});
