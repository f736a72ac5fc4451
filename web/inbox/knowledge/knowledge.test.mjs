// Unit tests for the knowledge base's pure parts (the editor's request,
// slugs, the preview, search results, import files and batches) and the
// sources of bot answers: run with `node --test web/inbox/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  slugify, articleRequest, revisionRequest, isChanged, collectionsOf, articlePreview, searchResultView, clip, percent,
  importName, readImportFiles, importBatches, addCounts, importSummary, problemMessages, exportFileName, searchModeText,
  MAX_FILE_BYTES,
} from './articles.js';
import { sourceLinks } from '../ui/sources.js';

const markup = (fragment) => fragment.__html;

test('slugs are made as the server makes them', () => {
  assert.equal(slugify(' Reset your password! '), 'reset-your-password');
  assert.equal(slugify("Zoë's  café & bar"), 'zo-s-caf-bar');
  assert.equal(slugify('日本'), 'article');
  assert.equal(slugify('x'.repeat(120)).length, 80);
});

test('the editor values become the request, checked as the server checks them', () => {
  const ok = articleRequest({ title: '  Refunds ', collection: '', language: 'EN', status: 'published', slug: '', body: 'How to.' });
  assert.deepEqual(ok.errors, []);
  assert.deepEqual(ok.body, { title: 'Refunds', collection: 'General', language: 'en', status: 'published', body: 'How to.' });
  assert.equal(articleRequest({ title: 'A', body: 'b', slug: 'my-slug' }).body.slug, 'my-slug');
  assert.equal(articleRequest({ title: 'A', body: 'b', status: 'bogus' }).body.status, 'draft');
  const fields = (values) => articleRequest(values).errors.map((e) => e.field);
  assert.deepEqual(fields({ title: '', body: ' ', language: 'english', slug: 'Bad Slug' }), ['title', 'language', 'slug', 'body']);
  assert.deepEqual(fields({ title: 'x'.repeat(201), body: 'b' }), ['title']);
  assert.deepEqual(fields({ title: 'A', body: 'b', slug: '-edge' }), ['slug']);
  assert.deepEqual(fields({ title: 'A', body: 'b', language: 'pt-br' }), []);
});

test('a revision restores with all its fields', () => {
  const revision = { revision: 2, title: 'T', body: 'B', collection: 'C', language: 'de', status: 'draft', slug: 's', author_id: 'x', created_at: 'now' };
  assert.deepEqual(revisionRequest(revision), { title: 'T', body: 'B', collection: 'C', language: 'de', status: 'draft', slug: 's' });
});

test('unsaved changes are noticed', () => {
  const article = { title: 'T', collection: 'C', language: 'en', status: 'draft', slug: 't', body: 'B' };
  assert.equal(isChanged(article, { ...article }), false);
  assert.equal(isChanged(article, { ...article, body: 'B2' }), true);
});

test('collections are listed once each, by name, with the chosen one kept', () => {
  assert.deepEqual(collectionsOf([{ collection: 'b' }, { collection: 'a' }, { collection: 'b' }, {}], 'z'), ['a', 'b', 'z']);
});

test('the preview renders headings and Markdown, and escapes everything else', () => {
  const out = markup(articlePreview('Intro **bold**\n\n## Reset <it>\nSteps <script>x</script>'));
  assert.match(out, /<strong>bold<\/strong>/);
  assert.match(out, /role="heading" aria-level="4">Reset &lt;it&gt;</);
  assert.match(out, /Steps &lt;script&gt;x&lt;\/script&gt;/);
  assert.doesNotMatch(out, /<script>|<it>/);
});

test('a search result links to the article and, when safe, the help center page; all text escaped', () => {
  const hit = { article_id: 'a"1', title: 'Pay <b>', heading: '<i>h</i>', text: 'Use **Stripe** <img>', confidence: 0.834, url: 'https://x.example/help/a/articles/pay', collection: 'Billing', language: 'en' };
  const out = markup(searchResultView(hit));
  assert.match(out, /href="#\/knowledge\/a%221"/);
  assert.match(out, /Pay &lt;b&gt;/);
  assert.match(out, /&lt;i&gt;h&lt;\/i&gt;/);
  assert.match(out, /Use Stripe &lt;img&gt;/);
  assert.match(out, />83%</);
  assert.match(out, /href="https:\/\/x\.example\/help\/a\/articles\/pay"\s+target="_blank" rel="noopener noreferrer"/);
  assert.doesNotMatch(markup(searchResultView({ ...hit, url: 'javascript:alert(1)' })), /javascript:/);
  assert.equal(searchModeText('hybrid'), 'Keywords + embeddings (hybrid)');
  assert.equal(searchModeText('keywords'), 'Keywords only (BM25)');
});

