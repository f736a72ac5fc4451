import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initials, colourIndex } from './avatar.js';

test('initials take the first letters of the first two words', () => {
  assert.equal(initials('Ada Lovelace'), 'AL');
  assert.equal(initials('grace brewster hopper'), 'GB');
  assert.equal(initials('  jane   cooper '), 'JC');
});

test('one word gives its first two letters, nothing gives a question mark', () => {
  assert.equal(initials('Acme'), 'AC');
  assert.equal(initials('Q'), 'Q');
  assert.equal(initials(''), '?');
  assert.equal(initials('   '), '?');
  assert.equal(initials(null), '?');
  assert.equal(initials(undefined), '?');
});

test('an email used as a name splits at its punctuation', () => {
  assert.equal(initials('grace.hopper@navy.mil'), 'GH');
  assert.equal(initials('visitor@example.com'), 'VE');
  assert.equal(initials('mary-jane watson'), 'MJ');
});

test('letters outside the Basic Multilingual Plane stay whole', () => {
  assert.equal(initials('𝒜da 𝒞yron'), '𝒜𝒞');
  assert.equal(initials('Émile Zola'), 'ÉZ');
});

test('the colour is stable for a seed and within the palette', () => {
  assert.equal(colourIndex('Jane Cooper', 6), colourIndex('Jane Cooper', 6));
  for (const seed of ['', 'a', 'Jane Cooper', 'c_01H', null, '𝒜']) {
    const index = colourIndex(seed, 12);
    assert.ok(Number.isInteger(index) && index >= 0 && index < 12, `${seed}: ${index}`);
  }
  const spread = new Set(['Ada', 'Grace', 'Jane', 'Linus', 'Margaret', 'Tim', 'Ken', 'Barbara'].map((n) => colourIndex(n, 6)));
  assert.ok(spread.size > 1, 'different names do not all get one colour');
});
