// A fresh install: the first visit to the Inbox creates the workspace and
// its owner, with no command line; a wrong field is said next to it. The
// empty Inbox then says what to do next, and its "Try it" link opens a
// demo page with the widget, where the first conversation starts.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRapport, launchBrowser, screenshot } from '../harness.mjs';

let rapport;
let browser;

before(async () => {
  rapport = await startRapport({ fresh: true });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await rapport?.stop();
});

test('the first visit sets up the workspace and signs its owner in', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(rapport.base);
  await page.getByTestId('setup-form').waitFor();
  await screenshot(page, 'inbox-first-run');
  await page.getByTestId('setup-workspace').fill('Globex');
  await page.getByTestId('setup-name').fill('Hank Scorpio');
  await page.getByTestId('setup-email').fill('hank@globex.test');
  await page.getByTestId('setup-password').fill('short');
  await page.getByTestId('setup-submit').click();
  // The server's field error is shown; nothing was created.
  await page.getByText('must be at least 8 characters').first().waitFor();
  assert.deepEqual(await (await fetch(`${rapport.base}/api/v1/setup`)).json(), { needed: true });
  await page.getByTestId('setup-password').fill('a long enough password');
  await page.getByTestId('setup-submit').click();
  await page.getByTestId('conversation-list').waitFor();
  assert.deepEqual(await (await fetch(`${rapport.base}/api/v1/setup`)).json(), { needed: false });
  // Signed in: a reload stays in the Inbox.
  await page.reload();
  await page.getByTestId('conversation-list').waitFor();
  assert.match(await page.locator('body').innerText(), /Globex/);

  // The empty Inbox says what to do next: the snippet to copy, and a
  // demo page with the widget on it, one click away.
  const welcome = page.getByTestId('inbox-welcome');
  await welcome.waitFor();
  const snippet = await welcome.getByTestId('welcome-snippet').textContent();
  const appId = (await (await page.evaluate(() => fetch('/api/v1/session').then((r) => r.json())))).workspace.app_id;
  assert.match(snippet, new RegExp(`app_id: '${appId}'`));
  assert.match(snippet, new RegExp(`src="${rapport.base}/widget.js"`));
  await screenshot(page, 'inbox-welcome');
  const [demo] = await Promise.all([
    context.waitForEvent('page'),
    welcome.getByTestId('welcome-try-it').click(),
  ]);
  await demo.waitForLoadState();
  assert.equal(new URL(demo.url()).pathname, '/try');
  await demo.getByTestId('try-open-chat').click();
  const messenger = demo.locator('[data-testid="rapport-frame"]').contentFrame();
  const composer = messenger.getByTestId('messenger-composer');
  await composer.fill('Hello from the demo page');
  await composer.press('Enter');
  await messenger.getByTestId('messenger-part').filter({ hasText: 'Hello from the demo page' }).waitFor();
  await screenshot(demo, 'try-demo-page');

  // The first conversation arrives in the Inbox live, and the welcome goes.
  await page.bringToFront();
  await page.getByTestId('conversation-row').filter({ hasText: 'Hello from the demo page' }).waitFor({ timeout: 15_000 });
  await welcome.waitFor({ state: 'detached' });
  await context.close();
});