test('passages are clipped at a word; confidences are percentages', () => {
  assert.equal(clip('short'), 'short');
  const cut = clip(`${'lorem '.repeat(80)}end`, 50);
  assert.ok(cut.endsWith('…') && cut.length <= 51);
  assert.equal(percent(0.5), '50%');
  assert.equal(percent(2), '100%');
  assert.equal(percent(null), '0%');
  assert.equal(percent('x'), '');
});

test('import files are Markdown files only, named by their slug, read once each', async () => {
  const file = (name, size = 10) => ({ name, size });
  const read = async (f) => {
    if (f.name === 'broken.md') throw new Error('nope');
    return `content of ${f.name}`;
  };
  const { files, skipped } = await readImportFiles([
    file('reset-password.md'), file('Billing FAQ.MD'), file('notes.txt'), file('reset-password.markdown'),
    file('huge.md', MAX_FILE_BYTES + 1), file('broken.md'), file('dir/sub/nested.md'),
  ], read);
  assert.deepEqual(files, [
    { name: 'reset-password.md', content: 'content of reset-password.md' },
    { name: 'billing-faq.md', content: 'content of Billing FAQ.MD' },
    { name: 'nested.md', content: 'content of dir/sub/nested.md' },
  ]);
  assert.deepEqual(skipped.map((s) => s.name), ['notes.txt', 'reset-password.markdown', 'huge.md', 'broken.md']);
  assert.match(skipped[1].reason, /reset-password\.md/);
  assert.equal(importName('C:\\docs\\Hello World.md'), 'hello-world.md');
  assert.deepEqual(await readImportFiles(null, read), { files: [], skipped: [] });
});

test('imports go in batches under the body limit, each file whole', () => {
  const files = Array.from({ length: 5 }, (_, i) => ({ name: `f${i}.md`, content: 'x'.repeat(400) }));
  const batches = importBatches(files, 1000);
  assert.deepEqual(batches.map((b) => b.length), [2, 2, 1]);
  assert.deepEqual(batches.flat(), files);
  assert.deepEqual(importBatches([{ name: 'big.md', content: 'x'.repeat(5000) }], 1000).map((b) => b.length), [1], 'too big alone');
  assert.deepEqual(importBatches([]), []);
  // Multi-byte text counts in bytes.
  assert.equal(importBatches([{ name: 'a.md', content: 'é'.repeat(300) }, { name: 'b.md', content: 'é'.repeat(300) }], 1000).length, 2);
});

test('import counts add up and read as a sentence', () => {
  const total = addCounts(addCounts({}, { created: 2, updated: 1, unchanged: 0 }), { created: 1, unchanged: 4 });
  assert.deepEqual(total, { created: 3, updated: 1, unchanged: 4 });
  assert.equal(importSummary(total), '3 created, 1 updated, 4 unchanged.');
});

test("a failed import lists each of the server's errors", () => {
  const error = { message: 'Unprocessable', problem: { errors: [
    { field: 'file', message: 'a.md: title: must not be empty' }, { field: 'files', message: 'too many' }] } };
  assert.deepEqual(problemMessages(error), ['a.md: title: must not be empty', 'files: too many']);
  assert.deepEqual(problemMessages({ message: 'Payload too large' }), ['Payload too large']);
});

test('the export is named by the day', () => {
  assert.equal(exportFileName(new Date('2026-03-01T12:00:00Z')), 'knowledge-base-2026-03-01.json');
});

test('sources link to the help center and the article, escaped, and only safe addresses', () => {
  const out = markup(sourceLinks([
    { article_id: 'ar 1', title: 'Refunds <fast>', url: 'https://x.example/help/a/articles/refunds' },
    { article_id: 'ar2', title: 'Evil', url: 'javascript:alert(1)' },
  ]));
  assert.match(out, /href="https:\/\/x\.example\/help\/a\/articles\/refunds" target="_blank" rel="noopener noreferrer">Refunds &lt;fast&gt;/);
  assert.match(out, /href="#\/knowledge\/ar%201"/);
  assert.doesNotMatch(out, /javascript:/);
  assert.match(out, /<span>Evil<\/span>/);
  assert.equal(sourceLinks([]), '');
  assert.equal(sourceLinks(null), '');
});
