// One automation being edited, with no DOM: its name, trigger settings and
// flow graph, the selected step, whether it differs from what was saved,
// the checks of the draft as it is now (ours, always current) and the
// server's last refusal (placed by step id when it came), the funnel
// numbers, and one level of undo for deleting a step. Views call its
// methods and are told to redraw through `onChange(what)`.

import { toGraph, toFlow, findNode, addNode, removeNode, moveNode, connect, disconnect, updateNode, setStart } from './graph.js';
import { validateDefinition, placeErrors } from './validate.js';
import { nodeFunnel } from './stats.js';
import { canonicalJson } from '../people/people-filter.js';

/**
 * `automation`: as the API gives it. `onChange(what)`: 'graph' (the
 * drawing and the form), 'select', 'settings', 'errors', 'dirty', 'stats'.
 */
export function createEditor(automation, { onChange = () => {}, agentName = () => null, teamName = () => null } = {}) {
  const settingsOf = (draft) => ({
    trigger: draft?.trigger ?? { type: 'manual' },
    audience: draft?.audience ?? null,
    goal: draft?.goal ?? null,
    frequency: draft?.frequency ?? { type: 'once' },
  });
  const editor = {
    automation,
    name: automation.name ?? '',
    settings: settingsOf(automation.draft),
    graph: toGraph(automation.draft?.flow),
    selected: null,
    server: { nodes: {}, settings: {}, other: [] },
    stats: null,
    statsVersion: 'all',
    undo: null, // {graph, label}
    agentName,
    teamName,
    checks: null,
    savedKey: '',
  };

  const definition = () => ({ ...editor.settings, flow: toFlow(editor.graph) });
  const key = () => canonicalJson({ name: editor.name, draft: definition() });
  const recheck = () => {
    editor.checks = validateDefinition(definition());
    const placed = placeErrors(editor.checks.errors, definition());
    editor.checks.placed = placed;
  };
  editor.savedKey = key();
  recheck();

  const changed = (what, { clearServer = null } = {}) => {
    if (clearServer === 'settings') editor.server = { ...editor.server, settings: {} };
    else if (clearServer) {
      const nodes = { ...editor.server.nodes };
      delete nodes[clearServer];
      editor.server = { ...editor.server, nodes };
    }
    recheck();
    onChange(what);
  };

  // A getter: Object.assign would copy its value once.
  Object.defineProperty(editor, 'dirty', { get: () => key() !== editor.savedKey });
  Object.assign(editor, {
    definition,
    /** After a save (or a publish): what the server holds now. */
    saved(next) {
      editor.automation = next;
      editor.savedKey = key();
      editor.undo = null;
      editor.server = { nodes: {}, settings: {}, other: [] };
      recheck();
      onChange('dirty');
    },
    /** Puts another definition in the editor (a version, a restored draft). */
    load(draft, name = editor.name) {
      editor.name = name;
      editor.settings = settingsOf(draft);
      editor.graph = toGraph(draft?.flow);
      if (!findNode(editor.graph, editor.selected)) editor.selected = null;
      changed('graph');
      onChange('settings');
    },
    /** The server refused `sent` (the definition it was given): place its faults. */
    refused(errors, sent = definition()) {
      editor.server = placeErrors(errors, sent);
      onChange('errors');
    },
    rename(name) {
      editor.name = name;
      onChange('dirty');
    },
    select(id, { quiet = false } = {}) {
      if (editor.selected === id) return;
      editor.selected = id;
      onChange(quiet ? 'select-quiet' : 'select');
    },
    add(type) {
      const { graph, id } = addNode(editor.graph, type, editor.selected);
      editor.graph = graph;
      editor.selected = id;
      changed('graph');
      return id;
    },
    remove(id) {
      editor.undo = { graph: editor.graph, label: `Deleted step ${id}.` };
      editor.graph = removeNode(editor.graph, id);
      if (editor.selected === id) editor.selected = null;
      changed('graph', { clearServer: id });
    },
    restore() {
      if (!editor.undo) return;
      editor.graph = editor.undo.graph;
      editor.undo = null;
      changed('graph');
    },
    move(id, x, y) {
      editor.graph = moveNode(editor.graph, id, x, y);
      changed('graph');
    },
    connect(from, exit, to) {
      editor.graph = connect(editor.graph, from, exit, to);
      changed('graph', { clearServer: from });
    },
    disconnect(from, exit) {
      editor.graph = disconnect(editor.graph, from, exit);
      changed('graph', { clearServer: from });
    },
    setStart(id) {
      editor.graph = setStart(editor.graph, id);
      changed('graph');
    },
    update(id, next) {
      editor.graph = updateNode(editor.graph, id, next);
      if (editor.selected === id) editor.selected = next.id;
      changed('node', { clearServer: id });
    },
    changeSettings(next) {
      editor.settings = next;
      changed('settings-values', { clearServer: 'settings' });
    },
    setStats(stats, version = editor.statsVersion) {
      editor.stats = stats;
      editor.statsVersion = version;
      onChange('stats');
    },
    /** Ours and the server's faults of one step, by field ('' for the step itself). */
    nodeErrors(id) {
      return { ...(editor.checks.placed.nodes[id] ?? {}), ...(editor.server.nodes[id] ?? {}) };
    },
    settingsErrors() {
      return { ...editor.checks.placed.settings, ...editor.server.settings };
    },
    dangling: () => editor.checks.dangling,
    /** What the drawing marks. */
    marks() {
      const faulty = new Set([
        ...Object.keys(editor.checks.placed.nodes),
        ...Object.keys(editor.server.nodes),
      ]);
      return {
        selected: editor.selected,
        start: editor.graph.start,
        unreachable: new Set(editor.checks.unreachable),
        dangling: new Set(editor.checks.dangling.map((d) => `${d.node}:${d.exit}`)),
        faulty,
        funnel: editor.stats ? nodeFunnel(editor.stats.nodes, editor.statsVersion) : null,
      };
    },
  });
  return editor;
}
