// Unit tests for html.js: run with `node --test web/shared/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { html, render, append, insertAfter, escapeHtml, isFragment } from './html.js';

test('escapeHtml escapes the five HTML-significant characters', () => {
  assert.equal(escapeHtml(`<a href="x" title='y'>&</a>`),
    '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
});

test('escapeHtml turns null and undefined into empty text and stringifies the rest', () => {
  assert.equal(escapeHtml(null), '');
  assert.equal(escapeHtml(undefined), '');
  assert.equal(escapeHtml(0), '0');
  assert.equal(escapeHtml(42), '42');
});

test('escaping is not idempotent-by-accident: entities are escaped again', () => {
  assert.equal(escapeHtml('&amp;'), '&amp;amp;');
});

test('html escapes interpolated strings in text and attributes', () => {
  const name = '<img src=x onerror=alert(1)>';
  const cls = '" onmouseover="alert(1)';
  const f = html`<p class="${cls}">${name}</p>`;
  assert.equal(f.__html,
    '<p class="&quot; onmouseover=&quot;alert(1)">&lt;img src=x onerror=alert(1)&gt;</p>');
});

test('html keeps nested fragments and arrays of fragments as markup', () => {
  const items = ['a<b', 'c&d'].map((t) => html`<li>${t}</li>`);
  const f = html`<ul>${items}</ul><p>${html`<b>${'x>y'}</b>`}</p>`;
  assert.equal(f.__html, '<ul><li>a&lt;b</li><li>c&amp;d</li></ul><p><b>x&gt;y</b></p>');
});

test('arrays mixing strings and fragments escape the strings', () => {
  const f = html`${['<i>', html`<i>ok</i>`]}`;
  assert.equal(f.__html, '&lt;i&gt;<i>ok</i>');
});

test('null, undefined and false render nothing; numbers render', () => {
  assert.equal(html`[${null}${undefined}${false}${0}${1.5}]`.__html, '[01.5]');
});

test('a look-alike object from JSON is escaped, not trusted', () => {
  const fromServer = JSON.parse('{"__html": "<script>alert(1)</script>"}');
  assert.equal(isFragment(fromServer), false);
  assert.equal(html`${fromServer}`.__html, '[object Object]');
  const fake = { __html: '<b>x</b>' };
  assert.equal(html`${[fake]}`.__html, '[object Object]');
});

test('fragments cannot be modified after creation', () => {
  const f = html`<b>${'x'}</b>`;
  assert.throws(() => { 'use strict'; f.__html = '<script></script>'; });
  assert.equal(f.__html, '<b>x</b>');
});

test('render sets innerHTML from a fragment and refuses plain strings', () => {
  const element = { innerHTML: '' };
  render(element, html`<p>${'<script>'}</p>`);
  assert.equal(element.innerHTML, '<p>&lt;script&gt;</p>');
  assert.throws(() => render(element, '<script>alert(1)</script>'), TypeError);
  assert.throws(() => render(element, { __html: '<script>' }), TypeError);
  assert.equal(element.innerHTML, '<p>&lt;script&gt;</p>');
});

test('append renders into a template and moves its content', () => {
  const appended = [];
  const template = { innerHTML: '', get content() { return `nodes of ${this.innerHTML}`; } };
  const element = {
    ownerDocument: { createElement: (tag) => { assert.equal(tag, 'template'); return template; } },
    append: (nodes) => appended.push(nodes),
  };
  append(element, html`<li>${'<b>'}</li>`);
  assert.deepEqual(appended, ['nodes of <li>&lt;b&gt;</li>']);
  assert.throws(() => append(element, '<li>raw</li>'), TypeError);
});

test('insertAfter renders into a template and puts its content after the node', () => {
  const inserted = [];
  const template = { innerHTML: '', get content() { return `nodes of ${this.innerHTML}`; } };
  const node = {
    ownerDocument: { createElement: (tag) => { assert.equal(tag, 'template'); return template; } },
    after: (nodes) => inserted.push(nodes),
  };
  insertAfter(node, html`<li>${'<b>'}</li>`);
  assert.deepEqual(inserted, ['nodes of <li>&lt;b&gt;</li>']);
  assert.throws(() => insertAfter(node, '<li>raw</li>'), TypeError);
});
