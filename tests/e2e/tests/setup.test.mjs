// A fresh install: the first visit to the Inbox creates the workspace and
// its owner, with no command line; a wrong field is said next to it.

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
  await context.close();
});
