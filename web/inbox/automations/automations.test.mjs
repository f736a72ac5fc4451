// Unit tests for the automation editor's pure parts: run with `node --test web/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NODE_TYPES, exitNames, exitLabel, newNode, newNodeId, newDefinition, triggerSummary, nodeSummary, duration,
} from './definition.js';
import { layout, depths, NODE_H, NODE_W, PAD, GAP_Y, portPoint, edgePath, freeSpot } from './layout.js';
import {
  toGraph, toFlow, addNode, removeNode, connect, disconnect, updateNode, moveNode, edgeOf,
} from './graph.js';
import { validateDefinition, placeErrors } from './validate.js';
import { nodeFunnel, statVersions, funnelLine, goalRate } from './stats.js';

const flow = {
  start: 'hello',
  nodes: [
    { id: 'hello', type: 'send_message', from: 'bot', body: 'Hi', email_fallback: true, exits: { next: 'ask' }, position: { x: 10, y: 20 } },
    { id: 'ask', type: 'bot_message', body: 'What brings you?', buttons: ['Pricing', 'Support'], exits: { button_1: 'end', button_0: 'tag' }, position: { x: 10, y: 200 } },
    { id: 'tag', type: 'add_tag', tag: 'pricing', exits: { next: 'end' }, position: { x: 300, y: 400 } },
    { id: 'end', type: 'end', exits: {}, position: { x: 10, y: 600 } },
  ],
};
const definition = (f = flow) => ({ trigger: { type: 'manual' }, audience: null, goal: null, frequency: { type: 'once' }, flow: f });

test('each node type has the exits the server gives it', () => {
  assert.deepEqual(exitNames({ type: 'send_message' }), ['next']);
  assert.deepEqual(exitNames({ type: 'condition' }), ['yes', 'no']);
  assert.deepEqual(exitNames({ type: 'split' }), ['a', 'b']);
  assert.deepEqual(exitNames({ type: 'wait_for' }), ['happened', 'timed_out']);
  assert.deepEqual(exitNames({ type: 'ask' }), ['next', 'timed_out']);
  assert.deepEqual(exitNames({ type: 'bot_message', buttons: ['x', 'y', 'z'] }), ['button_0', 'button_1', 'button_2', 'timed_out']);
  assert.deepEqual(exitNames({ type: 'ai_answer' }), ['answered', 'handed_over', 'no_answer']);
  assert.deepEqual(exitNames({ type: 'handover' }), []);
  assert.deepEqual(exitNames({ type: 'end' }), []);
  for (const type of ['note', 'set_property', 'assign', 'close', 'snooze', 'reopen', 'wait', 'wait_until', 'add_tag', 'webhook']) {
    assert.deepEqual(exitNames({ type }), ['next'], type);
  }
  for (const type of ['business_hours', 'team_available', 'contact_replied', 'team_replied']) {
    assert.deepEqual(exitNames({ type }), ['yes', 'no'], type);
  }
  assert.equal(Object.keys(NODE_TYPES).length, 26);
});

test('ports say what the exit means', () => {
  assert.equal(exitLabel({ type: 'bot_message', buttons: ['Pricing'] }, 'button_0'), 'Pricing');
  assert.equal(exitLabel({ type: 'split', percent: 30 }, 'b'), 'B 70%');
  assert.equal(exitLabel({ type: 'wait_for' }, 'timed_out'), 'Timed out');
});

test('new nodes get a fresh id and their defaults', () => {
  assert.equal(newNodeId('send_message', ['send-1']), 'send-2');
  assert.equal(newNodeId('add_tag', []), 'add-tag-1');
  const node = newNode('bot_message', []);
  assert.deepEqual(node.exits, {});
  assert.equal(node.buttons.length, 2);
  const def = newDefinition();
  assert.equal(def.flow.start, def.flow.nodes[0].id);
  assert.equal(validateDefinition(def).publishable, true);
});

test('summaries read as sentences', () => {
  assert.equal(triggerSummary({ type: 'page_visited', url: { contains: '/pricing' }, seconds_on_page: 30 }), 'Visits a page containing /pricing for 30 s');
  assert.equal(triggerSummary({ type: 'no_team_reply', minutes: 1 }), 'Waits 1 minute for a team reply');
  assert.equal(triggerSummary({ type: 'status_changed', to: null }), 'A conversation’s status changes');
  assert.equal(duration(7200), '2 h');
  assert.equal(duration(86400 * 3), '3 days');
  assert.equal(nodeSummary({ type: 'assign', to: { agent: 'a1' } }, () => 'Jane'), 'To Jane');
  assert.equal(nodeSummary({ type: 'wait_for', for: { type: 'event', name: 'paid' }, timeout_seconds: 3600 }), 'event paid, up to 1 h');
});

