// Where the flow editor draws things, with no DOM: boxes of one size,
// placed where their `position` says or, when it says nothing, by their
// breadth-first depth from the start (one row per depth); the exit ports
// along a box's bottom edge; the curve of an edge; the drawing's size.

export const NODE_W = 200;
export const NODE_H = 84;
export const GAP_X = 40;
export const GAP_Y = 80;
export const PAD = 40;

/** Depth of each node from `start`, breadth first; nodes it never reaches are absent. */
export function depths(flow) {
  const byId = new Map((flow?.nodes ?? []).map((node) => [node.id, node]));
  const depth = new Map();
  if (!byId.has(flow?.start)) return depth;
  depth.set(flow.start, 0);
  const queue = [flow.start];
  while (queue.length) {
    const id = queue.shift();
    for (const target of Object.values(byId.get(id)?.exits ?? {})) {
      if (byId.has(target) && !depth.has(target)) {
        depth.set(target, depth.get(id) + 1);
        queue.push(target);
      }
    }
  }
  return depth;
}

const overlaps = (a, b) => Math.abs(a.x - b.x) < NODE_W + GAP_X / 2 && Math.abs(a.y - b.y) < NODE_H + GAP_Y / 2;

function hasPosition(node) {
  return Number.isFinite(node?.position?.x) && Number.isFinite(node?.position?.y);
}

/**
 * Every node's `{x, y}`, by id: its own position when it has one, else a
 * free spot in the row of its depth (nodes the start does not reach go in
 * a row below the rest).
 */
export function layout(flow) {
  const nodes = flow?.nodes ?? [];
  const depth = depths(flow);
  const lastRow = Math.max(-1, ...depth.values()) + 1;
  const placed = new Map();
  for (const node of nodes) {
    if (hasPosition(node)) placed.set(node.id, { x: node.position.x, y: node.position.y });
  }
  // Rows in depth order, and in each row the nodes in flow order.
  const missing = nodes.filter((node) => !hasPosition(node))
    .map((node, i) => ({ node, row: depth.get(node.id) ?? lastRow, i }))
    .sort((a, b) => a.row - b.row || a.i - b.i);
  for (const { node, row } of missing) {
    const spot = { x: PAD, y: PAD + row * (NODE_H + GAP_Y) };
    while ([...placed.values()].some((other) => overlaps(spot, other))) spot.x += NODE_W + GAP_X;
    placed.set(node.id, spot);
  }
  return placed;
}

/** A free spot for a new node: below `near` when given, else under everything. */
export function freeSpot(positions, near = null) {
  const taken = [...positions];
  const spot = near
    ? { x: near.x, y: near.y + NODE_H + GAP_Y }
    : { x: PAD, y: taken.length ? Math.max(...taken.map((p) => p.y)) + NODE_H + GAP_Y : PAD };
  while (taken.some((other) => overlaps(spot, other))) spot.x += NODE_W + GAP_X;
  return spot;
}

/** Where exit `index` of `count` leaves a box at `at`: its bottom edge, evenly spaced. */
export function portPoint(at, index, count) {
  return { x: at.x + ((index + 1) * NODE_W) / (count + 1), y: at.y + NODE_H };
}

/** Where edges come into a box: the middle of its top edge. */
export function inPoint(at) {
  return { x: at.x + NODE_W / 2, y: at.y };
}

const round = (n) => Math.round(n * 10) / 10;

/** An SVG path from a port down to a box's top: a cubic curve (looping round when the box is above). */
export function edgePath(from, to) {
  const dy = to.y - from.y;
  const bend = Math.max(40, Math.abs(dy) / 2);
  if (dy >= 0) {
    return `M ${round(from.x)} ${round(from.y)} C ${round(from.x)} ${round(from.y + bend)}, ${round(to.x)} ${round(to.y - bend)}, ${round(to.x)} ${round(to.y)}`;
  }
  // Back up the flow: leave downwards, come in from above, swinging aside.
  const side = Math.max(from.x, to.x) + NODE_W / 2 + 20;
  return `M ${round(from.x)} ${round(from.y)} C ${round(from.x)} ${round(from.y + 60)}, ${round(side)} ${round(from.y + 60)}, ${round(side)} ${round((from.y + to.y) / 2)} `
    + `S ${round(to.x)} ${round(to.y - 60)}, ${round(to.x)} ${round(to.y)}`;
}

/** The drawing's size: everything, plus a margin to drop new boxes in. */
export function extent(positions) {
  let width = 0;
  let height = 0;
  for (const { x, y } of positions) {
    width = Math.max(width, x + NODE_W);
    height = Math.max(height, y + NODE_H);
  }
  return { width: width + PAD * 4 + NODE_W, height: height + PAD * 2 + NODE_H + GAP_Y };
}
