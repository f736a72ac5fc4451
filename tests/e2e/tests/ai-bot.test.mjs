// The AI bot with a visitor, in Chromium: it answers a question from the
// knowledge base with a link to the help center and asks whether that
// helped, says it is not sure about one it cannot answer, and hands the
// visitor over to a person, whom the Inbox shows the conversation, bot's
// exchange and all.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root, startRapport, startHostSite, launchBrowser, watchForInjection, screenshot, signInToInbox } from '../harness.mjs';

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

// A few articles of the sample knowledge base (a fictional booking app).
const ARTICLES = [
  'reset-your-password', 'change-your-login-email', 'two-factor-authentication', 'refund-a-payment',
  'cancel-a-booking', 'connect-stripe-or-paypal', 'take-deposits', 'update-payment-method',
];

function sampleFiles() {
  const dir = join(root, 'samples', 'knowledge-base', 'articles');
  return ARTICLES.map((slug) => ({ name: `${slug}.md`, content: readFileSync(join(dir, `${slug}.md`), 'utf8') }));
}

test('the bot answers with a help center link, admits what it does not know, and hands over to a person', async () => {
  const files = sampleFiles();
  const imported = await rapport.api('POST', '/api/v1/articles/import', { files });
  assert.equal(imported.status, 200, JSON.stringify(imported.body));
  assert.equal(imported.body.created, files.length);
  const on = await rapport.api('PUT', '/api/v1/bot/settings', {
    enabled: true, name: 'Tidy', threshold: 0.5, handover_to: { agent: rapport.boot.owner_id },
  });
  assert.equal(on.status, 200, JSON.stringify(on.body));

  const site = await startHostSite(rapport);
  const visitorContext = await browser.newContext();
  const visitor = await visitorContext.newPage();
  const injected = await watchForInjection(visitor);
  try {
    await visitor.goto(site.url);
    await visitor.getByTestId('rapport-launcher').click();
    const messenger = visitor.frameLocator('[data-testid="rapport-frame"]');
    const composer = messenger.getByTestId('messenger-composer');
    const part = (text) => messenger.getByTestId('messenger-part').filter({ hasText: text });
    const bot = (text) => messenger.locator('[data-testid="messenger-part"][data-author-type="bot"]').filter({ hasText: text });

    // (a) A question the articles answer: the passage, "Read more" linking
    // the article's help center page, then "Did that help?" with buttons.
    await composer.fill('How do I reset my password?');
    await composer.press('Enter');
    await part('How do I reset my password?').waitFor();
    const answer = bot('Forgot password?');
    await answer.waitFor({ timeout: 15_000 });
    const readMore = answer.getByRole('link', { name: /Read more/ });
    const href = await readMore.getAttribute('href');
    assert.ok(href.includes(`/help/${rapport.boot.app_id}/articles/reset-your-password`), href);
    assert.equal(await readMore.getAttribute('target'), '_blank');
    await bot('Did that help?').waitFor({ timeout: 15_000 });
    const buttons = messenger.locator('[data-testid="messenger-reply-buttons"]:not([data-chosen]) [data-testid="messenger-reply-button"]');
    await buttons.first().waitFor();
    assert.deepEqual(await buttons.allInnerTexts(), ['Yes, thanks', 'No', 'Talk to a person']);
    await screenshot(visitor, 'ai-bot-answer');

    // The link's page: the article in the help center.
    const helpPage = await visitorContext.newPage();
    const opened = await helpPage.goto(href);
    assert.equal(opened.status(), 200);
    assert.equal(await helpPage.getByRole('heading', { level: 1 }).innerText(), 'Reset your password');
    assert.match(await helpPage.title(), /^Reset your password · Acme help center$/);
    await helpPage.close();

    // (b) One they do not: it would rather not guess, and offers a person.
    await composer.fill('Can customers pay with cryptocurrency?');
    await composer.press('Enter');
    const unsure = bot('not sure');
    await unsure.waitFor({ timeout: 15_000 });
    assert.match(await unsure.innerText(), /rather not guess/);
    const person = buttons.filter({ hasText: 'Talk to a person' });
    await person.waitFor();
    assert.equal(await buttons.count(), 1, 'only a person is offered');

    // (c) Asked for, a person: the bot says so and leaves.
    await person.click();
    await messenger.locator('[data-testid="messenger-part"][data-author-type="contact"]').filter({ hasText: 'Talk to a person' }).waitFor();
    await bot('passing you to the team').waitFor({ timeout: 15_000 });
    await screenshot(visitor, 'ai-bot-handover');

    // (d) Grace finds it assigned to her in the Inbox, with the bot's exchange above.
    const list = await rapport.api('GET', '/api/v1/conversations');
    const conversation = list.body.data.find((c) => c.last_part?.body?.includes('passing you to the team'));
    assert.ok(conversation, 'the handed-over conversation is listed');
    assert.equal(conversation.assignee_id, rapport.boot.owner_id);
    const agent = await signInToInbox(browser, rapport);
    try {
      const row = agent.page.locator(`[data-testid="conversation-row"][data-conversation-id="${conversation.id}"]`);
      await row.waitFor({ timeout: 15_000 });
      await row.locator('.assignee-chip').filter({ hasText: 'Grace Hopper' }).waitFor();
      assert.equal(await row.getByTestId('with-bot-marker').count(), 0, 'the bot has left it');
      await row.click();
      const thread = agent.page.getByTestId('thread');
      await thread.getByTestId('part').filter({ hasText: 'passing you to the team' }).waitFor();
      assert.equal(await agent.page.getByTestId('assign-select').inputValue(), rapport.boot.owner_id);
      const said = await thread.getByTestId('part').evaluateAll((parts) => parts.map((p) => [
        p.dataset.authorType, p.querySelector('.part-body')?.textContent.trim() ?? '',
      ]));
      const who = said.map(([type]) => type);
      assert.deepEqual(who, ['contact', 'bot', 'bot', 'contact', 'bot', 'contact', 'bot'], JSON.stringify(said));
      assert.equal(said[0][1], 'How do I reset my password?');
      assert.match(said[1][1], /Forgot password\?/);
      assert.equal(said[2][1], 'Did that help?');
      assert.equal(said[3][1], 'Can customers pay with cryptocurrency?');
      assert.match(said[4][1], /not sure/);
      assert.equal(said[5][1], 'Talk to a person');
      assert.match(said[6][1], /passing you to the team/);
      // The answer's article is linked in the Inbox too.
      const source = thread.getByTestId('source-link').first();
      assert.match(await source.innerText(), /Reset your password/);
      assert.ok((await source.locator('a').first().getAttribute('href')).includes('/articles/reset-your-password'));
      await screenshot(agent.page, 'ai-bot-inbox');
      assert.deepEqual(agent.injected, []);
    } finally {
      await agent.context.close();
    }
    assert.deepEqual(injected, []);
  } finally {
    await visitorContext.close();
    await site.stop();
  }
});
