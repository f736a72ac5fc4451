// The knowledge base and the AI bot, in Chromium: writing an article,
// its revisions (viewing one, restoring it), searching, importing Markdown
// files and exporting them, deleting; the bot's settings and report; a
// suggested reply in the composer; and the messenger's "Search help".

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startRapport, startHostSite, launchBrowser, watchForInjection, screenshot, signInToInbox } from '../harness.mjs';

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

const canary = '<img src=x onerror="window.__injected(\'kb\')">';

async function openKnowledge(page) {
  await page.getByTestId('nav-knowledge').click();
  await page.getByTestId('knowledge-view').waitFor();
}

/** Types `query` in a search box until `found` shows (the index may lag a write). */
async function searchUntil(box, query, found) {
  for (let i = 0; i < 30; i++) {
    await box.fill('');
    await box.fill(query);
    try {
      await found.first().waitFor({ timeout: 1000 });
      return;
    } catch {
      // not indexed yet
    }
  }
  throw new Error(`nothing found for ${query}`);
}

test('an article is written, revised, restored, found, and deleted', async () => {
  const { page, injected, context } = await signInToInbox(browser, rapport);
  await openKnowledge(page);
  await page.getByTestId('article-new').click();
  await page.getByTestId('article-view').waitFor();

  // Faults are shown by their fields before anything is sent.
  await page.getByTestId('article-save').click();
  await page.locator('#article-title-error').filter({ hasText: 'title' }).waitFor();

  await page.getByTestId('article-title').fill(`Reset your password ${canary}`);
  await page.getByTestId('article-collection').fill('Account');
  await page.getByTestId('article-status-select').selectOption('published');
  await page.getByTestId('article-body').fill('Open **Settings**.\n\n## Forgot it\nUse the reset link on the sign-in page.');
  // The preview follows the body on the next animation frame (keystrokes in between are drawn once).
  const preview = page.getByTestId('article-preview');
  await preview.locator('strong').filter({ hasText: 'Settings' }).waitFor();
  assert.match(await preview.innerHTML(), /<strong>Settings<\/strong>/);
  assert.equal(await preview.getByRole('heading', { name: 'Forgot it' }).count(), 1);
  await page.getByTestId('article-save').click();
  await page.getByTestId('article-revisions').waitFor();
  assert.match(page.url(), /#\/knowledge\/[^/]+$/);
  assert.equal(await page.getByTestId('article-revision').count(), 1);

  // A second revision, saved with Ctrl+S.
  await page.getByTestId('article-body').fill('Open **Settings** and choose Security.\n\n## Forgot it\nUse the reset link on the sign-in page.');
  assert.equal((await page.getByTestId('article-dirty').innerText()).trim(), 'Unsaved changes');
  await page.getByTestId('article-body').press('Control+s');
  await page.getByText('Saved as revision 2').waitFor();
  await page.getByTestId('article-revision').nth(1).waitFor();

  // Revision 1, viewed and restored (as revision 3).
  await page.getByTestId('article-revision').nth(1).click();
  await page.getByTestId('article-revision-view').waitFor();
  assert.doesNotMatch(await page.getByTestId('article-revision-body').innerText(), /Security/);
  await page.getByTestId('article-restore').click();
  await page.getByTestId('article-revision').nth(2).waitFor();
  assert.doesNotMatch(await page.getByTestId('article-body').inputValue(), /Security/);
  assert.match(await page.getByTestId('article-status-badge').innerText(), /Published/);

  // The list, filtered; the search finds its passage.
  await page.locator('.breadcrumbs a').click();
  await page.getByTestId('article-row').first().waitFor();
  await page.getByTestId('kb-filter-status').selectOption('draft');
  await page.getByTestId('articles-empty').waitFor();
  await page.getByTestId('kb-filter-status').selectOption('published');
  await page.getByTestId('article-row').first().waitFor();
  await searchUntil(page.getByTestId('kb-search'), 'reset link sign-in', page.getByTestId('kb-search-result'));
  assert.match(await page.getByTestId('kb-search-result').first().innerText(), /Reset your password/);
  await screenshot(page, 'knowledge-search');
  await page.getByTestId('kb-search').press('Escape');
  await page.getByTestId('articles-table').waitFor();

  // Deleted after a confirmation.
  await page.getByTestId('article-row').first().locator('a').click();
  await page.getByTestId('article-delete').click();
  await page.getByTestId('article-delete-confirm').waitFor();
  await page.keyboard.press('Escape');
  assert.equal(await page.getByTestId('article-delete-confirm').count(), 0);
  await page.getByTestId('article-delete').click();
  await page.getByTestId('article-delete-confirm-button').click();
  await page.getByTestId('knowledge-view').waitFor();
  await page.getByTestId('articles-empty').waitFor();

  assert.deepEqual(injected, []);
  await context.close();
});

test('Markdown files are imported (chosen or again: unchanged) and exported as JSON', async () => {
  const { page, context } = await signInToInbox(browser, rapport);
  await openKnowledge(page);
  const files = [
    { name: 'shipping-times.md', mimeType: 'text/markdown', buffer: Buffer.from('---\ntitle: Shipping times\ncollection: Orders\nlanguage: en\nstatus: published\n---\nOrders ship within two days.\n') },
    { name: 'Returns Policy.md', mimeType: 'text/markdown', buffer: Buffer.from('---\ntitle: Returns\ncollection: Orders\nstatus: draft\n---\nReturn within 30 days.\n') },
    { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not an article') },
  ];
  await page.getByTestId('kb-import-file').setInputFiles(files);
  const result = page.getByTestId('kb-import-result');
  await result.waitFor();
  assert.match(await result.innerText(), /Imported 2 files: 2 created, 0 updated, 0 unchanged\./);
  assert.match(await page.getByTestId('kb-import-skipped').innerText(), /notes\.txt/);
  await page.getByTestId('article-row').nth(1).waitFor();

  await page.getByTestId('kb-import-file').setInputFiles(files.slice(0, 2));
  // (The same words go to the screen reader announcer too: the result's are the ones shown.)
  await result.filter({ hasText: '0 created, 0 updated, 2 unchanged.' }).waitFor();

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('kb-export').click()]);
  assert.match(download.suggestedFilename(), /^knowledge-base-\d{4}-\d{2}-\d{2}\.json$/);
  const exported = JSON.parse(readFileSync(await download.path(), 'utf8'));
  assert.deepEqual(exported.files.map((f) => f.name).sort(), ['returns-policy.md', 'shipping-times.md']);
  await context.close();
});

