// Unit tests for markdown.js: run with `node --test web/shared/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { markdown, plainText, isSafeUrl } from './markdown.js';
import { isFragment } from './html.js';

const md = (text) => markdown(text).__html;

test('returns an html.js fragment', () => {
  assert.equal(isFragment(markdown('hi')), true);
  assert.equal(md(''), '');
  assert.equal(md(null), '');
});

test('paragraphs on blank lines, line breaks on single newlines', () => {
  assert.equal(md('one\ntwo\n\nthree\r\n\r\n\r\nfour'),
    '<p>one<br>two</p><p>three</p><p>four</p>');
});

test('bold, italic and code', () => {
  assert.equal(md('a **b** *c* `d`'), '<p>a <strong>b</strong> <em>c</em> <code>d</code></p>');
  assert.equal(md('**bold *and italic* too**'), '<p><strong>bold <em>and italic</em> too</strong></p>');
});

test('markers inside code are literal', () => {
  assert.equal(md('`**not bold** <b>`'), '<p><code>**not bold** &lt;b&gt;</code></p>');
});

test('lone asterisks and list bullets stay text', () => {
  assert.equal(md('* item'), '<p>* item</p>');
  assert.equal(md('a ** b'), '<p>a ** b</p>');
});

test('links for http, https and mailto', () => {
  assert.equal(md('[docs](https://example.com/a?b=1&c=2)'),
    '<p><a href="https://example.com/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer nofollow">docs</a></p>');
  assert.match(md('[mail](mailto:ada@example.com)'), /<a href="mailto:ada@example.com"/);
  assert.match(md('[x](http://example.com)'), /<a href="http:\/\/example.com"/);
});

test('bare URLs become links without trailing punctuation', () => {
  assert.equal(md('see https://example.com/x.'),
    '<p>see <a href="https://example.com/x" target="_blank" rel="noopener noreferrer nofollow">https://example.com/x</a>.</p>');
  assert.equal(md('(https://example.com)'),
    '<p>(<a href="https://example.com" target="_blank" rel="noopener noreferrer nofollow">https://example.com</a>)</p>');
  assert.equal(md('https://'), '<p>https://</p>');
});

test('other schemes are shown as text', () => {
  for (const url of ['javascript:alert(1)', 'JaVaScRiPt:alert(1)', 'data:text/html,<script>alert(1)</script>',
    'vbscript:msgbox', '//evil.example', '/relative', 'ftp://example.com']) {
    const out = md(`[click](${url})`);
    assert.doesNotMatch(out, /<a /, url);
    assert.doesNotMatch(out, /<script/i, url);
  }
  assert.equal(md('[click](javascript:alert(1))'), '<p>[click](javascript:alert(1))</p>');
  assert.equal(md('javascript:alert(1)'), '<p>javascript:alert(1)</p>');
  assert.equal(isSafeUrl('javascript:alert(1)'), false);
  assert.equal(isSafeUrl('https://example.com'), true);
});

test('XSS payloads show as text', () => {
  assert.equal(md('<img src=x onerror=alert(1)>'), '<p>&lt;img src=x onerror=alert(1)&gt;</p>');
  assert.equal(md('<script>alert(1)</script>'), '<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>');
  assert.equal(md('"><svg onload=alert(1)>'), '<p>&quot;&gt;&lt;svg onload=alert(1)&gt;</p>');
  assert.equal(md("**<iframe src='javascript:alert(1)'>**"),
    '<p><strong>&lt;iframe src=&#39;javascript:alert(1)&#39;&gt;</strong></p>');
});

test('a URL cannot break out of the href attribute', () => {
  for (const input of ['https://e.com/"onmouseover=alert(1)', '[x](https://a" onmouseover="alert(1))',
    "[x](https://a'onmouseover='alert(1))", 'https://e.com/<script>alert(1)</script>']) {
    const out = md(input);
    // Every tag in the output is one of ours, and no attribute besides ours appears.
    for (const tag of out.match(/<[^>]+>/g) || []) {
      assert.match(tag, /^<\/?(p|br|strong|em|code|a( href="[^"<>]*" target="_blank" rel="noopener noreferrer nofollow")?)>$/, `${input} -> ${tag}`);
    }
    assert.doesNotMatch(out, /<script/i);
  }
});

test('link text is escaped and formatted but cannot nest links', () => {
  assert.equal(md('[<b>x</b> **y** https://z.com](https://e.com)'),
    '<p><a href="https://e.com" target="_blank" rel="noopener noreferrer nofollow">&lt;b&gt;x&lt;/b&gt; <strong>y</strong> https://z.com</a></p>');
});

test('plainText strips markers for previews', () => {
  assert.equal(plainText('**Hi** *there*,\n\nsee [docs](https://e.com) `x`'), 'Hi there, see docs x');
});

test('hostile input stays fast (no quadratic blow-up on unclosed markers)', () => {
  for (const input of ['['.repeat(20000), '*'.repeat(20000), '`'.repeat(20000), '**a'.repeat(7000)]) {
    const started = performance.now();
    markdown(input);
    // Generous: it takes tens of milliseconds; a regression takes seconds.
    assert.ok(performance.now() - started < 2000, `${input.slice(0, 5)}… took too long`);
  }
});
