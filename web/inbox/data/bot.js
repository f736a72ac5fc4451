// The AI bot: its settings (and what the server runs it with: keyword or
// hybrid retrieval, the embedding model, the LLM), its report, and a reply
// suggested to an agent from the knowledge base.

import { get, put, post } from './api.js';

/** `{settings, retrieval: 'keywords' | 'hybrid', model, llm}`. */
export const getBotSettings = () => get('/api/v1/bot/settings');

/** `settings` as GET gives them (only their own fields); answers like GET. */
export const saveBotSettings = (settings) => put('/api/v1/bot/settings', settings);

/**
 * The last `days` days: `{days: [{day, conversations, resolved_confirmed,
 * resolved_assumed, handed_over, unanswered}], resolution_rate,
 * unanswered: [{question, count}], articles: [{article_id, title, answers}]}`.
 */
export const getBotReport = (days = 30) => get(`/api/v1/bot/report?days=${encodeURIComponent(days)}`);

/** `{body: string | null, confidence, sources: [{article_id, title, url}]}`. */
export const suggestReply = (conversationId, { signal } = {}) =>
  post(`/api/v1/conversations/${encodeURIComponent(conversationId)}/suggested-reply`, undefined, { signal });
