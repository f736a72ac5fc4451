// Reports in Chromium: two visitors start conversations in the widget and
// the team starts one; the team answers and closes one of the visitors'
// and the visitor rates it great. The Reports page's totals, today's bar
// among the last 30 days, the channels, the members, and the CSV (the
// page's link, signed in by cookie, and the API with a token) agree.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { withServerAndBrowser, signInToInbox, screenshot } from '../harness.mjs';

const env = withServerAndBrowser();

/** An anonymous visitor starts a conversation through the widget API: `{session, conversationId}`. */
async function visitorWrites(body) {
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
  return { session: booted.session, conversationId: conversation.id };
}

/** The `report-bar`s of one chart as `{key: value}` for one series. */
function barValues(page, chart, series) {
  return page.getByTestId(chart).locator(`[data-testid="report-bar"][data-series="${series}"]`)
    .evaluateAll((bars) => Object.fromEntries(bars.map((bar) => [bar.dataset.key, bar.dataset.value ?? null])));
}

/** CSV text as rows of cells (the labels here have no commas or quotes inside). */
const csvRows = (text) => text.trim().split(/\r?\n/).map((line) => line.split(',').map((cell) => cell.replace(/^"|"$/g, '')));

test('the Reports page counts new conversations, first responses, closes and ratings, by day and by channel', async () => {
  // Seed: two visitors write; the team writes to Ada; the first visitor is answered, closed, and rates it great.
  const first = await visitorWrites('Where is my parcel?');
  await visitorWrites('Do you ship to Norway?');
  const ada = await env.rapport.api('POST', '/api/v1/contacts', { user_id: 'ada', name: 'Ada' });
  assert.equal(ada.status, 201, JSON.stringify(ada.body));
  const sent = await env.rapport.api('POST', '/api/v1/messages', { contact_id: ada.body.id, body: 'Your invoice is ready.' });
  assert.equal(sent.status, 201, JSON.stringify(sent.body));
  const reply = await env.rapport.api('POST', `/api/v1/conversations/${first.conversationId}/reply`, { body: 'It left our warehouse today.' });
  assert.ok(reply.status < 300, JSON.stringify(reply.body));
  const closed = await env.rapport.api('POST', `/api/v1/conversations/${first.conversationId}/close`, {});
  assert.ok(closed.status < 300, JSON.stringify(closed.body));
  const rated = await fetch(`${env.rapport.base}/widget/v1/conversations/${first.conversationId}/rating`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${first.session}` },
    body: JSON.stringify({ score: 3 }),
  });
  assert.ok(rated.status < 300, `rating: ${rated.status}`);

  const { page, injected, context } = await signInToInbox(env.browser, env.rapport);
  // Today and the offset as the page counts them (the browser's time zone).
  const { today, offset } = await page.evaluate(() => {
    const d = new Date();
    const pad = (n) => String(n).padStart(2, '0');
    return { today: `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`, offset: -d.getTimezoneOffset() };
  });

  // The server refuses a period that ends before it starts, naming `to`.
  const backwards = await env.rapport.api('GET', `/api/v1/reports?from=${today}&to=2000-01-01&by=day&offset_minutes=${offset}`);
  assert.equal(backwards.status, 422);
  assert.ok(backwards.body.errors.some((e) => e.field === 'to'), JSON.stringify(backwards.body));

  await page.getByTestId('nav-reports').click();
  await page.getByTestId('reports-view').waitFor();
  assert.equal(await page.getByTestId('nav-reports').getAttribute('aria-current'), 'page');
  assert.equal(await page.getByTestId('report-period').inputValue(), '30');
  assert.equal(await page.getByTestId('report-group').inputValue(), 'day');
  assert.equal(await page.getByTestId('report-to').inputValue(), today);

  // The totals.
  await page.locator('[data-testid="report-total-new"][data-count="3"]').waitFor({ timeout: 15_000 });
  assert.match(await page.getByTestId('report-total-new').innerText(), /\b3\b/);
  assert.equal(await page.getByTestId('report-total-first-response').getAttribute('data-count'), '1');
  assert.match(await page.getByTestId('report-total-first-response').innerText(), /\d+ (s|min)[\s\S]*90th percentile[\s\S]*Median of 1 first response\b/);
  assert.equal(await page.getByTestId('report-total-close').getAttribute('data-count'), '1');
  assert.match(await page.getByTestId('report-total-close').innerText(), /Median of 1 closed conversation\b/);
  assert.equal(await page.getByTestId('report-total-ratings').getAttribute('data-count'), '1');
  const ratingsText = await page.getByTestId('report-total-ratings').innerText();
  assert.match(ratingsText, /100% great/);
  assert.match(ratingsText, /1 rating\b/);
  assert.match(ratingsText, /0 bad · 0 OK · 1 great/);
  assert.equal(await page.getByTestId('report-error').innerText(), '');

  // New conversations: thirty days, today's bar 3 and every other day's 0.
  const perDay = await barValues(page, 'report-chart-new', 'new');
  assert.equal(Object.keys(perDay).length, 30);
  assert.equal(perDay[today], '3');
  assert.deepEqual(Object.entries(perDay).filter(([day]) => day !== today).map(([, value]) => value), Array(29).fill('0'));
  assert.equal(await page.getByTestId('report-chart-new').getAttribute('role'), 'img');
  assert.match(await page.getByTestId('report-chart-new').getAttribute('aria-label'), /3 new conversations in all/);
  // Today's first response and close have a median; the other days none. Today's rating is great.
  const medians = await barValues(page, 'report-chart-first-response', 'median');
  assert.match(medians[today] ?? '', /^\d+(\.\d+)?$/);
  assert.deepEqual(Object.entries(medians).filter(([day, value]) => day !== today && value !== null), []);
  assert.match((await barValues(page, 'report-chart-close', 'median'))[today] ?? '', /^\d+(\.\d+)?$/);
  const great = await barValues(page, 'report-chart-ratings', 'great');
  assert.equal(great[today], '1');
  // The table: a row a day, and the total.
  const table = page.getByTestId('report-table');
  assert.equal(await table.locator('[data-testid="report-row"]').count(), 30);
  assert.equal(await table.locator(`[data-testid="report-row"][data-key="${today}"] td`).first().innerText(), '3');
  assert.equal(await table.locator('[data-testid="report-row-total"] td').first().innerText(), '3');
  await screenshot(page, 'reports-by-day');

  // By channel: the visitors' two in Widget, Ada's in Team, nothing elsewhere.
  await page.getByTestId('report-group').selectOption('channel');
  await page.locator('[data-testid="report-chart-new"] [data-testid="report-bar"][data-key="widget"]').waitFor();
  assert.deepEqual(await barValues(page, 'report-chart-new', 'new'), { widget: '2', team: '1', bulk: '0', automation: '0', bot: '0' });
  assert.deepEqual(await table.locator('[data-testid="report-row"] th').allInnerTexts(), ['Widget', 'Team', 'Bulk send', 'Automation', 'AI bot']);

  // The CSV link, signed in by the page's cookie, downloads what the API gives a token.
  const href = await page.getByTestId('report-csv').getAttribute('href');
  assert.equal(href, `/api/v1/reports/csv?from=${await page.getByTestId('report-from').inputValue()}&to=${today}&by=channel&offset_minutes=${offset}`);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('report-csv').click()]);
  const downloaded = await readFile(await download.path(), 'utf8');
  const response = await fetch(`${env.rapport.base}${href}`, { headers: { authorization: `Bearer ${env.rapport.boot.api_token}` } });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/csv/);
  assert.match(response.headers.get('content-disposition') ?? '', /^attachment/);
  const csv = await response.text();
  assert.equal(downloaded, csv);
  const rows = csvRows(csv);
  assert.equal(rows.length, 1 + 5 + 1, 'a header, the five channels, the total');
  const newColumn = rows[0].findIndex((name) => /new/i.test(name));
  assert.ok(newColumn >= 0, `a column of new conversations in ${rows[0]}`);
  const total = rows.at(-1);
  assert.ok(total.includes('Total'), `the last row is the total: ${total}`);
  assert.equal(total[newColumn], '3');
  assert.equal(rows.find((row) => row.includes('widget') || row.includes('Widget'))?.[newColumn], '2');

  // By member: the first response counts under Grace, who answered it.
  await page.getByTestId('report-group').selectOption('member');
  const grace = env.rapport.boot.owner_id;
  // Attached, not necessarily visible: an answer within a second is a
  // median of 0 s, a bar of no height.
  await page.locator(`[data-testid="report-chart-first-response"] [data-testid="report-bar"][data-key="${grace}"]`).first().waitFor({ state: 'attached' });
  assert.match((await barValues(page, 'report-chart-first-response', 'median'))[grace] ?? '', /^\d+(\.\d+)?$/);
  assert.equal(await table.locator(`[data-testid="report-row"][data-key="${grace}"] th`).innerText(), 'Grace Hopper');

  // Another period asks again: the last 7 days still hold today's three.
  await page.getByTestId('report-group').selectOption('day');
  await page.getByTestId('report-period').selectOption('7');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="report-chart-new"] [data-testid="report-bar"]').length === 7);
  assert.equal((await barValues(page, 'report-chart-new', 'new'))[today], '3');
  assert.deepEqual(injected, []);
  await context.close();
});
