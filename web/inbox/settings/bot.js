// The AI bot's settings as the settings form edits them, with no DOM: the
// form's values checked and turned into the body of PUT /bot/settings (as
// the server checks them), languages as comma-separated tags, the handover
// target as a select's value, and what the server says it runs with
// (keyword or hybrid retrieval, an LLM or none). Touches no DOM, so that
// `node --test` can load it.

import { assigneeValue, assigneeFrom } from '../automations/node-fields.js';
import { languageError } from '../knowledge/articles.js';

export const ANSWERS_WHEN = [
  ['always', 'Always, before the team'],
  ['no_agent_available', 'Only when no teammate is available'],
  ['outside_hours', 'Only outside office hours'],
];

export const MAX_NAME = 60;
export const MAX_LANGUAGES = 20;

export const KEYWORDS_TEXT = 'Keywords only (BM25): no embedding model installed — run scripts/fetch-model and set RAPPORT_EMBEDDING_MODEL';
export const HYBRID_TEXT = 'Keywords + embeddings (hybrid)';

/** How the knowledge base is searched: `retrieval` is 'keywords' or 'hybrid'. */
export function retrievalText(retrieval, model = null) {
  if (retrieval === 'keywords' || !retrieval) return KEYWORDS_TEXT;
  return model ? `${HYBRID_TEXT}, with ${model}` : HYBRID_TEXT;
}

/** Whether answers are written by an LLM. */
export function llmText(llm) {
  return llm
    ? `An LLM writes the answers from the passages found: ${llm}.`
    : 'No LLM is configured: the bot answers with the best passage as it is written, and links its article.';
}

/** "en, pt-br" as tags, lowercased, each once; `error` says what is wrong. */
export function parseLanguages(text) {
  const languages = [];
  const bad = [];
  for (const part of String(text ?? '').split(/[\s,;]+/).map((s) => s.trim().toLowerCase()).filter(Boolean)) {
    if (languageError(part)) bad.push(part);
    else if (!languages.includes(part)) languages.push(part);
  }
  let error = null;
  if (bad.length) error = `${bad.join(', ')}: not a language tag such as en, de or pt-br.`;
  else if (languages.length > MAX_LANGUAGES) error = `At most ${MAX_LANGUAGES} languages.`;
  return { languages, error };
}

export const languagesText = (languages) => (languages ?? []).join(', ');

/** The threshold as the form shows it: two decimals. */
export function thresholdText(value) {
  const n = Number(value);
  return Number.isFinite(n) ? n.toFixed(2) : '';
}

/** The handover target (`'round_robin'`, `'nobody'`, `{agent}`, `{team}`) as a select's value, and back. */
export const handoverValue = (to) => assigneeValue(to ?? 'round_robin');
export const handoverFrom = (value) => assigneeFrom(String(value || 'round_robin'));

/**
 * The form's values (`enabled`, `answers_when`, `name`, `avatar_url`,
 * `threshold`, `languages`, `handover_to`) as `{body, errors: [{field,
 * message}]}`, the fields named as the server names them.
 */
export function botRequest(values) {
  const errors = [];
  const name = String(values.name ?? '').trim();
  if (!name) errors.push({ field: 'name', message: 'Give the bot a name.' });
  else if (name.length > MAX_NAME) errors.push({ field: 'name', message: `At most ${MAX_NAME} characters.` });
  const answersWhen = ANSWERS_WHEN.some(([value]) => value === values.answers_when) ? values.answers_when : 'always';
  const avatar = String(values.avatar_url ?? '').trim();
  if (avatar && (!/^https:\/\/[^\s/?#]+[^\s]*$/i.test(avatar) || avatar.length > 500)) {
    errors.push({ field: 'avatar_url', message: 'An https:// address of an image, or empty for initials.' });
  }
  const threshold = String(values.threshold ?? '').trim() === '' ? NaN : Number(values.threshold);
  if (!Number.isFinite(threshold) || threshold < 0 || threshold > 1) {
    errors.push({ field: 'threshold', message: 'Between 0 and 1.' });
  }
  const { languages, error } = parseLanguages(values.languages);
  if (error) errors.push({ field: 'languages', message: error });
  return {
    body: {
      enabled: values.enabled === true || values.enabled === 'true' || values.enabled === 'on',
      answers_when: answersWhen,
      name,
      avatar_url: avatar || null,
      threshold,
      languages,
      handover_to: handoverFrom(values.handover_to),
    },
    errors,
  };
}
