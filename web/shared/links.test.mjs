// Unit tests for links.js: run with `node --test web/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { safeHref } from './links.js';

test('http, https and site paths are links; nothing else is', () => {
  assert.equal(safeHref('https://help.example.com/help/app/articles/reset'), 'https://help.example.com/help/app/articles/reset');
  assert.equal(safeHref(' http://localhost:8080/help/x '), 'http://localhost:8080/help/x');
  assert.equal(safeHref('/help/app_1/articles/reset'), '/help/app_1/articles/reset');
  for (const bad of ['javascript:alert(1)', 'JAVASCRIPT:alert(1)', 'data:text/html,x', '//evil.example/x', '/\\evil.example',
    'https://', 'vbscript:x', 'mailto:a@b.c', 'help/x', '', null, undefined, 42]) {
    assert.equal(safeHref(bad), null, String(bad));
  }
});
