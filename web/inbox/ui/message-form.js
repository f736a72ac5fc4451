// What the two "Send a message" forms share (the profile's, for one
// contact, and the bulk composer's, for many): the "From" choices, the
// "Email if unread" toggle, and a preview of the body rendered for a real
// contact, asked for a moment after typing stops (stale answers dropped).

import { html } from '../../shared/html.js';
import { markdown } from '../../shared/markdown.js';
import { state, sortedAgents } from '../data/store.js';
import { previewTemplate } from '../data/conversations.js';
import { offersEmailFallback } from '../data/email.js';

const PREVIEW_DEBOUNCE_MS = 300;

/** `<option>`s for "From": the team, you first selected unless `selectedId` says otherwise. */
export function fromOptions(selectedId = state.me?.id) {
  const agents = sortedAgents();
  if (state.me && !agents.some((agent) => agent.id === state.me.id)) agents.unshift(state.me);
  return agents.map((agent) => html`<option value="${agent.id}" ${agent.id === selectedId ? html`selected` : ''}>${
    agent.id === state.me?.id ? `${agent.name} (you)` : agent.name}</option>`);
}

/** Whether the forms offer "Email if unread" (not when the workspace has the fallback off). */
export function emailFallbackOffered() {
  return offersEmailFallback(state.workspace);
}

/** The "Email if unread" checkbox, on by default. */
export function emailFallbackToggle({ testid, title }) {
  return html`<label class="email-toggle" data-region="email-toggle" title="${title}"
    ${emailFallbackOffered() ? '' : html`hidden`}>
    <input type="checkbox" name="email_fallback" checked data-testid="${testid}">
    <span>Email if unread</span>
  </label>`;
}

/** A template fault as one line: "Line 1, column 4: unexpected end of input". */
export function templateFault(error) {
  const fault = error.problem?.errors?.[0];
  if (!fault) return error.message;
  const where = fault.line ? `Line ${fault.line}, column ${fault.column}: ` : '';
  return `${where}${fault.message}`;
}

/**
 * Previews a body for a contact: `request(contactId, body, fromAgentId)`
 * calls `onResult({body: fragment} | {error} | null)` after the debounce
 * (at once for a body without snippet tags, which needs no server).
 */
export function createPreviewer(onResult) {
  let timer = null;
  let abort = null;
  const cancel = () => {
    clearTimeout(timer);
    abort?.abort();
    abort = null;
  };
  return {
    request(contactId, body, fromAgentId) {
      cancel();
      if (!body.trim()) {
        onResult(null);
        return;
      }
      if (!body.includes('{{') || !contactId) {
        onResult({ body: markdown(body) });
        return;
      }
      timer = setTimeout(async () => {
        const mine = new AbortController();
        abort = mine;
        try {
          const text = await previewTemplate(contactId, body, mine.signal, fromAgentId);
          if (!mine.signal.aborted) onResult({ body: markdown(text) });
        } catch (error) {
          if (mine.signal.aborted || error.name === 'AbortError') return;
          onResult({ error: templateFault(error) });
        }
      }, PREVIEW_DEBOUNCE_MS);
    },
    cancel,
  };
}
