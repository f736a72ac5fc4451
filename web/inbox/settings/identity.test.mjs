// Unit tests for identity.js: run with `node --test web/inbox/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import {
  USER_HASH_EXAMPLES, SECRET_VARIABLE, userHashExample, identifiedBootSnippet, jsString,
  parseGraceHours, previousSecretNote,
} from './identity.js';

test('there is one example per server language, each naming the secret variable and its HMAC call', () => {
  assert.deepEqual(USER_HASH_EXAMPLES.map((e) => e.id), ['node', 'python', 'ruby', 'php', 'rust']);
  const calls = {
    node: /createHmac\('sha256', process\.env\.RAPPORT_IDENTITY_SECRET\)[\s\S]*\.digest\('hex'\)/,
    python: /hmac\.new\([\s\S]*hashlib\.sha256,?\s*\)\.hexdigest\(\)/,
    ruby: /OpenSSL::HMAC\.hexdigest\(\s*"SHA256"/,
    php: /hash_hmac\('sha256', \(string\) \$user->id, getenv\('RAPPORT_IDENTITY_SECRET'\)\)/,
    rust: /Hmac::<Sha256>::new_from_slice[\s\S]*hex::encode\(mac\.finalize\(\)\.into_bytes\(\)\)/,
  };
  for (const example of USER_HASH_EXAMPLES) {
    assert.match(example.code, calls[example.id], example.id);
    assert.ok(example.code.includes(SECRET_VARIABLE), `${example.id} reads the secret from the environment`);
    assert.ok(example.code.split('\n').length <= 10, `${example.id} stays short`);
  }
});

test('the Node example computes the hash the server checks', async () => {
  // Run the example's expression itself with a known secret and user.
  const secret = 'a'.repeat(64);
  const { code } = userHashExample('node');
  const expression = code.slice(code.indexOf('createHmac('), code.lastIndexOf(';'));
  const compute = new Function('createHmac', 'process', 'user', `return ${expression};`);
  const hash = compute(createHmac, { env: { [SECRET_VARIABLE]: secret } }, { id: 42 });
  assert.equal(hash, createHmac('sha256', secret).update('42').digest('hex'));
  assert.match(hash, /^[0-9a-f]{64}$/);
});

test('an unknown language falls back to the first example', () => {
  assert.equal(userHashExample('cobol').id, 'node');
  assert.equal(userHashExample('ruby').id, 'ruby');
});

test('the identified boot snippet names user_id and user_hash, with the app id escaped', () => {
  const snippet = identifiedBootSnippet("app'</script>");
  assert.match(snippet, /user_id: 'USER_ID'/);
  assert.match(snippet, /user_hash: 'USER_HASH'/);
  assert.ok(!snippet.includes('</script>'));
  assert.equal(jsString('a\'b<'), "'a\\u0027b\\u003c'");
});

test('the grace period is a whole number of hours from 0 to 720, 24 when blank', () => {
  assert.deepEqual(parseGraceHours(''), { hours: 24 });
  assert.deepEqual(parseGraceHours(' 0 '), { hours: 0 });
  assert.deepEqual(parseGraceHours('720'), { hours: 720 });
  for (const bad of ['721', '-1', '1.5', 'soon']) assert.ok(parseGraceHours(bad).error, bad);
});

test('the previous secret is mentioned only while its grace period runs', () => {
  const now = Date.parse('2026-03-10T12:00:00Z');
  const format = (ms) => new Date(ms).toISOString();
  assert.equal(previousSecretNote(undefined, now, format), null);
  assert.equal(previousSecretNote(now - 1, now, format), null);
  assert.equal(previousSecretNote(now + 3_600_000, now, format),
    'Hashes made with the previous secret keep working until 2026-03-10T13:00:00.000Z.');
});