test('layout keeps positions and places the rest by breadth-first depth', () => {
  const bare = {
    start: 'a',
    nodes: [
      { id: 'a', type: 'condition', exits: { yes: 'b', no: 'c' } },
      { id: 'b', type: 'end' },
      { id: 'c', type: 'wait', seconds: 5, exits: { next: 'd' } },
      { id: 'd', type: 'end' },
      { id: 'lost', type: 'close', exits: {} },
    ],
  };
  assert.deepEqual([...depths(bare)], [['a', 0], ['b', 1], ['c', 1], ['d', 2]]);
  const at = layout(bare);
  const row = (n) => PAD + n * (NODE_H + GAP_Y);
  assert.deepEqual(at.get('a'), { x: PAD, y: row(0) });
  assert.equal(at.get('b').y, row(1));
  assert.equal(at.get('c').y, row(1));
  assert.ok(at.get('c').x >= at.get('b').x + NODE_W, 'side by side, not on top of each other');
  assert.equal(at.get('d').y, row(2));
  assert.equal(at.get('lost').y, row(3), 'unreached nodes go below');
  const kept = layout({ ...bare, nodes: [{ ...bare.nodes[0], position: { x: 500, y: 7 } }, ...bare.nodes.slice(1)] });
  assert.deepEqual(kept.get('a'), { x: 500, y: 7 });
  const spot = freeSpot([{ x: PAD, y: PAD }], { x: PAD, y: PAD });
  assert.equal(spot.y, PAD + NODE_H + GAP_Y);
  assert.deepEqual(portPoint({ x: 0, y: 0 }, 0, 1), { x: NODE_W / 2, y: NODE_H });
  assert.match(edgePath({ x: 0, y: 100 }, { x: 0, y: 0 }), /^M 0 100 C .* S /);
});

test('a flow becomes a graph and back unchanged', () => {
  const graph = toGraph(flow);
  assert.deepEqual(graph.edges.filter((e) => e.from === 'ask').map((e) => e.exit), ['button_0', 'button_1'], 'edges in port order');
  assert.deepEqual(toFlow(graph), flow);
  const laidOut = toFlow(toGraph({ ...flow, nodes: flow.nodes.map(({ position, ...n }) => n) }));
  assert.ok(laidOut.nodes.every((n) => Number.isFinite(n.position.x) && Number.isFinite(n.position.y)));
  assert.deepEqual(toFlow(toGraph(laidOut)), laidOut);
});

test('graph edits: add, connect, disconnect, rename, remove', () => {
  let graph = toGraph(flow);
  const added = addNode(graph, 'note', 'tag');
  assert.equal(added.id, 'note-1');
  assert.equal(edgeOf(added.graph, 'tag', 'next').to, 'end', 'a connected exit is left alone');
  graph = disconnect(added.graph, 'tag', 'next');
  assert.equal(edgeOf(graph, 'tag', 'next'), null);
  graph = connect(graph, 'tag', 'next', 'note-1');
  graph = connect(graph, 'tag', 'next', 'end');
  assert.equal(graph.edges.filter((e) => e.from === 'tag').length, 1, 'one edge per exit');
  const auto = addNode(disconnect(graph, 'tag', 'next'), 'close', 'tag');
  assert.equal(edgeOf(auto.graph, 'tag', 'next').to, auto.id, 'an open exit of the chosen node is connected');
  graph = moveNode(graph, 'note-1', 123.4, -5);
  assert.deepEqual(graph.nodes.find((n) => n.id === 'note-1').position, { x: 123, y: 0 });
  graph = updateNode(graph, 'hello', { ...graph.nodes[0], id: 'greet' });
  assert.equal(graph.start, 'greet');
  assert.equal(edgeOf(graph, 'greet', 'next').to, 'ask');
  const ask = graph.nodes.find((n) => n.id === 'ask');
  graph = updateNode(graph, 'ask', { ...ask, buttons: ['Pricing'] });
  assert.equal(edgeOf(graph, 'ask', 'button_1'), null, 'a removed button loses its edge');
  graph = removeNode(graph, 'greet');
  assert.equal(graph.start, 'ask', 'the start moves on');
  assert.ok(graph.edges.every((e) => e.from !== 'greet' && e.to !== 'greet'));
  const first = addNode({ start: '', nodes: [], edges: [] }, 'end');
  assert.equal(first.graph.start, first.id);
});

