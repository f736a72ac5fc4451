// The open conversation's tags, under its header: a chip per tag (✕
// removes it) and "Add tag", suggesting the workspace's tags it does not
// have yet; Enter adds. The box is drawn once, so what is typed survives
// live redraws of the chips; focus stays in the box after adding, and
// moves to the next chip (or the box) after removing.

import { html, render } from '../../shared/html.js';
import { renderKeepingFocus } from '../ui/focus.js';
import { state, subscribe, announce } from '../data/store.js';
import { selectedDetail } from '../data/conversations.js';
import { loadConversationTags, tagNames, addConversationTag, removeConversationTag } from '../data/tags.js';
import { tagProblem } from '../data/conversation-tags.js';

export function mountTagEditor(element) {
  let alive = true;
  let shownId = null;
  // The conversations a tag is being added to, and the removals under way
  // (`removalKey`), so another conversation's chips and box are not held up.
  const adding = new Set();
  const removing = new Set();
  const removalKey = (id, tag) => `${id}\n${tag}`; // a tag holds no line break
  // The chip that takes focus when the focused one goes (its tag), while a removal is under way.
  let focusNext = null;

  render(element, html`
    <ul class="chips thread-tag-list" aria-label="Tags" data-testid="thread-tags" data-region="chips"></ul>
    <form class="tag-add" data-form="add-tag" novalidate>
      <label for="thread-tag-input" class="visually-hidden">Add tag</label>
      <input id="thread-tag-input" name="tag" type="text" list="thread-tag-suggestions" placeholder="Add tag…"
        autocomplete="off" spellcheck="false" enterkeyhint="done" aria-describedby="thread-tag-error"
        data-testid="tag-input">
      <datalist id="thread-tag-suggestions" data-region="suggestions"></datalist>
      <p class="field-error tag-error" id="thread-tag-error" role="alert" data-testid="tag-error"></p>
    </form>`);
  const chips = element.querySelector('[data-region="chips"]');
  const form = element.querySelector('form');
  const input = form.elements.tag;
  const suggestions = element.querySelector('[data-region="suggestions"]');
  const errorLine = element.querySelector('.tag-error');

  const showError = (text) => {
    render(errorLine, html`${text}`);
    if (text) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  };

  // Redrawn only when they change, so an open suggestion list is left alone.
  let shownSuggestions = null;
  const drawSuggestions = () => {
    const have = new Set(selectedDetail()?.tags ?? []);
    const names = tagNames().filter((name) => !have.has(name));
    const key = JSON.stringify(names);
    if (key === shownSuggestions) return;
    shownSuggestions = key;
    render(suggestions, html`${names.map((name) => html`<option value="${name}"></option>`)}`);
  };

  // The box is busy while a tag is being added to the conversation shown.
  const showAdding = () => {
    if (adding.has(shownId)) form.setAttribute('aria-busy', 'true');
    else form.removeAttribute('aria-busy');
  };

  const drawChips = () => {
    const detail = selectedDetail();
    element.hidden = !detail;
    if (detail?.id !== shownId) {
      // Another conversation: what was typed for the last one goes.
      shownId = detail?.id ?? null;
      input.value = '';
      showError('');
      focusNext = null;
      showAdding();
    }
    const tags = detail?.tags ?? [];
    const hadFocus = chips.contains(document.activeElement);
    renderKeepingFocus(chips, html`${tags.map((tag) => html`
      <li class="chip" data-testid="thread-tag" data-tag="${tag}">
        <span class="chip-text">${tag}</span>
        <button type="button" class="chip-remove" data-remove-tag="${tag}" data-focus-key="${`tag:${tag}`}"
          aria-label="${`Remove tag ${tag}`}" title="Remove" data-testid="tag-remove"
          ${removing.has(removalKey(shownId, tag)) ? html`aria-disabled="true"` : ''}>✕</button>
      </li>`)}`);
    if (hadFocus && !chips.contains(document.activeElement)) {
      const next = focusNext && chips.querySelector(`[data-remove-tag="${CSS.escape(focusNext)}"]`);
      (next || input).focus();
    }
    drawSuggestions();
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const id = state.selectedId;
    const tag = input.value.trim();
    const problem = tagProblem(tag);
    if (problem) {
      showError(problem);
      return;
    }
    if (!id || adding.has(id)) return;
    adding.add(id);
    showAdding();
    try {
      await addConversationTag(id, tag);
      if (!alive || state.selectedId !== id) return;
      // Only what was added is cleared: the box may hold the next one already.
      if (input.value.trim() === tag) input.value = '';
      showError('');
      drawChips();
      announce(`Tagged “${tag}”.`);
    } catch (error) {
      if (alive && state.selectedId === id) showError(error.fieldErrors?.tag ?? error.message);
    } finally {
      adding.delete(id);
      if (alive) showAdding();
    }
  });

  input.addEventListener('input', () => {
    if (errorLine.textContent) showError('');
  });

  chips.addEventListener('click', async (event) => {
    const button = event.target.closest('button[data-remove-tag]');
    const id = state.selectedId;
    if (!button || !id) return;
    const tag = button.dataset.removeTag;
    const key = removalKey(id, tag);
    if (removing.has(key)) return;
    // Focus goes to the chip after (or before) this one once it is gone.
    const buttons = [...chips.querySelectorAll('button[data-remove-tag]')];
    const at = buttons.indexOf(button);
    focusNext = (buttons[at + 1] ?? buttons[at - 1])?.dataset.removeTag ?? null;
    removing.add(key);
    try {
      await removeConversationTag(id, tag);
      if (!alive || state.selectedId !== id) return;
      showError('');
      drawChips();
      announce(`Removed the tag “${tag}”.`);
    } catch (error) {
      if (alive && state.selectedId === id) showError(error.message);
    } finally {
      removing.delete(key);
      if (state.selectedId === id) focusNext = null;
    }
  });

  const offs = [subscribe('detail', () => drawChips()), subscribe('tags', drawSuggestions)];
  loadConversationTags().catch((error) => console.warn('conversation tags:', error.message));
  drawChips();
  return {
    focus: () => input.focus(),
    destroy() {
      alive = false;
      offs.forEach((off) => off());
    },
  };
}
