// What an automation's definition holds, with no DOM: the node types of a
// flow (their fields, defaults and exits), the triggers and frequencies,
// new nodes with fresh ids, and the one-line summaries the list and the
// flow's boxes show. Touches no DOM, so that `node --test` can load it.

/** Node ids as the editor makes them (the server also allows capitals). */
export const NODE_ID = /^[A-Za-z0-9_-]{1,64}$/;

const YES_NO = ['yes', 'no'];

/**
 * The node types, in the palette's order: label, palette group, the fields
 * a new node starts with, and its exits (a function of the node when they
 * depend on it).
 */
export const NODE_TYPES = {
  send_message: { label: 'Send message', group: 'Messages', fields: () => ({ from: 'bot', body: 'Hi there!', email_fallback: true }), exits: ['next'] },
  bot_message: { label: 'Bot message with buttons', group: 'Messages', fields: () => ({ body: 'How can we help?', buttons: ['Sales', 'Support'] }), exits: (node) => [...(node.buttons ?? []).map((_, i) => `button_${i}`), 'timed_out'] },
  ask: { label: 'Ask a question', group: 'Messages', fields: () => ({ body: 'What is your email?', property: 'email', answer: 'email', choices: [] }), exits: ['next', 'timed_out'] },
  note: { label: 'Add a note', group: 'Messages', fields: () => ({ body: 'Note for the team' }), exits: ['next'] },
  set_property: { label: 'Set property', group: 'Contact', fields: () => ({ name: '', value: '' }), exits: ['next'] },
  unset_property: { label: 'Unset property', group: 'Contact', fields: () => ({ name: '' }), exits: ['next'] },
  increment_property: { label: 'Increment property', group: 'Contact', fields: () => ({ name: '', by: 1 }), exits: ['next'] },
  add_tag: { label: 'Add tag', group: 'Contact', fields: () => ({ tag: '' }), exits: ['next'] },
  remove_tag: { label: 'Remove tag', group: 'Contact', fields: () => ({ tag: '' }), exits: ['next'] },
  assign: { label: 'Assign', group: 'Conversation', fields: () => ({ to: 'round_robin' }), exits: ['next'] },
  close: { label: 'Close', group: 'Conversation', fields: () => ({}), exits: ['next'] },
  snooze: { label: 'Snooze', group: 'Conversation', fields: () => ({ minutes: 60 }), exits: ['next'] },
  reopen: { label: 'Reopen', group: 'Conversation', fields: () => ({}), exits: ['next'] },
  webhook: { label: 'Call a webhook', group: 'Contact', fields: () => ({ url: 'https://' }), exits: ['next'] },
  condition: { label: 'Condition', group: 'Branch', fields: () => ({ filter: { and: [] } }), exits: YES_NO },
  business_hours: { label: 'In business hours?', group: 'Branch', fields: () => ({}), exits: YES_NO },
  team_available: { label: 'Team available?', group: 'Branch', fields: () => ({}), exits: YES_NO },
  split: { label: 'A/B split', group: 'Branch', fields: () => ({ percent: 50 }), exits: ['a', 'b'] },
  contact_replied: { label: 'Contact replied?', group: 'Branch', fields: () => ({}), exits: YES_NO },
  team_replied: { label: 'Team replied?', group: 'Branch', fields: () => ({}), exits: YES_NO },
  wait: { label: 'Wait', group: 'Wait', fields: () => ({ seconds: 3600 }), exits: ['next'] },
  wait_until: { label: 'Wait until…', group: 'Wait', fields: () => ({ time: '09:00' }), exits: ['next'] },
  wait_for: { label: 'Wait for…', group: 'Wait', fields: () => ({ for: { type: 'reply' }, timeout_seconds: 86400 }), exits: ['happened', 'timed_out'] },
  ai_answer: { label: 'AI answer', group: 'Messages', fields: () => ({}), exits: ['answered', 'handed_over', 'no_answer'] },
  handover: { label: 'Hand over to the team', group: 'End', fields: () => ({ to: 'round_robin' }), exits: [] },
  end: { label: 'End', group: 'End', fields: () => ({}), exits: [] },
};

export const PALETTE_GROUPS = ['Messages', 'Contact', 'Conversation', 'Branch', 'Wait', 'End'];

