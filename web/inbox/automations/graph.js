// The flow as the editor changes it, with no DOM: a graph of nodes (each
// with its fields and a position) and edges (`{from, exit, to}`), made
// from a definition's `flow` and turned back into one. Every change
// returns a new graph; the caller keeps the one it shows.

import { exitNames, newNode } from './definition.js';
import { layout, freeSpot } from './layout.js';

/** `flow` (`{start, nodes}`) as a graph; nodes without a position are laid out. */
export function toGraph(flow) {
  const positions = layout(flow);
  const nodes = (flow?.nodes ?? []).map((node) => {
    const { exits, position, ...fields } = node;
    return { ...fields, position: { ...positions.get(node.id) } };
  });
  const edges = [];
  for (const node of flow?.nodes ?? []) {
    const order = exitNames(node);
    const named = Object.keys(node.exits ?? {})
      .sort((a, b) => (order.indexOf(a) + 1 || Infinity) - (order.indexOf(b) + 1 || Infinity));
    for (const exit of named) edges.push({ from: node.id, exit, to: node.exits[exit] });
  }
  return { start: flow?.start ?? '', nodes, edges };
}

/** The graph as a definition's `flow`: each node with its `exits` and `position`. */
export function toFlow(graph) {
  return {
    start: graph.start,
    nodes: graph.nodes.map(({ position, ...fields }) => {
      const exits = {};
      for (const edge of graph.edges) if (edge.from === fields.id) exits[edge.exit] = edge.to;
      return { ...fields, exits, position: { x: Math.round(position.x), y: Math.round(position.y) } };
    }),
  };
}

export const findNode = (graph, id) => graph.nodes.find((node) => node.id === id) ?? null;

/** The edge leaving `id` by `exit`, or null. */
export const edgeOf = (graph, id, exit) => graph.edges.find((e) => e.from === id && e.exit === exit) ?? null;

/**
 * Adds a node of `type` below `afterId` (or under everything) and, when
 * `afterId` has an exit with nowhere to go, connects it. The first node
 * becomes the start. Returns `{graph, id}`.
 */
export function addNode(graph, type, afterId = null) {
  const after = afterId ? findNode(graph, afterId) : null;
  const position = freeSpot(graph.nodes.map((n) => n.position), after?.position ?? null);
  const { exits, position: at, ...node } = newNode(type, graph.nodes.map((n) => n.id), position);
  let next = { ...graph, nodes: [...graph.nodes, { ...node, position: at }] };
  if (!graph.nodes.length || !findNode(graph, graph.start)) next.start = node.id;
  const open = after && exitNames(after).find((exit) => !edgeOf(graph, after.id, exit));
  if (open) next = connect(next, after.id, open, node.id);
  return { graph: next, id: node.id };
}

/** Removes a node and every edge to or from it; the start moves to what it led to, if anything. */
export function removeNode(graph, id) {
  const nodes = graph.nodes.filter((node) => node.id !== id);
  let { start } = graph;
  if (start === id) {
    const onward = graph.edges.find((e) => e.from === id && e.to !== id && nodes.some((n) => n.id === e.to));
    start = onward?.to ?? nodes[0]?.id ?? '';
  }
  return { start, nodes, edges: graph.edges.filter((e) => e.from !== id && e.to !== id) };
}

export function moveNode(graph, id, x, y) {
  return {
    ...graph,
    nodes: graph.nodes.map((node) => (node.id === id
      ? { ...node, position: { x: Math.max(0, Math.round(x)), y: Math.max(0, Math.round(y)) } } : node)),
  };
}

/** Points `from`'s `exit` at `to` (replacing where it led). */
export function connect(graph, from, exit, to) {
  const edges = graph.edges.filter((e) => !(e.from === from && e.exit === exit));
  return { ...graph, edges: [...edges, { from, exit, to }] };
}

export function disconnect(graph, from, exit) {
  return { ...graph, edges: graph.edges.filter((e) => !(e.from === from && e.exit === exit)) };
}

export function setStart(graph, id) {
  return { ...graph, start: id };
}

/**
 * Replaces a node's fields (`next` holds all of them, `id` and `type`
 * included). A new id carries its edges and the start along; exits the
 * node no longer has (a button taken away) lose their edges.
 */
export function updateNode(graph, id, next) {
  const newId = next.id ?? id;
  const nodes = graph.nodes.map((node) => (node.id === id ? { ...next, id: newId, position: node.position } : node));
  const exits = new Set(exitNames({ ...next, id: newId }));
  const edges = graph.edges
    .map((e) => ({ from: e.from === id ? newId : e.from, exit: e.exit, to: e.to === id ? newId : e.to }))
    .filter((e) => e.from !== newId || exits.has(e.exit));
  return { start: graph.start === id ? newId : graph.start, nodes, edges };
}
