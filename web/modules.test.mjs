// The rules the browser apps' modules keep, checked on their source:
// imports are relative and name a file that exports what they ask for, no module imports
// itself back through others (no cycles), only the Inbox's data layer
// (web/inbox/data/) talks HTTP through api.js, and no module grows past
// a few screens.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = dirname(fileURLToPath(import.meta.url));
const MAX_LINES = 400;

function modules(dir = web) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...modules(path));
    else if (name.endsWith('.js')) found.push(path);
  }
  return found;
}

// `import … from '…'` and `export … from '…'` at the start of a line
// (code samples inside template literals are indented or mid-line), with
// the names a `{ … }` clause asks for.
function specifiers(source) {
  const found = [];
  const pattern = /^(?:import|export)\s([^;=]*?)\sfrom\s+'([^']+)'|^import\s+'([^']+)'/gms;
  for (const match of source.matchAll(pattern)) {
    const names = /\{([^}]*)\}/.exec(match[1] ?? '')?.[1]
      .split(',').map((part) => part.trim().split(/\s+as\s+/)[0]).filter(Boolean) ?? [];
    found.push({ spec: match[2] ?? match[3], names });
  }
  return found;
}

// The names a module exports: declarations and `export { … }` lists.
function exportsOf(source) {
  const names = new Set();
  for (const match of source.matchAll(/^export\s+(?:async\s+)?(?:function\*?|const|let|class)\s+(\w+)/gm)) names.add(match[1]);
  for (const match of source.matchAll(/^export\s*\{([^}]*)\}/gm)) {
    for (const part of match[1].split(',')) {
      const name = part.trim().split(/\s+as\s+/).at(-1);
      if (name) names.add(name);
    }
  }
  return names;
}

const files = modules();
const name = (path) => relative(web, path).split(sep).join('/');
const graph = new Map(files.map((file) => [file, []]));
const problems = [];
for (const file of files) {
  for (const { spec, names } of specifiers(readFileSync(file, 'utf8'))) {
    if (!spec.startsWith('./') && !spec.startsWith('../')) {
      problems.push(`${name(file)} imports '${spec}': use a relative path`);
      continue;
    }
    const target = resolve(dirname(file), spec);
    if (!existsSync(target)) {
      problems.push(`${name(file)} imports '${spec}', which does not exist`);
      continue;
    }
    graph.get(file)?.push(target);
    const exported = exportsOf(readFileSync(target, 'utf8'));
    for (const wanted of names.filter((n) => !exported.has(n))) {
      problems.push(`${name(file)} imports ${wanted} from '${spec}', which does not export it`);
    }
  }
}

test('every import is a relative path to a file that exports what is imported', () => {
  assert.deepEqual(problems, []);
});

test('no import cycles', () => {
  const cycles = [];
  const state = new Map(); // file -> 'visiting' | 'done'
  const visit = (file, stack) => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'visiting') {
      cycles.push([...stack.slice(stack.indexOf(file)), file].map(name).join(' -> '));
      return;
    }
    state.set(file, 'visiting');
    for (const next of graph.get(file) ?? []) visit(next, [...stack, file]);
    state.set(file, 'done');
  };
  for (const file of files) visit(file, []);
  assert.deepEqual(cycles, []);
});

test('only the Inbox data layer imports api.js', () => {
  const api = join(web, 'inbox', 'data', 'api.js');
  const data = join(web, 'inbox', 'data') + sep;
  const outside = files.filter((file) => !file.startsWith(data) && graph.get(file).includes(api)).map(name);
  assert.deepEqual(outside, []);
});

test(`no module is over ${MAX_LINES} lines`, () => {
  const long = files
    .map((file) => [name(file), readFileSync(file, 'utf8').split('\n').length])
    .filter(([, lines]) => lines > MAX_LINES)
    .map(([file, lines]) => `${file}: ${lines} lines`);
  assert.deepEqual(long, []);
});
