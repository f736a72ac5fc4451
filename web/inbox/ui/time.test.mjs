// Unit tests for time.js's ages and datetime-local helpers: run with `node --test web/inbox/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ago, toDateTimeLocal, fromDateTimeLocal } from './time.js';

test('ages read as phrases for a week, then as dates', () => {
  const now = Date.parse('2026-03-10T12:00:00Z');
  assert.equal(ago('2026-03-10T11:59:30Z', now), 'just now');
  assert.equal(ago('2026-03-10T11:55:00Z', now), '5m ago');
  assert.equal(ago('2026-03-08T12:00:00Z', now), '2d ago');
  assert.doesNotMatch(ago('2026-01-01T12:00:00Z', now), /ago/);
  assert.equal(ago(null, now), '');
});

test('a datetime-local value goes to RFC 3339 and back', () => {
  assert.equal(fromDateTimeLocal(toDateTimeLocal('2026-03-01T10:30:00Z')), '2026-03-01T10:30:00Z');
  assert.match(toDateTimeLocal('2026-03-01T10:30:00Z'), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/);
  assert.equal(toDateTimeLocal(undefined), '');
});

test('what is not a datetime-local value is refused', () => {
  for (const bad of ['', 'tomorrow', '2026-02-30T10:00', '2026-03-01', '2026-03-01 10:00']) {
    assert.equal(fromDateTimeLocal(bad), null, bad);
  }
});
