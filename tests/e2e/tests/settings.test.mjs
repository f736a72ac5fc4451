// Settings in the Inbox, in Chromium: identity verification (examples, the
// warning before turning it off, rotating the secret), removing a member,
// changing one's password, opening a property to the messenger, an
// email a visitor typed shown as unverified, data retention, and
// attachments turned off (no attach button in the widget or the Inbox).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startRapport, launchBrowser, watchForInjection, screenshot, signInToInbox } from '../harness.mjs';

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

async function openSettings(page) {
  await page.getByTestId('nav-settings').click();
  await page.getByTestId('settings-view').waitFor();
}

/** Signs a member in to the Inbox in a fresh browser context. */
async function signInAs(email, password) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const injected = await watchForInjection(page);
  await page.goto(rapport.base);
  await page.getByTestId('signin-email').fill(email);
  await page.getByTestId('signin-password').fill(password);
  await page.getByTestId('signin-submit').click();
  await page.getByTestId('conversation-list').waitFor();
  return { page, context, injected };
}

/** What the page's own cookie session answers for GET /api/v1/session. */
const sessionStatus = (page) => page.evaluate(async () => (await fetch('/api/v1/session')).status);

async function addMember(name, email, role = 'agent', password = 'first password') {
  const created = await rapport.api('POST', '/api/v1/agents', { name, email, role, password });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body;
}

const boot = (body) => fetch(`${rapport.base}/widget/v1/boot`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ app_id: rapport.boot.app_id, ...body }),
});

