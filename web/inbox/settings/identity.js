// Identity verification, the parts with no DOM: the server-side examples
// that compute `user_hash`, the boot snippet for a signed-in user, and the
// rotation form's grace period. Touches no DOM, so that `node --test` can
// load it.

/** The examples read the secret from this variable: it never sits in code. */
export const SECRET_VARIABLE = 'RAPPORT_IDENTITY_SECRET';

export const GRACE_DEFAULT_HOURS = 24;
export const GRACE_MAX_HOURS = 720;

/**
 * How to compute `user_hash = hex(HMAC-SHA256(secret, user_id))` on the
 * business's server, one short example per language, with the standard
 * library where the language has HMAC in it.
 */
export const USER_HASH_EXAMPLES = [
  {
    id: 'node',
    label: 'Node.js',
    code: `import { createHmac } from 'node:crypto';

const userHash = createHmac('sha256', process.env.${SECRET_VARIABLE})
  .update(String(user.id))
  .digest('hex');`,
  },
  {
    id: 'python',
    label: 'Python',
    code: `import hashlib, hmac, os

user_hash = hmac.new(
    os.environ["${SECRET_VARIABLE}"].encode(),
    str(user.id).encode(),
    hashlib.sha256,
).hexdigest()`,
  },
  {
    id: 'ruby',
    label: 'Ruby',
    code: `require "openssl"

user_hash = OpenSSL::HMAC.hexdigest(
  "SHA256", ENV.fetch("${SECRET_VARIABLE}"), user.id.to_s
)`,
  },
  {
    id: 'php',
    label: 'PHP',
    code: `<?php
$userHash = hash_hmac('sha256', (string) $user->id, getenv('${SECRET_VARIABLE}'));`,
  },
  {
    id: 'rust',
    label: 'Rust',
    code: `// Cargo.toml: hmac = "0.12", sha2 = "0.10", hex = "0.4"
use hmac::{Hmac, Mac};
use sha2::Sha256;

let secret = std::env::var("${SECRET_VARIABLE}")?;
let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
    .expect("HMAC takes a key of any length");
mac.update(user.id.as_bytes());
let user_hash = hex::encode(mac.finalize().into_bytes());`,
  },
];

/** The example for a language id (the first one for an unknown id). */
export function userHashExample(id) {
  return USER_HASH_EXAMPLES.find((example) => example.id === id) ?? USER_HASH_EXAMPLES[0];
}

/** A JavaScript string literal that is also safe inside a <script> element. */
export function jsString(text) {
  return `'${String(text).replace(/[\\'"<>&\n\r\u2028\u2029]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)}'`;
}

/**
 * The boot call for a signed-in user: the page's template fills in the
 * user's id and the hash the server computed for it.
 */
export function identifiedBootSnippet(appId) {
  return `Rapport('boot', {
  app_id: ${jsString(appId)},
  user_id: 'USER_ID',     // your user's id, exactly as it was signed
  user_hash: 'USER_HASH', // hex(HMAC-SHA256(secret, user_id)), from your server
  name: 'USER_NAME'
});`;
}

/**
 * The rotation form's grace period: `{hours}` for a whole number from 0 to
 * 720 (blank is the default, 24), else `{error}` (the server checks too).
 */
export function parseGraceHours(text) {
  const value = String(text ?? '').trim();
  if (value === '') return { hours: GRACE_DEFAULT_HOURS };
  if (!/^\d+$/.test(value) || Number(value) > GRACE_MAX_HOURS) {
    return { error: `Enter a whole number of hours, from 0 to ${GRACE_MAX_HOURS}.` };
  }
  return { hours: Number(value) };
}

/**
 * What the settings say about the previous secret: null when none still
 * works (no rotation, or its grace period is over at `now`).
 */
export function previousSecretNote(expiresAt, now = Date.now(), format = (ms) => new Date(ms).toLocaleString()) {
  const ms = typeof expiresAt === 'number' ? expiresAt : Date.parse(expiresAt ?? '');
  if (!Number.isFinite(ms) || ms <= now) return null;
  return `Hashes made with the previous secret keep working until ${format(ms)}.`;
}
