// Unit tests for search-hits.js and the query rules in data/search.js: run with `node --test web/inbox/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statusWord, matchWord, excerptFragment, hitElementId } from './search-hits.js';
import { isFragment } from '../../shared/html.js';
import { searchQueryProblem } from '../data/search.js';

test('the matched words are marked and everything from the server is escaped', () => {
  const fragment = excerptFragment([
    { text: '…the parcel <b>came</b> with a cracked ', hit: false },
    { text: 'teapot', hit: true },
    { text: ' lid & "spout"', hit: false },
  ]);
  assert.ok(isFragment(fragment));
  assert.equal(fragment.__html,
    '…the parcel &lt;b&gt;came&lt;/b&gt; with a cracked <mark>teapot</mark> lid &amp; &quot;spout&quot;');
  // A hit's own text cannot break out of its <mark> either.
  assert.equal(excerptFragment([{ text: '<script>x</script>', hit: true }]).__html,
    '<mark>&lt;script&gt;x&lt;/script&gt;</mark>');
});

test('an excerpt of odd shapes shows what it can', () => {
  assert.equal(excerptFragment(undefined).__html, '');
  assert.equal(excerptFragment([]).__html, '');
  // Only `hit: true` marks; segments without text are skipped.
  assert.equal(excerptFragment([{ text: 'a', hit: 'yes' }, null, { hit: true }, { text: 'b', hit: true }]).__html,
    'a<mark>b</mark>');
  // A server object that looks like a fragment is still text.
  assert.equal(excerptFragment([{ text: { __html: '<i>x</i>' }, hit: false }]).__html, '');
});

test('a hit says its status and where it matched', () => {
  assert.deepEqual(['open', 'snoozed', 'closed'].map(statusWord), ['Open', 'Snoozed', 'Closed']);
  assert.equal(matchWord({ field: 'message' }), 'Message');
  assert.equal(matchWord({ field: 'contact' }), 'Contact');
  assert.equal(matchWord({ field: 'tag' }), 'Tag');
  assert.equal(matchWord(undefined), 'Match');
  assert.equal(hitElementId('c1'), 'search-hit-c1');
});

test('a query is asked for only when the server would take it', () => {
  assert.equal(searchQueryProblem('teapot'), null);
  assert.equal(searchQueryProblem('  refund 42 '), null);
  assert.equal(searchQueryProblem('日本'), null);
  assert.match(searchQueryProblem(''), /Type something/);
  assert.match(searchQueryProblem('   '), /Type something/);
  assert.equal(searchQueryProblem('?!'), null, 'contacts and tags may still match it');
  assert.equal(searchQueryProblem('x'.repeat(200)), null);
  assert.match(searchQueryProblem('x'.repeat(201)), /at most 200/);
});
