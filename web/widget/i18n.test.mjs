import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LANGUAGES, pickLanguage, setLanguage, t, listOf } from './i18n.js';

test('the boot setting wins, then the browser, by primary subtag, else English', () => {
  assert.equal(pickLanguage('fr', ['de-DE']), 'fr');
  assert.equal(pickLanguage(undefined, ['de-AT', 'en']), 'de');
  assert.equal(pickLanguage('ja', ['pt-BR', 'es-MX']), 'es');
  assert.equal(pickLanguage('', ['zh']), 'en');
  assert.equal(pickLanguage('__proto__', []), 'en');
});

test('every language has every word English has, and the same places', () => {
  const places = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  for (const [code, words] of Object.entries(LANGUAGES)) {
    for (const [key, text] of Object.entries(LANGUAGES.en)) {
      assert.equal(typeof words[key], 'string', `${code} lacks ${key}`);
      assert.deepEqual(places(words[key]), places(text), `${code}.${key}`);
    }
  }
});

test('words are filled in, in the language spoken', () => {
  setLanguage('de');
  assert.equal(t('isTyping', { name: 'Ada' }), 'Ada schreibt…');
  assert.equal(listOf(['Ada', 'Grace', 'Linus']), 'Ada, Grace und Linus');
  setLanguage('xx');
  assert.equal(t('isTyping', { name: 'Ada' }), 'Ada is typing…');
  setLanguage('en');
});
