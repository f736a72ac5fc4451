// The messenger's words in the visitor's language: the `language` the page
// boots with (`Rapport('boot', {app_id, language: 'de'})`), else the
// browser's, else English. Each language's words are in lang/<code>.js;
// a word one lacks is said in English. Touches no DOM.

import en from './lang/en.js';
import de from './lang/de.js';
import es from './lang/es.js';
import fr from './lang/fr.js';

export const LANGUAGES = { en, de, es, fr };

let current = 'en';

/**
 * The language to speak: the first of `requested` (a boot setting) and
 * then `preferred` (the browser's, best first) whose primary subtag is
 * one there are words for ("de-AT" speaks "de"), else English.
 */
export function pickLanguage(requested, preferred = []) {
  for (const tag of [requested, ...preferred]) {
    const code = String(tag ?? '').trim().toLowerCase().split(/[-_]/)[0];
    if (Object.hasOwn(LANGUAGES, code)) return code;
  }
  return 'en';
}

export function setLanguage(code) {
  current = Object.hasOwn(LANGUAGES, code) ? code : 'en';
}

export function language() {
  return current;
}

/** The word for `key`, with `{name}` places filled from `vars`. */
export function t(key, vars = {}) {
  const text = LANGUAGES[current][key] ?? en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

/** "Ada, Grace and Linus" in the language spoken. */
export function listOf(names) {
  try {
    return new Intl.ListFormat(current, { style: 'long', type: 'conjunction' }).format(names);
  } catch {
    return names.join(', ');
  }
}