/** The exits a node can take, in the order its ports are drawn. */
export function exitNames(node) {
  const exits = NODE_TYPES[node?.type]?.exits;
  if (!exits) return Object.keys(node?.exits ?? {});
  return typeof exits === 'function' ? exits(node) : [...exits];
}

const EXIT_LABELS = {
  next: 'Next', yes: 'Yes', no: 'No', happened: 'Happened', timed_out: 'Timed out', a: 'A', b: 'B',
  answered: 'Answered', handed_over: 'Handed over', no_answer: 'No answer',
};

/** What a port says: a button's label for `button_N`, the share for a split. */
export function exitLabel(node, exit) {
  const button = /^button_(\d+)$/.exec(exit);
  if (button) return node.buttons?.[Number(button[1])] || `Button ${Number(button[1]) + 1}`;
  if (node.type === 'split' && (exit === 'a' || exit === 'b')) {
    const percent = Number(node.percent) || 0;
    return `${exit.toUpperCase()} ${exit === 'a' ? percent : 100 - percent}%`;
  }
  return EXIT_LABELS[exit] ?? exit;
}

/** A fresh id for a node of `type`, not among `taken`: `message-3`. */
export function newNodeId(type, taken) {
  const used = new Set(taken);
  const stem = String(type).replace(/_message$/, '').replaceAll('_', '-') || 'node';
  for (let n = 1; ; n += 1) {
    const id = `${stem}-${n}`;
    if (!used.has(id)) return id;
  }
}

/** A node of `type` with its default fields and no exits yet. */
export function newNode(type, taken = [], position = null) {
  const spec = NODE_TYPES[type];
  if (!spec) throw new Error(`unknown node type ${type}`);
  const node = { id: newNodeId(type, taken), type, ...spec.fields(), exits: {} };
  if (position) node.position = { x: position.x, y: position.y };
  return node;
}

// --- Triggers and frequency --------------------------------------------------------

export const TRIGGER_TYPES = {
  page_visited: { label: 'Visits a page', fields: () => ({ url: { contains: '/pricing' }, seconds_on_page: 30 }) },
  session_started: { label: 'Starts a visit', fields: () => ({}) },
  event_tracked: { label: 'Does an event', fields: () => ({ name: '' }) },
  property_changed: { label: 'A property changes', fields: () => ({ name: '' }) },
  tag_added: { label: 'Gets a tag', fields: () => ({ tag: '' }) },
  contact_created: { label: 'Is a new contact', fields: () => ({}) },
  conversation_started: { label: 'Starts a conversation', fields: () => ({}) },
  contact_replied: { label: 'Replies in a conversation', fields: () => ({}) },
  no_team_reply: { label: 'Waits for a team reply', fields: () => ({ minutes: 5 }) },
  contact_unresponsive: { label: 'Stops answering', fields: () => ({ minutes: 60 }) },
  status_changed: { label: 'A conversation’s status changes', fields: () => ({ to: null }) },
  date_reached: { label: 'A date comes due', fields: () => ({ property: '', offset_days: 0 }) },
  manual: { label: 'Started by hand only', fields: () => ({}) },
};

export const URL_MATCHES = [['contains', 'contains'], ['equals', 'is exactly'], ['matches', 'matches the pattern']];

/** A trigger of `type` with its default fields. */
export function newTrigger(type) {
  return { type, ...(TRIGGER_TYPES[type] ?? TRIGGER_TYPES.manual).fields() };
}

const plural = (n, one, many = `${one}s`) => `${n} ${Number(n) === 1 ? one : many}`;