test('validation finds unreachable nodes, dangling exits and bad fields, by the server\'s paths', () => {
  assert.equal(validateDefinition(definition()).publishable, true);
  const broken = definition({
    start: 'a',
    nodes: [
      { id: 'a', type: 'condition', filter: {}, exits: { yes: 'b', no: 'nowhere' } },
      { id: 'b', type: 'wait', seconds: 0, exits: { yes: 'a' } },
      { id: 'lost', type: 'close', exits: {} },
      { id: 'lost', type: 'bot_message', body: ' ', buttons: ['x', 'X'], exits: {} },
    ],
  });
  const result = validateDefinition(broken);
  assert.equal(result.publishable, false);
  assert.deepEqual(result.errors.map((e) => e.field), [
    'flow.nodes[0].exits.no', 'flow.nodes[1].seconds', 'flow.nodes[1].exits.yes', 'flow.nodes[3].id',
    'flow.nodes[3].body', 'flow.nodes[3].buttons[1]', 'flow.nodes[2]', 'flow.nodes[3]',
  ]);
  assert.deepEqual(result.unreachable, ['lost', 'lost']);
  assert.deepEqual(result.dangling, [{ node: 'a', exit: 'no' }, { node: 'b', exit: 'yes' }]);
  assert.match(result.reason, /^Step 1: Leads to nowhere.* \(and 7 more problems\)$/);
  assert.deepEqual(validateDefinition(definition({ start: 'x', nodes: [] })).errors.map((e) => e.field), ['flow.nodes']);
  const trigger = validateDefinition({ ...definition(), trigger: { type: 'no_team_reply', minutes: 0 }, frequency: { type: 'every_days', days: 0 } });
  assert.deepEqual(trigger.errors.map((e) => e.field), ['trigger.minutes', 'frequency.days']);
});

test('faults land on their node or setting', () => {
  const placed = placeErrors([
    { field: 'flow.nodes[1].buttons[0]', message: 'too long' },
    { field: 'flow.nodes[2]', message: 'unreachable' },
    { field: 'audience.and[0].op', message: 'bad op' },
    { field: 'flow.start', message: 'no start' },
  ], definition());
  assert.deepEqual(placed.nodes, { ask: { 'buttons[0]': 'too long' }, tag: { '': 'unreachable' } });
  assert.deepEqual(placed.settings, { 'audience.and[0].op': 'bad op' });
  assert.deepEqual(placed.other, ['flow.start: no start']);
});

test('per-node funnel numbers, per version or all', () => {
  const rows = [
    { version: 1, node: 'hello', entered: 10, sent: 9, read: 5, replied: 1, exits: { next: 9 } },
    { version: 2, node: 'hello', entered: 5, sent: 5, read: 0, replied: 0, exits: { next: 5 } },
  ];
  assert.deepEqual(nodeFunnel(rows).get('hello'), { entered: 15, sent: 14, read: 5, replied: 1, exits: { next: 14 } });
  assert.equal(nodeFunnel(rows, 2).get('hello').entered, 5);
  assert.deepEqual(statVersions(rows), [2, 1]);
  assert.equal(funnelLine({ entered: 1200, sent: 3, read: 0, replied: 0 }), '1,200 in · 3 sent');
  assert.equal(goalRate({ runs: 8, goal_reached: 2 }), '25%');
  assert.equal(goalRate({ runs: 0 }), '');
});

test('the editor knows when its draft differs from what was saved', async () => {
  const { createEditor } = await import('./editor-state.js');
  const seen = [];
  const editor = createEditor({ id: 'x', name: 'A', status: 'draft', draft: definition() }, { onChange: (what) => seen.push(what) });
  assert.equal(editor.dirty, false);
  editor.move('tag', 400, 400);
  assert.equal(editor.dirty, true);
  editor.saved({ ...editor.automation });
  assert.equal(editor.dirty, false);
  editor.remove('tag');
  assert.deepEqual(editor.checks.unreachable, []);
  assert.equal(editor.graph.nodes.length, 3);
  editor.restore();
  assert.equal(editor.graph.nodes.length, 4);
  editor.refused([{ field: 'flow.nodes[1].body', message: 'bad' }]);
  assert.deepEqual(editor.nodeErrors('ask'), { body: 'bad' });
  assert.ok(editor.marks().faulty.has('ask'));
  editor.update('ask', { ...editor.graph.nodes[1], body: 'fixed' });
  assert.deepEqual(editor.nodeErrors('ask'), {}, 'editing a step clears the server\'s word on it');
  assert.ok(seen.includes('graph'));
});
