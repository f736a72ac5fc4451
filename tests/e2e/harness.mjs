// Test harness: a real `rapport serve` on a free port with its own data
// directory, a host website on another port with the widget snippet, and
// Debian's Chromium driven by playwright-core.

import { before, after } from 'node:test';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createHmac } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, '..', '..');
export const artifacts = join(here, 'artifacts');
const binary = join(root, 'target', 'debug', 'rapport');

/** Builds the server once per run (cargo is a no-op when it is fresh). */
function build() {
  execFileSync('cargo', ['build', '-p', 'rapport-server'], { cwd: root, stdio: 'inherit' });
}
let built = false;

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitFor(url, tries = 100) {
  for (let i = 0; i < tries; i++) {
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer`);
}

/** A running server with a bootstrapped workspace (or, with
 * `{ fresh: true }`, a fresh install with none); `env` adds settings. */
export async function startRapport({ fresh = false, env: extra = {} } = {}) {
  if (!built) {
    build();
    built = true;
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'rapport-e2e-'));
  // A test file signs the same owner in once per test, faster than the
  // default five attempts a minute allow on a fast machine; the limit
  // itself is tested against the API, not here.
  const env = {
    ...process.env,
    RAPPORT_SIGN_IN_ATTEMPTS_PER_MINUTE_PER_ACCOUNT: '1000',
    ...extra,
    RAPPORT_DATA_DIR: dataDir,
    RUST_LOG: 'warn',
  };
  delete env.DATABASE_URL;
  const boot = fresh
    ? {}
    : JSON.parse(
        execFileSync(binary, ['admin', 'bootstrap', '--workspace', 'Acme', '--email', 'grace@acme.test', '--password', 'correct horse', '--name', 'Grace Hopper'], { env }).toString(),
      );
  const port = await freePort();
  const child = spawn(binary, ['serve', '--listen', `127.0.0.1:${port}`], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/healthz`);
  const api = async (method, path, body) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${boot.api_token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  };
  return {
    base,
    boot,
    api,
    userHash: (userId) => createHmac('sha256', boot.identity_secret).update(userId).digest('hex'),
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A host website on its own origin, serving one page with the snippet. */
export async function startHostSite(rapport, settings = {}) {
  const port = await freePort();
  const boot = JSON.stringify({ app_id: rapport.boot.app_id, ...settings });
  const page = `<!doctype html><html><head><title>Shop</title>
<style>button { all: unset; } * { box-sizing: content-box !important; font-size: 40px; }</style></head>
<body><h1>A shop</h1>
<script>
  window.Rapport = window.Rapport || function () { (Rapport.q = Rapport.q || []).push(arguments) };
  Rapport('boot', ${boot});
  window.unreadCounts = [];
  Rapport('onUnreadCountChange', function (n) { window.unreadCounts.push(n) });
</script>
<script async src="${rapport.base}/widget.js"></script>
</body></html>`;
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page);
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return { url: `http://localhost:${port}/`, stop: () => new Promise((r) => server.close(r)) };
}

/** Debian's Chromium, headless, with nothing reaching out to the network. */
export async function launchBrowser() {
  mkdirSync(artifacts, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Records any script the page runs that it should not (XSS canaries). */
export async function watchForInjection(page) {
  const fired = [];
  await page.exposeFunction('__injected', (where) => fired.push(where));
  page.on('dialog', async (dialog) => {
    fired.push(`dialog: ${dialog.message()}`);
    await dialog.dismiss();
  });
  return fired;
}

export async function screenshot(page, name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: false });
}

/** Signs the bootstrapped owner (grace@acme.test) in to the Inbox in a
 * fresh browser context; resolves once the conversation list shows. */
export async function signInToInbox(browser, rapport) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const injected = await watchForInjection(page);
  await page.goto(rapport.base);
  await page.getByTestId('signin-email').fill('grace@acme.test');
  await page.getByTestId('signin-password').fill('correct horse');
  await page.getByTestId('signin-submit').click();
  await page.getByTestId('conversation-list').waitFor();
  return { page, injected, context };
}

/**
 * A server and a browser for one test file, started before its tests and
 * stopped after them: `const env = withServerAndBrowser(options)`, then
 * `env.rapport` and `env.browser` in the tests.
 */
export function withServerAndBrowser(options) {
  const env = { rapport: null, browser: null };
  before(async () => {
    env.rapport = await startRapport(options);
    env.browser = await launchBrowser();
  });
  after(async () => {
    await env.browser?.close();
    await env.rapport?.stop();
  });
  return env;
}
