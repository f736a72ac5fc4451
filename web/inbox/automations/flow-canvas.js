// The flow drawn as inline SVG: a box per step at its position, its exits
// as dots along its lower edge (labelled, with how many runs took each),
// and a curve from each exit to the step it leads to. Steps that cannot be
// reached and exits that lead nowhere are marked; the start is labelled.
//
// Pointer: drag a box to move it; drag from an exit's dot to a box to
// connect them, or to empty space to disconnect; click an edge to edit
// its step's exits. Keyboard: each box is focusable (Tab, in flow order);
// arrows move it (Shift: further), Delete removes it, Enter opens its form.
//
//   const canvas = mountFlowCanvas(element, editor); canvas.draw();

import { html, render } from '../../shared/html.js';
import { exitNames, exitLabel, nodeSummary, nodeTitle } from './definition.js';
import { NODE_W, NODE_H, portPoint, inPoint, edgePath, extent } from './layout.js';
import { findNode } from './graph.js';
import { funnelLine, count } from './stats.js';

const NUDGE = 10;
const DRAG_THRESHOLD = 4;
const cut = (text, max) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

export function mountFlowCanvas(element, editor) {
  render(element, html`
    <div class="flow-scroll" data-testid="flow-canvas">
      <svg class="flow-svg" xmlns="http://www.w3.org/2000/svg" role="group" aria-label="The flow: Tab moves between steps"></svg>
    </div>`);
  const scroller = element.querySelector('.flow-scroll');
  const svg = element.querySelector('svg');
  let drag = null; // {kind: 'move'|'connect', id, exit, start:{x,y}, offset, moved, at}
  let frame = 0;

  // Positions, with the box being dragged where the pointer has it.
  const positionOf = (node) => (drag?.kind === 'move' && drag.moved && drag.id === node.id ? drag.at : node.position);

  const nodeView = (node, index, marks) => {
    const at = positionOf(node);
    const exits = exitNames(node);
    const funnel = marks.funnel?.get(node.id);
    const classes = ['flow-node',
      marks.selected === node.id && 'is-selected',
      marks.unreachable.has(node.id) && 'is-unreachable',
      marks.faulty.has(node.id) && 'is-faulty',
      marks.start === node.id && 'is-start'].filter(Boolean).join(' ');
    const exitText = exits.map((exit) => {
      const to = editor.graph.edges.find((e) => e.from === node.id && e.exit === exit)?.to;
      return `${exitLabel(node, exit)} to ${to ?? 'the end'}`;
    }).join(', ');
    const problems = [marks.unreachable.has(node.id) && 'cannot be reached from the start',
      marks.faulty.has(node.id) && 'has a problem'].filter(Boolean).join(' and ');
    const label = `Step ${index + 1}${marks.start === node.id ? ', the start' : ''}: ${nodeTitle(node)}, ${node.id}. `
      + `${nodeSummary(node, editor.agentName, editor.teamName)}${exitText ? `. Exits: ${exitText}` : ''}${problems ? `. It ${problems}` : ''}`
      + `${funnel ? `. ${funnelLine(funnel)}` : ''}.`;
    return html`
      <g class="${classes}" data-node-id="${node.id}" transform="${`translate(${at.x} ${at.y})`}" tabindex="0"
        role="button" aria-label="${label}" aria-pressed="${marks.selected === node.id ? 'true' : 'false'}"
        aria-keyshortcuts="Enter Delete ArrowUp ArrowDown ArrowLeft ArrowRight" data-testid="flow-node">
        <rect class="flow-box" width="${NODE_W}" height="${NODE_H}" rx="6"></rect>
        ${marks.start === node.id ? html`<text class="flow-start" x="${NODE_W - 8}" y="16" text-anchor="end">START</text>` : ''}
        <text class="flow-title" x="10" y="18">${cut(nodeTitle(node), 22)}</text>
        <text class="flow-id" x="10" y="34">${cut(node.id, 28)}</text>
        <text class="flow-summary" x="10" y="50">${cut(nodeSummary(node, editor.agentName, editor.teamName), 30)}</text>
        ${funnel ? html`<text class="flow-funnel" x="10" y="66" data-testid="flow-funnel">${cut(funnelLine(funnel), 32)}</text>` : ''}
        ${exits.map((exit, i) => {
          const port = portPoint({ x: 0, y: 0 }, i, exits.length);
          const taken = funnel?.exits?.[exit];
          const dangling = marks.dangling.has(`${node.id}:${exit}`);
          return html`<g class="flow-port${dangling ? ' is-dangling' : ''}" data-exit="${exit}"
            transform="${`translate(${port.x} ${port.y})`}">
            <circle r="6"></circle>
            <text y="${exits.length > 2 && i % 2 ? 28 : 18}" text-anchor="middle">${cut(exitLabel(node, exit), 12)}${taken ? ` ${count(taken)}` : ''}</text>
          </g>`;
        })}
      </g>`;
  };

  const edgeView = (edge, byId, marks) => {
    const from = byId.get(edge.from);
    const to = byId.get(edge.to);
    const exits = exitNames(from);
    const index = exits.indexOf(edge.exit);
    if (!to || index < 0) return '';
    const d = edgePath(portPoint(positionOf(from), index, exits.length), inPoint(positionOf(to)));
    const selected = marks.selected === edge.from || marks.selected === edge.to;
    return html`<path class="${`flow-edge${selected ? ' is-selected' : ''}`}" d="${d}" marker-end="url(#flow-arrow)"
      data-from="${edge.from}" data-exit="${edge.exit}"></path>`;
  };

  const draw = () => {
    frame = 0;
    const { graph } = editor;
    const marks = editor.marks();
    const byId = new Map(graph.nodes.map((node) => [node.id, node]));
    const size = extent(graph.nodes.map(positionOf));
    const focused = svg.contains(document.activeElement) ? document.activeElement.dataset.nodeId : null;
    svg.setAttribute('width', size.width);
    svg.setAttribute('height', size.height);
    svg.setAttribute('viewBox', `0 0 ${size.width} ${size.height}`);
    render(svg, html`
      <defs><marker id="flow-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
        <path d="M 0 0 L 10 5 L 0 10 z"></path></marker></defs>
      <g class="flow-edges">${graph.edges.map((edge) => edgeView(edge, byId, marks))}</g>
      <g class="flow-nodes">${graph.nodes.map((node, i) => nodeView(node, i, marks))}</g>
      <path class="flow-wire" d=""></path>`);
    if (focused) nodeElement(focused)?.focus({ preventScroll: true });
  };

  const redrawSoon = () => {
    if (!frame) frame = requestAnimationFrame(draw);
  };

  const nodeElement = (id) => svg.querySelector(`[data-node-id="${CSS.escape(id)}"]`);

  const point = (event) => {
    const box = svg.getBoundingClientRect();
    return { x: event.clientX - box.left, y: event.clientY - box.top };
  };

  svg.addEventListener('pointerdown', (event) => {
    if (event.button !== 0) return;
    const nodeEl = event.target.closest('[data-node-id]');
    if (!nodeEl) return;
    const node = findNode(editor.graph, nodeEl.dataset.nodeId);
    if (!node) return;
    const at = point(event);
    const port = event.target.closest('.flow-port');
    drag = port
      ? { kind: 'connect', id: node.id, exit: port.dataset.exit, start: at, moved: false, at }
      : { kind: 'move', id: node.id, start: at, offset: { x: at.x - node.position.x, y: at.y - node.position.y }, moved: false, at: node.position };
    svg.setPointerCapture(event.pointerId);
    event.preventDefault();
    nodeEl.focus({ preventScroll: true });
  });

  svg.addEventListener('pointermove', (event) => {
    if (!drag) return;
    const at = point(event);
    if (!drag.moved && Math.hypot(at.x - drag.start.x, at.y - drag.start.y) < DRAG_THRESHOLD) return;
    drag.moved = true;
    if (drag.kind === 'move') {
      drag.at = { x: Math.max(0, at.x - drag.offset.x), y: Math.max(0, at.y - drag.offset.y) };
      redrawSoon();
    } else {
      const node = findNode(editor.graph, drag.id);
      const exits = exitNames(node);
      const from = portPoint(node.position, exits.indexOf(drag.exit), exits.length);
      svg.querySelector('.flow-wire')?.setAttribute('d', edgePath(from, at));
    }
  });

  const endDrag = (event, cancelled = false) => {
    if (!drag) return;
    const done = drag;
    drag = null;
    if (svg.hasPointerCapture?.(event.pointerId)) svg.releasePointerCapture(event.pointerId);
    svg.querySelector('.flow-wire')?.setAttribute('d', '');
    if (cancelled) {
      draw();
      return;
    }
    if (!done.moved) {
      editor.select(done.id);
      return;
    }
    if (done.kind === 'move') {
      editor.move(done.id, done.at.x, done.at.y);
      return;
    }
    const hit = document.elementFromPoint(event.clientX, event.clientY)?.closest?.('[data-node-id]');
    if (hit && svg.contains(hit)) editor.connect(done.id, done.exit, hit.dataset.nodeId);
    else editor.disconnect(done.id, done.exit);
  };
  svg.addEventListener('pointerup', (event) => endDrag(event));
  svg.addEventListener('pointercancel', (event) => endDrag(event, true));

  svg.addEventListener('dblclick', (event) => {
    const nodeEl = event.target.closest('[data-node-id]');
    if (nodeEl) editor.open(nodeEl.dataset.nodeId);
  });

  // An edge: edit the exits of the step it leaves.
  svg.addEventListener('click', (event) => {
    const edge = event.target.closest('.flow-edge');
    if (edge) editor.open(edge.dataset.from, edge.dataset.exit);
  });

  svg.addEventListener('keydown', (event) => {
    const nodeEl = event.target.closest?.('[data-node-id]');
    if (!nodeEl || event.altKey || event.ctrlKey || event.metaKey) return;
    const id = nodeEl.dataset.nodeId;
    const node = findNode(editor.graph, id);
    if (!node) return;
    const step = event.shiftKey ? NUDGE * 5 : NUDGE;
    const moves = { ArrowUp: [0, -step], ArrowDown: [0, step], ArrowLeft: [-step, 0], ArrowRight: [step, 0] };
    if (moves[event.key]) {
      const [dx, dy] = moves[event.key];
      editor.move(id, node.position.x + dx, node.position.y + dy);
      nodeElement(id)?.focus();
      nodeElement(id)?.scrollIntoView?.({ block: 'nearest', inline: 'nearest' });
    } else if (event.key === 'Delete' || event.key === 'Backspace') {
      editor.remove(id);
    } else if (event.key === 'Enter') {
      editor.open(id);
    } else if (event.key === ' ') {
      editor.select(id);
    } else if (event.key === 'Escape' && drag) {
      endDrag(event, true);
    } else {
      return;
    }
    event.preventDefault();
  });

  svg.addEventListener('focusin', (event) => {
    const nodeEl = event.target.closest?.('[data-node-id]');
    if (nodeEl && !drag && editor.selected !== nodeEl.dataset.nodeId) editor.select(nodeEl.dataset.nodeId, { quiet: true });
  });

  return {
    draw,
    focusNode(id) {
      const target = nodeElement(id);
      target?.focus({ preventScroll: true });
      target?.scrollIntoView?.({ block: 'nearest', inline: 'nearest' });
      return Boolean(target);
    },
    get scroller() {
      return scroller;
    },
    destroy() {
      cancelAnimationFrame(frame);
    },
  };
}