test('identity verification: on by default, examples for five languages, a warning before turning it off', async () => {
  const { page, injected, context } = await signInToInbox(browser, rapport);
  await openSettings(page);
  const section = page.getByTestId('identity-section');
  await section.waitFor();
  assert.equal((await page.getByTestId('identity-status').innerText()).trim(), 'On');
  assert.equal(await page.getByTestId('identity-enforce-toggle').isChecked(), true);

  // One example per language, switched with the tabs (and the arrow keys).
  const example = page.getByTestId('identity-example');
  const expected = {
    node: "createHmac('sha256'", python: 'hmac.new(', ruby: 'OpenSSL::HMAC.hexdigest', php: "hash_hmac('sha256'", rust: 'Hmac::<Sha256>',
  };
  assert.match(await example.innerText(), /createHmac\('sha256'/);
  for (const [id, text] of Object.entries(expected)) {
    await page.getByTestId(`identity-language-${id}`).click();
    assert.equal(await example.getAttribute('data-language'), id);
    assert.ok((await example.innerText()).includes(text), `${id} example`);
    assert.equal(await page.getByTestId(`identity-language-${id}`).getAttribute('aria-selected'), 'true');
  }
  await page.keyboard.press('Home');
  assert.equal(await example.getAttribute('data-language'), 'node');
  await page.keyboard.press('ArrowRight');
  assert.equal(await example.getAttribute('data-language'), 'python');
  const snippet = await page.getByTestId('identity-boot-snippet').innerText();
  assert.match(snippet, /user_id: 'USER_ID'/);
  assert.match(snippet, /user_hash: 'USER_HASH'/);
  assert.ok(snippet.includes(rapport.boot.app_id));

  // Turning it off asks first, with the risk spelled out; "Keep it on" changes nothing.
  const toggleLabel = page.locator('form[data-form="identity"] label.switch');
  await toggleLabel.click();
  const confirm = page.getByTestId('identity-off-confirm');
  await confirm.waitFor();
  assert.match(await page.getByTestId('identity-off-warning').innerText(), /guesses .* could .* read their conversations/);
  await screenshot(page, 'settings-identity-off-warning');
  await page.getByTestId('identity-off-cancel').click();
  await confirm.waitFor({ state: 'detached' });
  assert.equal(await page.getByTestId('identity-enforce-toggle').isChecked(), true);
  assert.equal((await rapport.api('GET', '/api/v1/workspace')).body.identity_verification, true, 'still on');

  // Confirmed: off, and a boot with a bare user_id is accepted.
  await toggleLabel.click();
  await page.getByTestId('identity-off-confirm-button').click();
  await page.getByTestId('identity-off-notice').waitFor();
  assert.equal((await page.getByTestId('identity-status').innerText()).trim(), 'Off');
  assert.equal((await rapport.api('GET', '/api/v1/workspace')).body.identity_verification, false);
  assert.equal((await boot({ user_id: 'unproven' })).status, 200);

  // Turning it on needs no confirmation; the bare user_id is refused again.
  await toggleLabel.click();
  await page.getByTestId('identity-off-notice').waitFor({ state: 'detached' });
  assert.equal(await page.getByTestId('identity-off-confirm').count(), 0);
  for (let i = 0; i < 50 && !(await rapport.api('GET', '/api/v1/workspace')).body.identity_verification; i++) {
    await page.waitForTimeout(100);
  }
  assert.equal((await rapport.api('GET', '/api/v1/workspace')).body.identity_verification, true);
  assert.equal((await boot({ user_id: 'unproven' })).status, 401);
  assert.equal((await page.getByTestId('identity-status').innerText()).trim(), 'On');
  assert.deepEqual(injected, []);
  await context.close();
});

test('rotating the identity secret shows the new one, and the old one keeps working for the grace period', async () => {
  const { page, injected, context } = await signInToInbox(browser, rapport);
  await openSettings(page);
  const secret = page.getByTestId('identity-secret');
  const old = await secret.inputValue();
  assert.equal(old, rapport.boot.identity_secret);

  // Out of range: the field says so and nothing rotates.
  await page.getByTestId('rotate-grace').fill('1000');
  await page.getByTestId('rotate-secret').click();
  await page.getByTestId('rotate-grace-error').filter({ hasText: /0 to 720/ }).waitFor();
  assert.equal((await rapport.api('GET', '/api/v1/workspace')).body.identity_secret, old);

  await page.getByTestId('rotate-grace').fill('48');
  await page.getByTestId('rotate-secret').click();
  await page.getByTestId('identity-previous-note').waitFor();
  const fresh = await page.getByTestId('identity-secret').inputValue();
  assert.notEqual(fresh, old);
  assert.match(fresh, /^[0-9a-f]{64}$/);
  assert.equal(await page.getByTestId('identity-secret').getAttribute('type'), 'text', 'shown to be copied');
  const workspace = (await rapport.api('GET', '/api/v1/workspace')).body;
  assert.equal(workspace.identity_secret, fresh);
  const hours = (Date.parse(workspace.previous_identity_secret_expires_at) - Date.now()) / 3_600_000;
  assert.ok(hours > 47 && hours <= 48, `grace of ${hours} h`);
  await screenshot(page, 'settings-identity-rotated');

  // Both hashes boot during the grace period.
  const sign = (key, userId) => createHmac('sha256', key).update(userId).digest('hex');
  assert.equal((await boot({ user_id: 'u-rotate', user_hash: sign(old, 'u-rotate') })).status, 200);
  assert.equal((await boot({ user_id: 'u-rotate', user_hash: sign(fresh, 'u-rotate') })).status, 200);
  assert.equal((await boot({ user_id: 'u-rotate', user_hash: sign('not the secret', 'u-rotate') })).status, 401);

  // The note survives a reload.
  await page.reload();
  await page.getByTestId('identity-previous-note').waitFor();
  assert.deepEqual(injected, []);
  await context.close();
});

test('an admin removes a member after a confirmation; their sign-in and token stop at once', async () => {
  const member = await addMember('Linus Removed', 'linus@acme.test');
  const token = await rapport.api('POST', '/api/v1/tokens', { name: 'linus sync', agent_id: member.id });
  assert.equal(token.status, 201, JSON.stringify(token.body));
  const useToken = () => fetch(`${rapport.base}/api/v1/agents`, { headers: { authorization: `Bearer ${token.body.secret}` } });
  assert.equal((await useToken()).status, 200);
  const linus = await signInAs('linus@acme.test', 'first password');
  assert.equal(await sessionStatus(linus.page), 200);

  const { page, injected, context } = await signInToInbox(browser, rapport);
  await openSettings(page);
  const row = page.getByTestId('team-member').filter({ hasText: 'Linus Removed' });
  await row.waitFor();
  // Nobody removes the owner or themselves.
  const me = page.getByTestId('team-member').filter({ hasText: '(you)' });
  assert.equal(await me.getByTestId('member-remove').count(), 0);

  await row.getByTestId('member-remove').click();
  const confirm = row.getByTestId('member-remove-confirm');
  await confirm.waitFor();
  assert.match(await confirm.innerText(), /sign-ins and API tokens stop working at once/);
  // The focus is on the confirming button: Enter removes.
  await page.keyboard.press('Enter');
  await row.waitFor({ state: 'detached' });

  const agents = await rapport.api('GET', '/api/v1/agents');
  const list = Array.isArray(agents.body) ? agents.body : agents.body.data;
  assert.equal(list.some((agent) => agent.id === member.id), false);
  assert.equal((await useToken()).status, 401, 'the token stopped');
  assert.equal(await sessionStatus(linus.page), 401, 'the sign-in stopped');
  // Their Inbox, on its next request, goes back to the sign-in page.
  await linus.page.getByTestId('nav-settings').click();
  await linus.page.getByTestId('signin-form').waitFor();
  assert.deepEqual(injected, []);
  assert.deepEqual(linus.injected, []);
  await linus.context.close();
  await context.close();
});

test('a member changes their password: field errors from the server, other sign-ins end, the new one works', async () => {
  await addMember('Ada Agent', 'ada@acme.test', 'agent', 'old password');
  const elsewhere = await signInAs('ada@acme.test', 'old password');
  const { page, injected, context } = await signInAs('ada@acme.test', 'old password');
  await openSettings(page);
  // An agent sees no Remove buttons, but has their own password form.
  assert.equal(await page.getByTestId('member-remove').count(), 0);
  const form = page.getByTestId('password-form');
  await form.waitFor();

  // The wrong current password: the server's 422 lands beside that field.
  await page.getByTestId('password-current').fill('not my password');
  await page.getByTestId('password-new').fill('new password 1');
  await page.getByTestId('password-confirm').fill('new password 1');
  await page.getByTestId('password-submit').click();
  const currentError = form.locator('[data-error-for="current_password"]');
  await currentError.filter({ hasText: /current password/ }).waitFor();
  assert.equal(await page.getByTestId('password-current').getAttribute('aria-invalid'), 'true');
  await screenshot(page, 'settings-password-error');

  // A confirmation that does not match is caught before sending.
  await page.getByTestId('password-current').fill('old password');
  await page.getByTestId('password-confirm').fill('new password 2');
  await page.getByTestId('password-submit').click();
  await form.locator('[data-error-for="confirm_password"]').filter({ hasText: /match/ }).waitFor();

  await page.getByTestId('password-confirm').fill('new password 1');
  await page.getByTestId('password-submit').click();
  await page.getByTestId('password-saved').filter({ hasText: 'Password changed' }).waitFor();
  assert.equal(await sessionStatus(page), 200, 'this browser stays signed in');
  assert.equal(await sessionStatus(elsewhere.page), 401, 'the other sign-in ended');

  // Signing in again: the old password fails, the new one works.
  await page.getByTestId('sign-out').click();
  await page.getByTestId('signin-email').fill('ada@acme.test');
  await page.getByTestId('signin-password').fill('old password');
  await page.getByTestId('signin-submit').click();
  await page.locator('[data-testid="signin-form"] [data-form-error]').filter({ hasText: /Wrong email or password/ }).waitFor();
  await page.getByTestId('signin-password').fill('new password 1');
  await page.getByTestId('signin-submit').click();
  await page.getByTestId('conversation-list').waitFor();
  assert.deepEqual(injected, []);
  await elsewhere.context.close();
  await context.close();
});

test('a property is closed to the messenger until an admin opens it', async () => {
  const { page, injected, context } = await signInToInbox(browser, rapport);
  await openSettings(page);
  const section = page.getByTestId('properties-section');
  await section.waitFor();
  assert.match(await section.innerText(), /closed to the messenger/);

  // A name the server would refuse is caught beside the field.
  await page.getByTestId('property-name').fill('has space');
  await page.getByTestId('property-submit').click();
  await section.locator('[data-error-for="name"]').filter({ hasText: /letters, digits/ }).waitFor();

  await page.getByTestId('property-name').fill('favourite_color');
  await page.getByTestId('property-type').selectOption('string');
  await page.getByTestId('property-submit').click();
  const row = page.locator('[data-testid="property-row"][data-property="favourite_color"]');
  await row.waitFor();
  assert.equal(await row.getByTestId('property-writable').isChecked(), false, 'off for a new property');
  const refused = await boot({ props: { favourite_color: 'green' } });
  assert.equal(refused.status, 422);
  assert.ok((await refused.json()).errors.some((e) => e.field === 'props.favourite_color'));

  await row.locator('label.switch').click();
  await row.filter({ hasText: 'Visitors may set it' }).waitFor();
  const settings = await rapport.api('GET', '/api/v1/people/properties');
  assert.equal(settings.body.find((p) => p.name === 'favourite_color')?.messenger_writable, true);
  assert.equal((await boot({ props: { favourite_color: 'green' } })).status, 200);
  await screenshot(page, 'settings-properties');

  // Still open after a reload.
  await page.reload();
  await page.locator('[data-testid="property-row"][data-property="favourite_color"] [data-testid="property-writable"]:checked').waitFor();
  assert.deepEqual(injected, []);
  await context.close();
});

test('an email the visitor typed is marked unverified on the profile; one the business set is not', async () => {
  const booted = await (await boot({})).json();
  const update = await fetch(`${rapport.base}/widget/v1/update`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${booted.session}` },
    body: JSON.stringify({ email: 'typed@visitor.test', name: 'Typed Visitor' }),
  });
  assert.equal(update.status, 200);
  const vouched = await rapport.api('POST', '/api/v1/contacts', { email: 'known@customer.test', name: 'Known Customer' });
  assert.ok([200, 201].includes(vouched.status));
  assert.equal((await rapport.api('GET', `/api/v1/contacts/${booted.contact.id}`)).body.email_verified, false);

  const { page, injected, context } = await signInToInbox(browser, rapport);
  await page.evaluate((id) => { location.hash = `#/contacts/${encodeURIComponent(id)}`; }, booted.contact.id);
  await page.getByTestId('contact-email').filter({ hasText: 'typed@visitor.test' }).waitFor();
  const chip = page.getByTestId('email-unverified').first();
  await chip.waitFor();
  assert.match(await chip.innerText(), /unverified: typed by the visitor/);
  await screenshot(page, 'contact-unverified-email');

  await page.evaluate((id) => { location.hash = `#/contacts/${encodeURIComponent(id)}`; }, vouched.body.id);
  await page.getByTestId('contact-email').filter({ hasText: 'known@customer.test' }).waitFor();
  assert.equal(await page.getByTestId('email-unverified').count(), 0);
  assert.deepEqual(injected, []);
  await context.close();
});

test('a retention period is saved, refused beside the field when out of range, and back to 0 keeps everything', async () => {
  const { page, injected, context } = await signInToInbox(browser, rapport);
  await openSettings(page);
  const input = page.getByTestId('settings-retention');
  assert.equal(await input.inputValue(), '0', 'kept by default');
  const form = page.locator('form[data-form="retention"]');
  await input.fill('99999');
  await page.getByTestId('settings-save-retention').click();
  await form.locator('[data-error-for="retention_days"]').filter({ hasText: /3650/ }).waitFor();
  await input.fill('365');
  await page.getByTestId('settings-save-retention').click();
  for (let i = 0; i < 50; i++) {
    if ((await rapport.api('GET', '/api/v1/workspace')).body.retention_days === 365) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal((await rapport.api('GET', '/api/v1/workspace')).body.retention_days, 365);
  await page.reload();
  await openSettings(page);
  assert.equal(await page.getByTestId('settings-retention').inputValue(), '365');
  await page.getByTestId('settings-retention').fill('0');
  await page.getByTestId('settings-save-retention').click();
  for (let i = 0; i < 50; i++) {
    if ((await rapport.api('GET', '/api/v1/workspace')).body.retention_days === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal((await rapport.api('GET', '/api/v1/workspace')).body.retention_days, 0);
  assert.deepEqual(injected, []);
  await context.close();
});

test('attachments: an admin turns every kind off, and neither the widget on the demo page nor the Inbox offers files', async () => {
  const workspace = (await rapport.api('GET', '/api/v1/workspace')).body;
  const ceiling = workspace.attachments.server_max_bytes;
  // The server names the field the form shows its refusal beside.
  const refused = await rapport.api('PATCH', '/api/v1/workspace', { attachments: { max_bytes: ceiling + 1 } });
  assert.equal(refused.status, 422);
  assert.ok(JSON.stringify(refused.body).includes('attachments.max_bytes'), JSON.stringify(refused.body));

  const { page, injected, context } = await signInToInbox(browser, rapport);
  await openSettings(page);
  const max = page.getByTestId('settings-attachments-max-mb');
  assert.equal(Number(await max.inputValue()), ceiling / (1024 * 1024));
  const form = page.locator('form[data-form="attachments"]');
  await max.fill(String(ceiling / (1024 * 1024) + 1));
  await page.getByTestId('settings-attachments-save').click();
  await form.locator('[data-error-for="attachments.max_bytes"]').filter({ hasText: /this server's limit/ }).waitFor();
  assert.equal(await max.getAttribute('aria-invalid'), 'true');

  await max.fill('2');
  for (const kind of ['image', 'pdf', 'text', 'zip', 'office']) {
    const box = page.getByTestId(`settings-attachments-kind-${kind}`);
    assert.equal(await box.isChecked(), true, `${kind} is taken by default`);
    await box.uncheck();
  }
  await page.getByTestId('settings-attachments-save').click();
  await form.locator('[data-saved]').filter({ hasText: /attachments are off/ }).waitFor();
  const saved = (await rapport.api('GET', '/api/v1/workspace')).body.attachments;
  assert.deepEqual([saved.max_bytes, saved.kinds], [2 * 1024 * 1024, []]);
  await screenshot(page, 'settings-attachments-off');

  // The demo page's widget boots without an attach button; a message still goes.
  const demo = await context.newPage();
  await demo.goto(`${rapport.base}/try?app_id=${encodeURIComponent(rapport.boot.app_id)}`);
  await demo.getByTestId('try-open-chat').click();
  const messenger = demo.locator('[data-testid="rapport-frame"]').contentFrame();
  const composer = messenger.getByTestId('messenger-composer');
  await composer.waitFor();
  assert.equal(await messenger.getByTestId('widget-attach-button').isHidden(), true);
  const started = demo.waitForResponse((r) => r.url().endsWith('/widget/v1/conversations') && r.request().method() === 'POST');
  await composer.fill('No files here');
  await composer.press('Enter');
  const { conversation } = await (await started).json();

  // The Inbox's composer has no paperclip either.
  await page.bringToFront();
  await page.evaluate((id) => { location.hash = `#/conversations/${encodeURIComponent(id)}`; }, conversation.id);
  await page.getByTestId('composer-input').waitFor();
  assert.equal(await page.getByTestId('attach-button').isHidden(), true);

  const restored = await rapport.api('PATCH', '/api/v1/workspace', { attachments: { max_bytes: ceiling, kinds: workspace.attachments.kinds } });
  assert.equal(restored.status, 200);
  assert.deepEqual(injected, []);
  await context.close();
});
