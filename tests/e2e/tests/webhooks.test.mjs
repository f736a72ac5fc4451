// Settings > Webhooks in Chromium, against a real local receiver: an
// endpoint added (a bad URL refused beside its field first), its secret
// shown, a test event and a real event delivered and signed with it, both
// in the delivery log; disabled, then deleted after a confirmation.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createHmac } from 'node:crypto';
import { startRapport, launchBrowser, screenshot, signInToInbox } from '../harness.mjs';

let rapport;
let browser;
let receiver;
const received = [];

before(async () => {
  // A receiver on this machine: the server must be told it may call one.
  rapport = await startRapport({ env: { RAPPORT_AUTOMATION_WEBHOOKS_ALLOW_PRIVATE: 'true' } });
  browser = await launchBrowser();
  receiver = createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks) });
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end('ok from the receiver');
    });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
});

after(async () => {
  await browser?.close();
  await rapport?.stop();
  receiver?.close();
});

async function eventually(what, check) {
  for (let i = 0; i < 100; i++) {
    const value = await check();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('an admin adds an endpoint, sends a test event, sees signed deliveries in the log, disables and deletes it', async () => {
  const { page, injected, context } = await signInToInbox(browser, rapport);
  await page.getByTestId('nav-settings').click();
  const section = page.getByTestId('webhooks-section');
  await section.getByTestId('webhooks-empty').waitFor();

  // A URL that is not one is refused beside its field, and nothing is made.
  await section.getByTestId('webhooks-new-url').fill('hooks.example');
  await section.getByTestId('webhooks-create').click();
  await section.locator('[data-error-for="url"]').filter({ hasText: /https:\/\// }).waitFor();
  await section.locator('[data-error-for="events"]').filter({ hasText: /at least one/ }).waitFor();
  assert.deepEqual((await rapport.api('GET', '/api/v1/webhooks')).body.data, []);

  const url = `http://127.0.0.1:${receiver.address().port}/rapport`;
  await section.getByTestId('webhooks-new-url').fill(url);
  await section.getByTestId('webhooks-new-description').fill('Our CRM');
  await section.locator('input[name="events"][value="contact.created"]').first().check();
  await section.locator('input[name="events"][value="message.created"]').first().check();
  await section.getByTestId('webhooks-create').click();
  const item = section.getByTestId('webhook-item');
  await item.waitFor();
  assert.equal(await item.getByTestId('webhook-url').textContent(), url);
  assert.equal(await item.getByTestId('webhook-state').textContent(), 'Enabled');
  // Its secret is shown once it is made, to copy into the receiver.
  const secret = (await item.getByTestId('webhook-secret').textContent()).trim();
  assert.match(secret, /^whsec_[0-9a-f]{64}$/);

  await item.getByTestId('webhook-test').click();
  await eventually('the test event', () => received.length >= 1);
  await item.getByTestId('webhook-delivery').filter({ hasText: 'webhook.test' }).waitFor({ timeout: 10_000 });

  // A real event: a contact created through the API.
  const created = await rapport.api('POST', '/api/v1/contacts', { user_id: 'webhook-ada', name: 'Ada' });
  assert.ok(created.status < 300, JSON.stringify(created.body));
  await eventually('contact.created', () => received.find((r) => JSON.parse(r.body).type === 'contact.created'));
  for (const { headers, body } of received) {
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(headers['rapport-signature']);
    const expected = createHmac('sha256', secret).update(`${t}.`).update(body).digest('hex');
    assert.equal(v1, expected, 'signed with the secret the Inbox showed');
  }
  const contactEvent = JSON.parse(received.find((r) => JSON.parse(r.body).type === 'contact.created').body);
  assert.equal(contactEvent.data.contact_id, created.body.id);

  await item.getByTestId('webhook-refresh').click();
  const row = item.getByTestId('webhook-delivery').filter({ hasText: 'contact.created' });
  await row.waitFor();
  assert.equal(await row.getAttribute('data-status'), 'delivered');
  assert.equal((await row.getByTestId('webhook-delivery-detail').textContent()).trim(), 'HTTP 200');
  assert.equal(await row.getByTestId('webhook-delivery-answer').textContent(), 'ok from the receiver');
  await screenshot(page, 'settings-webhooks');

  // Disabled: the state says so, and the server agrees.
  await item.getByTestId('webhook-enable').click();
  await item.getByTestId('webhook-state').filter({ hasText: 'Disabled' }).waitFor();
  assert.equal((await rapport.api('GET', '/api/v1/webhooks')).body.data[0].enabled, false);

  // Deleted after a confirmation; Esc first keeps it.
  await item.getByTestId('webhook-delete').click();
  await item.getByTestId('webhook-delete-confirm').waitFor();
  await page.keyboard.press('Escape');
  assert.equal(await item.getByTestId('webhook-delete-confirm').count(), 0);
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'webhook-delete', 'focus back on Delete');
  await item.getByTestId('webhook-delete').click();
  await item.getByTestId('webhook-delete-confirm').click();
  await section.getByTestId('webhooks-empty').waitFor();
  assert.deepEqual((await rapport.api('GET', '/api/v1/webhooks')).body.data, []);
  assert.deepEqual(injected, []);
  await context.close();
});
