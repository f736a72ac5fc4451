// Unit tests for the "Search help" screen's markup and a bot answer's
// sources in the thread: run with `node --test web/widget/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { helpView, helpResultsView, snippetText, MIN_QUERY } from './help.js';
import { sourcesView } from './thread.js';

const markup = (fragment) => fragment.__html;

test('results show title, heading and snippet, escaped, linking to the page in a new tab', () => {
  const out = markup(helpResultsView({
    query: 'reset', status: 'done',
    results: [{ title: 'Reset <b>your</b> password', heading: 'On "mobile"', snippet: 'Go to **Settings** <img src=x onerror=alert(1)>', url: 'https://acme.example/help/app/articles/reset' }],
  }));
  assert.match(out, /Reset &lt;b&gt;your&lt;\/b&gt; password/);
  assert.match(out, /On &quot;mobile&quot;/);
  assert.match(out, /Go to Settings &lt;img src=x onerror=alert\(1\)&gt;/, 'Markdown markers dropped, HTML escaped');
  assert.doesNotMatch(out, /<img|<b>/);
  assert.match(out, /href="https:\/\/acme\.example\/help\/app\/articles\/reset" target="_blank" rel="noopener noreferrer"/);
});

test('a result whose address is not http(s) or a site path is shown without a link', () => {
  const out = markup(helpResultsView({ query: 'xss', status: 'done', results: [{ title: 'Bad', url: 'javascript:alert(1)' }] }));
  assert.doesNotMatch(out, /href=/);
  assert.doesNotMatch(out, /javascript:/);
  assert.match(out, /Bad/);
});

test('each state says what is going on, and offers a message to the team', () => {
  assert.match(markup(helpResultsView({ query: 'a'.repeat(MIN_QUERY - 1), status: 'done' })), /Type a question/);
  assert.match(markup(helpResultsView({ query: 'refund', status: 'searching' })), /Searching/);
  const empty = markup(helpResultsView({ query: '<refund>', status: 'done', results: [] }));
  assert.match(empty, /No articles match “&lt;refund&gt;”/);
  assert.match(empty, /data-action="new"/);
  assert.match(markup(helpResultsView({ query: 'refund', status: 'error', error: 'No connection.' })), /role="alert">No connection\./);
});

test('the search box keeps the query, escaped', () => {
  assert.match(markup(helpView('"><script>')), /value="&quot;&gt;&lt;script&gt;"/);
});

test('snippets are cut at a word, with an ellipsis', () => {
  const long = `${'word '.repeat(60)}end`;
  const cut = snippetText(long);
  assert.ok(cut.length <= 181, String(cut.length));
  assert.ok(cut.endsWith('…'));
  assert.equal(snippetText('short one'), 'short one');
});

test("a bot answer's sources are links to the help center, and only safe ones", () => {
  const out = markup(sourcesView([
    { article_id: 'a1', title: 'Refunds <now>', url: '/help/app/articles/refunds' },
    { article_id: 'a2', title: 'Evil', url: 'javascript:alert(1)' },
  ]));
  assert.match(out, /href="\/help\/app\/articles\/refunds" target="_blank" rel="noopener noreferrer">Refunds &lt;now&gt;/);
  assert.doesNotMatch(out, /Evil|javascript/);
  assert.equal(sourcesView([]), '');
  assert.equal(sourcesView(undefined), '');
});