test('the AI bot: its settings, what it runs with, its report, and a suggested reply', async () => {
  const { page, injected, context } = await signInToInbox(browser, rapport);
  await page.getByTestId('nav-settings').click();
  const section = page.getByTestId('bot-section');
  await section.waitFor();
  await page.getByTestId('bot-name').waitFor();
  assert.match(await page.getByTestId('bot-retrieval').innerText(), /Keywords only \(BM25\)|Keywords \+ embeddings \(hybrid\)/);
  await page.getByTestId('bot-llm').waitFor();

  await page.getByTestId('bot-enabled').check();
  await page.getByTestId('bot-name').fill('Ada');
  await page.getByTestId('bot-threshold').fill('0.3');
  assert.equal(await page.getByTestId('bot-threshold-value').innerText(), '0.30');
  await page.getByTestId('bot-languages').fill('en, nonsense-language-tag');
  await page.getByTestId('bot-save').click();
  await page.locator('#bot-languages-error').filter({ hasText: 'nonsense' }).waitFor();
  await page.getByTestId('bot-languages').fill('EN, de');
  await page.getByTestId('bot-handover').selectOption('nobody');
  await page.getByTestId('bot-save').click();
  await section.getByText('Saved').waitFor();
  const saved = await rapport.api('GET', '/api/v1/bot/settings');
  assert.equal(saved.status, 200);
  assert.equal(saved.body.settings.name, 'Ada');
  assert.equal(saved.body.settings.threshold, 0.3);
  assert.deepEqual(saved.body.settings.languages, ['en', 'de']);
  assert.equal(saved.body.settings.handover_to, 'nobody');
  await page.getByTestId('bot-report-stats').waitFor();
  // Off again, so that the conversation below is the team's to answer.
  const off = await rapport.api('PUT', '/api/v1/bot/settings', { ...saved.body.settings, enabled: false });
  assert.equal(off.status, 200, JSON.stringify(off.body));

  // A suggested reply for a visitor's question, or a plain "nothing answers this".
  const created = await rapport.api('POST', '/api/v1/articles', {
    title: 'Opening hours', collection: 'General', language: 'en', status: 'published',
    body: 'We are open from nine to five, Monday to Friday.',
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const site = await startHostSite(rapport);
  const visitor = await (await browser.newContext()).newPage();
  await visitor.goto(site.url);
  await visitor.getByTestId('rapport-launcher').click();
  const messenger = visitor.frameLocator('[data-testid="rapport-frame"]');
  await messenger.getByTestId('messenger-composer').fill('What are your opening hours?');
  await messenger.getByTestId('messenger-composer').press('Enter');

  let conversation = null;
  for (let i = 0; i < 50 && !conversation; i++) {
    const list = await rapport.api('GET', '/api/v1/conversations');
    conversation = list.body.data.find((c) => c.last_part?.body === 'What are your opening hours?');
    if (!conversation) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(conversation, 'the visitor started a conversation');
  await page.evaluate((id) => { location.hash = `#/conversations/${id}`; }, conversation.id);
  await page.getByTestId('composer-input').waitFor();
  await page.getByTestId('suggest-reply').click();
  await page.locator('[data-testid="suggest-sources"], [data-testid="suggest-none"]').first().waitFor();
  if (await page.getByTestId('suggest-sources').count()) {
    assert.notEqual(await page.getByTestId('composer-input').inputValue(), '');
    assert.match(await page.getByTestId('suggest-sources').innerText(), /Opening hours/);
  } else {
    assert.match(await page.getByTestId('suggest-none').innerText(), /Nothing in the knowledge base answers this confidently/);
  }

  // The messenger's help search finds the article and opens it in a new tab.
  await messenger.getByTestId('messenger-help-button').click();
  const box = messenger.getByTestId('messenger-help-input');
  await box.waitFor();
  await searchUntil(box, 'opening hours', messenger.getByTestId('messenger-help-result'));
  const link = messenger.getByTestId('messenger-help-result').first();
  assert.match(await link.innerText(), /Opening hours/);
  assert.equal(await link.getAttribute('target'), '_blank');
  assert.match(await link.getAttribute('rel'), /noopener/);
  await screenshot(visitor, 'messenger-help');

  assert.deepEqual(injected, []);
  await visitor.context().close();
  await site.stop();
  await context.close();
});
