// Unit tests for what a bot's newest message asks: run with `node --test web/widget/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promptOf, answerField } from './bot-prompt.js';

const bot = (id, origin) => ({ id, author: { type: 'bot' }, body: 'Hi', origin });
const origin = { automation_id: 'a1', run_id: 'r1', node: 'ask', depth: 1 };

test('the newest bot message offers its buttons and its kind of answer', () => {
  assert.deepEqual(promptOf([bot('m1', { ...origin, buttons: ['Sales', ' ', 'Support'] })]), { partId: 'm1', buttons: ['Sales', 'Support'], input: null });
  assert.deepEqual(promptOf([bot('m1', { ...origin, input: 'email' })]), { partId: 'm1', buttons: [], input: 'email' });
  const agent = { id: 'm2', author: { type: 'agent', id: 'ag1' }, origin: { ...origin, buttons: ['Yes'] } };
  assert.equal(promptOf([agent]).buttons[0], 'Yes', 'an agent-sent automation message too');
});

test('nothing is asked once the visitor has written, or by a plain message', () => {
  const asking = bot('m1', { ...origin, buttons: ['Sales'] });
  assert.equal(promptOf([asking, { id: 'm2', author: { type: 'contact' }, body: 'Sales' }]), null);
  assert.equal(promptOf([asking, { tempId: 'tmp-1', pending: true, author: { type: 'contact' }, body: 'x' }]), null);
  assert.equal(promptOf([bot('m1', origin)]), null, 'an automation message that asks nothing');
  assert.equal(promptOf([bot('m1', undefined)]), null);
  assert.equal(promptOf([bot('m1', { ...origin, input: 'fax' })]), null, 'an unknown kind');
  assert.equal(promptOf([]), null);
});

test('each kind of answer sets the field as the brief says', () => {
  assert.equal(answerField('email').type, 'email');
  assert.equal(answerField('phone').type, 'tel');
  assert.equal(answerField('number').inputmode, 'decimal');
  assert.equal(answerField('text').line, false);
  assert.equal(answerField(null), null);
});

test('an AI bot answer (no automation in its origin) offers its buttons too', () => {
  const ai = bot('m9', {
    buttons: ['Yes, thanks', 'No', 'Talk to a person'],
    sources: [{ article_id: 'ar1', title: 'Reset your password', url: '/help/app/articles/reset' }],
  });
  assert.deepEqual(promptOf([ai]), { partId: 'm9', buttons: ['Yes, thanks', 'No', 'Talk to a person'], input: null });
  assert.equal(promptOf([bot('m9', { sources: [{ article_id: 'ar1', title: 'x', url: '/x' }] })]), null, 'sources alone ask nothing');
});