/** "When someone visits a page containing /pricing for 30 s". */
export function triggerSummary(trigger) {
  switch (trigger?.type) {
    case 'page_visited': {
      const [how, value] = Object.entries(trigger.url ?? {})[0] ?? ['contains', ''];
      const words = how === 'equals' ? 'at' : how === 'matches' ? 'matching' : 'containing';
      const stay = Number(trigger.seconds_on_page) > 0 ? ` for ${trigger.seconds_on_page} s` : '';
      return `Visits a page ${words} ${value}${stay}`;
    }
    case 'event_tracked':
      return `Does the event ${trigger.name || '…'}`;
    case 'property_changed':
      return `Property ${trigger.name || '…'} changes`;
    case 'tag_added':
      return `Gets the tag ${trigger.tag || '…'}`;
    case 'no_team_reply':
      return `Waits ${plural(trigger.minutes, 'minute')} for a team reply`;
    case 'contact_unresponsive':
      return `Has not answered for ${plural(trigger.minutes, 'minute')}`;
    case 'status_changed':
      return trigger.to ? `A conversation becomes ${trigger.to}` : 'A conversation’s status changes';
    case 'date_reached': {
      const days = Number(trigger.offset_days) || 0;
      const when = days === 0 ? 'On' : days < 0 ? `${plural(-days, 'day')} before` : `${plural(days, 'day')} after`;
      return `${when} ${trigger.property || '…'}`;
    }
    default:
      return TRIGGER_TYPES[trigger?.type]?.label ?? 'Unknown trigger';
  }
}

export function frequencySummary(frequency) {
  switch (frequency?.type) {
    case 'every_days':
      return `At most once every ${plural(frequency.days, 'day')}`;
    case 'every_time':
      return 'Every time';
    default:
      return 'Once per person';
  }
}

/** A new automation's definition: started by hand, one message. */
export function newDefinition() {
  const first = newNode('send_message', [], { x: 40, y: 40 });
  return {
    trigger: newTrigger('manual'),
    audience: null,
    goal: null,
    frequency: { type: 'once' },
    flow: { start: first.id, nodes: [first] },
  };
}

// --- What a node's box says ---------------------------------------------------------

const excerpt = (text, max = 40) => {
  const line = String(text ?? '').replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};

/** `seconds` as "90 s", "5 min", "2 h", "3 days". */
export function duration(seconds) {
  const s = Number(seconds) || 0;
  if (s % 86400 === 0 && s >= 86400) return plural(s / 86400, 'day');
  if (s % 3600 === 0 && s >= 3600) return `${s / 3600} h`;
  if (s % 60 === 0 && s >= 60) return `${s / 60} min`;
  return `${s} s`;
}

function assignee(to, agentName, teamName) {
  if (to === 'round_robin') return 'round robin';
  if (to === 'nobody' || !to) return 'nobody';
  if (to.team) return teamName(to.team) ? `the team ${teamName(to.team)}` : 'a team';
  return agentName(to.agent) ?? 'a teammate';
}

/**
 * One line under a node's title. `agentName(id)` names teammates,
 * `teamName(id)` teams (null when it does not know them).
 */
export function nodeSummary(node, agentName = () => null, teamName = () => null) {
  switch (node.type) {
    case 'webhook':
      return `POST ${node.url || '…'}${node.secret ? ' (signed)' : ''}`;
    case 'send_message':
    case 'note':
    case 'bot_message':
    case 'ask':
      return excerpt(node.body);
    case 'set_property':
      return `${node.name || '…'} = ${excerpt(JSON.stringify(node.value ?? ''), 24)}`;
    case 'unset_property':
      return node.name || '…';
    case 'increment_property':
      return `${node.name || '…'} + ${node.by}`;
    case 'add_tag':
    case 'remove_tag':
      return node.tag || '…';
    case 'assign':
    case 'handover':
      return `To ${assignee(node.to, agentName, teamName)}`;
    case 'team_available':
      if (!node.team) return 'Any member of the workspace';
      return teamName(node.team) ? `Someone in the team ${teamName(node.team)}` : 'Someone in a team';
    case 'snooze':
      return `For ${duration((Number(node.minutes) || 0) * 60)}`;
    case 'split':
      return `${node.percent}% / ${100 - (Number(node.percent) || 0)}%`;
    case 'wait':
      return duration(node.seconds);
    case 'wait_until':
      return node.business_hours ? 'Until business hours' : `Until ${node.time || '…'} (office time)`;
    case 'wait_for': {
      const what = node.for?.type === 'team_reply' ? 'a team reply'
        : node.for?.type === 'event' ? `event ${node.for.name || '…'}`
          : node.for?.type === 'property_changed' ? `${node.for.name || '…'} to change` : 'a reply';
      return `${what}, up to ${duration(node.timeout_seconds)}`;
    }
    case 'condition':
      return 'If the person matches';
    default:
      return '';
  }
}

/** The node's title: its type's label. */
export function nodeTitle(node) {
  return NODE_TYPES[node.type]?.label ?? node.type;
}
