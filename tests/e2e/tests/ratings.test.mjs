// Rating a conversation, in Chromium: the team closes it, the open widget
// asks at once (three faces), the visitor picks one and adds a comment,
// and the Inbox's thread shows the rating.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { withServerAndBrowser, startHostSite, watchForInjection, signInToInbox, screenshot } from '../harness.mjs';

const env = withServerAndBrowser();

test('after the team closes a conversation the visitor rates it, and the Inbox shows the rating', async () => {
  const site = await startHostSite(env.rapport);
  after(() => site.stop());
  const context = await env.browser.newContext();
  const page = await context.newPage();
  const injected = await watchForInjection(page);
  await page.goto(site.url);
  await page.getByTestId('rapport-launcher').click();
  const messenger = page.locator('[data-testid="rapport-frame"]').contentFrame();
  const composer = messenger.getByTestId('messenger-composer');
  await composer.fill('Where is my parcel?');
  await composer.press('Enter');
  await messenger.getByTestId('messenger-part').filter({ hasText: 'Where is my parcel?' }).waitFor();

  // Not asked while it is open.
  assert.equal(await messenger.getByTestId('messenger-rating').count(), 0);
  const list = (await env.rapport.api('GET', '/api/v1/conversations?status=open')).body.data;
  const id = list[0].id;
  await env.rapport.api('POST', `/api/v1/conversations/${id}/close`, {});

  // Closed: asked live.
  const rating = messenger.getByTestId('messenger-rating');
  await rating.waitFor({ timeout: 15_000 });
  assert.equal(await rating.getByTestId('messenger-rating-face').count(), 3);
  await rating.getByRole('button', { name: 'Great' }).click();
  await rating.getByTestId('messenger-rating-comment').fill('Found it, thanks!');
  await screenshot(page, 'widget-rating');
  await rating.getByTestId('messenger-rating-send').click();
  await messenger.getByTestId('messenger-rating-thanks').waitFor();

  const detail = (await env.rapport.api('GET', `/api/v1/conversations/${id}`)).body;
  assert.deepEqual([detail.rating.score, detail.rating.comment], [3, 'Found it, thanks!']);

  // The Inbox's thread says it.
  const agent = await signInToInbox(env.browser, env.rapport);
  await agent.page.goto(`${env.rapport.base}/#/conversations/${id}`);
  const line = agent.page.getByTestId('rating-line');
  await line.waitFor();
  assert.match(await line.innerText(), /rated this conversation great: “?Found it, thanks!/);
  assert.deepEqual(injected, []);
  assert.deepEqual(agent.injected, []);
  await agent.context.close();
  await context.close();
});
