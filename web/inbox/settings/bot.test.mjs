// Unit tests for the AI bot's settings form and report: run with `node --test web/inbox/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  botRequest, parseLanguages, retrievalText, llmText, thresholdText, handoverValue, handoverFrom, KEYWORDS_TEXT,
} from './bot.js';
import { dayCounts, totals, rateText, chartData, barLabel, reportChart, reportView } from './bot-report.js';

const markup = (fragment) => fragment.__html;

const values = {
  enabled: true, answers_when: 'outside_hours', name: ' Ada bot ', avatar_url: '', threshold: '0.65',
  languages: 'EN, de ,en', handover_to: 'team:t1',
};

test('the form becomes the settings the server takes, nothing more', () => {
  const { body, errors } = botRequest(values);
  assert.deepEqual(errors, []);
  assert.deepEqual(body, {
    enabled: true, answers_when: 'outside_hours', name: 'Ada bot', avatar_url: null, threshold: 0.65,
    languages: ['en', 'de'], handover_to: { team: 't1' },
  });
  assert.deepEqual(botRequest({ ...values, handover_to: 'agent:a1' }).body.handover_to, { agent: 'a1' });
  assert.equal(botRequest({ ...values, handover_to: 'nobody' }).body.handover_to, 'nobody');
  assert.equal(botRequest({ ...values, handover_to: '' }).body.handover_to, 'round_robin');
  assert.equal(botRequest({ ...values, enabled: false }).body.enabled, false);
  assert.equal(botRequest({ ...values, answers_when: 'sometimes' }).body.answers_when, 'always');
  assert.equal(botRequest({ ...values, avatar_url: ' https://cdn.example/bot.png ' }).body.avatar_url, 'https://cdn.example/bot.png');
});

test('faults are named by the fields the server names', () => {
  const fields = (changes) => botRequest({ ...values, ...changes }).errors.map((e) => e.field);
  assert.deepEqual(fields({ name: ' ' }), ['name']);
  assert.deepEqual(fields({ name: 'x'.repeat(61) }), ['name']);
  assert.deepEqual(fields({ avatar_url: 'http://cdn.example/bot.png' }), ['avatar_url']);
  assert.deepEqual(fields({ avatar_url: 'javascript:alert(1)' }), ['avatar_url']);
  assert.deepEqual(fields({ threshold: '1.5' }), ['threshold']);
  assert.deepEqual(fields({ threshold: '' }), ['threshold']);
  assert.deepEqual(fields({ languages: 'en, english' }), ['languages']);
});

test('languages are tags, each once; empty means all', () => {
  assert.deepEqual(parseLanguages('en, pt-BR; de en'), { languages: ['en', 'pt-br', 'de'], error: null });
  assert.deepEqual(parseLanguages(''), { languages: [], error: null });
  assert.match(parseLanguages('en, x1').error, /x1/);
  assert.match(parseLanguages(Array.from({ length: 21 }, (_, i) => `l${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}`).join(',')).error, /At most 20/);
});

test('the handover target round-trips through the select', () => {
  for (const to of ['round_robin', 'nobody', { agent: 'a1' }, { team: 't1' }]) assert.deepEqual(handoverFrom(handoverValue(to)), to);
  assert.equal(handoverValue(undefined), 'round_robin');
});

test('what the bot runs with is said plainly', () => {
  assert.equal(retrievalText('keywords'), 'Keywords only (BM25): no embedding model installed — run scripts/fetch-model and set RAPPORT_EMBEDDING_MODEL');
  assert.equal(retrievalText('keywords'), KEYWORDS_TEXT);
  assert.equal(retrievalText('hybrid'), 'Keywords + embeddings (hybrid)');
  assert.equal(retrievalText('hybrid', 'bge-small'), 'Keywords + embeddings (hybrid), with bge-small');
  assert.match(llmText(null), /No LLM/);
  assert.match(llmText('llama3'), /llama3/);
  assert.equal(thresholdText('0.5'), '0.50');
});

const days = [
  { day: '2026-03-02', conversations: 10, resolved_confirmed: 3, resolved_assumed: 2, handed_over: 2, unanswered: 1 },
  { day: '2026-03-01', conversations: 4, resolved_confirmed: 1, resolved_assumed: 0, handed_over: 0, unanswered: 3 },
  { day: '2026-03-03', conversations: 0, resolved_confirmed: 0, resolved_assumed: 0, handed_over: 0, unanswered: 0 },
];

test('a day counts what has no outcome yet, and the days add up', () => {
  assert.deepEqual(dayCounts(days[0]), { resolved_confirmed: 3, resolved_assumed: 2, handed_over: 2, unanswered: 1, pending: 2, total: 10 });
  assert.deepEqual(dayCounts({ day: 'x', conversations: 1, unanswered: 2 }).total, 2, 'more outcomes than conversations: the outcomes');
  const sum = totals(days);
  assert.equal(sum.conversations, 14);
  assert.equal(sum.resolved_confirmed, 4);
  assert.equal(sum.unanswered, 4);
  assert.equal(sum.pending, 2);
  assert.equal(rateText(0.625), '63%');
  assert.equal(rateText(null), '—');
});

test('bars are in day order and their segments stack from the bottom without gaps', () => {
  const data = chartData(days, { height: 100, maxWidth: 300 });
  assert.deepEqual(data.bars.map((b) => b.day), ['2026-03-01', '2026-03-02', '2026-03-03']);
  assert.equal(data.max, 10);
  assert.equal(data.width, 3 * data.bars[1].x);
  const bar = data.bars[1];
  assert.deepEqual(bar.segments.map((s) => s.key), ['resolved_confirmed', 'resolved_assumed', 'handed_over', 'unanswered', 'pending']);
  assert.equal(bar.segments[0].y + bar.segments[0].height, 100, 'the first sits on the baseline');
  for (let i = 1; i < bar.segments.length; i += 1) {
    assert.equal(bar.segments[i].y + bar.segments[i].height, bar.segments[i - 1].y, 'each on the one below');
  }
  assert.equal(bar.segments.at(-1).y, 0, 'the tallest bar reaches the top');
  assert.equal(data.bars[0].segments.at(-1).y, 60);
  assert.deepEqual(data.bars[2].segments, [], 'an empty day has no segments');
  assert.deepEqual(chartData([]).bars, []);
  assert.match(barLabel(bar), /^2026-03-02: 10 conversations — 3 resolved \(confirmed\), 2 resolved \(assumed\), 2 handed over, 1 unanswered, 2 no outcome yet$/);
});

test('the chart and the report escape what they show', () => {
  const chart = markup(reportChart([{ day: '<b>2026</b>', conversations: 1, unanswered: 1 }]));
  assert.match(chart, /<svg/);
  assert.match(chart, /&lt;b&gt;2026&lt;\/b&gt;/);
  assert.doesNotMatch(chart, /<b>/);
  assert.match(chart, /class="bot-seg seg-unanswered"/);
  const report = markup(reportView({
    days, resolution_rate: 0.5,
    unanswered: [{ question: 'Where is <my> order?', count: 3 }],
    articles: [{ article_id: 'a"1', title: 'Shipping <fast>', answers: 7 }],
  }));
  assert.match(report, /Where is &lt;my&gt; order\?/);
  assert.match(report, /href="#\/knowledge\/a%221">Shipping &lt;fast&gt;/);
  assert.match(report, /data-testid="bot-resolution-rate">50%/);
  assert.match(markup(reportView({ days: [], resolution_rate: null, unanswered: [], articles: [] })), /No days to show yet/);
});
