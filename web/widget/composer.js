// The message box: Enter sends, Shift+Enter makes a new line, it grows
// with its text, keeps a draft per conversation, and reports typing at
// most every two seconds. While a bot's question expects an email
// address, a phone number or a number, a one-line field of that type
// stands in for the text area (setAnswer), and goes when it is answered.

import { answerField } from './bot-prompt.js';

const TYPING_EVERY_MS = 2000;
const MAX_HEIGHT_PX = 140;

export class Composer {
  /**
   * @param {HTMLFormElement} form holding a textarea, a one-line input
   *   (`.composer-line`, hidden) and a submit button
   * @param {{onSend: (text: string) => void, onTyping: () => void}} handlers
   */
  constructor(form, { onSend, onTyping }) {
    this.form = form;
    this.area = form.querySelector('textarea');
    this.line = form.querySelector('.composer-line');
    this.input = this.area;
    this.basePlaceholder = this.area.placeholder;
    this.answer = null;
    this.button = form.querySelector('button[type="submit"]');
    this.onSend = onSend;
    this.onTyping = onTyping;
    this.lastTypingAt = 0;
    this.drafts = new Map();
    this.draftKey = null;

    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.send();
    });
    for (const field of [this.area, this.line].filter(Boolean)) {
      field.addEventListener('keydown', (event) => {
        // Not while an input method is composing (Japanese, Chinese...).
        if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
          event.preventDefault();
          this.send();
        }
      });
      field.addEventListener('input', () => {
        this.autosize();
        this.updateButton();
        const now = Date.now();
        if (this.input.value.trim() && now - this.lastTypingAt >= TYPING_EVERY_MS) {
          this.lastTypingAt = now;
          this.onTyping();
        }
      });
    }
    this.updateButton();
  }

  send() {
    const text = this.input.value.trim();
    if (!text) {
      this.input.focus();
      return;
    }
    this.input.value = '';
    this.drafts.delete(this.draftKey);
    this.lastTypingAt = 0;
    this.autosize();
    this.updateButton();
    this.onSend(text);
    this.input.focus();
  }

  /** Switches to another conversation's draft (`'new'` for the start screen). */
  useDraft(key) {
    if (key === this.draftKey) return;
    if (this.draftKey !== null) {
      if (this.input.value) this.drafts.set(this.draftKey, this.input.value);
      else this.drafts.delete(this.draftKey);
    }
    this.draftKey = key;
    this.input.value = this.drafts.get(key) ?? '';
    this.lastTypingAt = 0;
    this.autosize();
    this.updateButton();
  }

  /** The draft being written now belongs to `key` (a conversation was just created). */
  renameDraft(key) {
    this.drafts.delete(this.draftKey);
    this.draftKey = key;
  }

  get isEmpty() {
    return this.input.value.trim() === '';
  }

  setPlaceholder(text) {
    this.basePlaceholder = text;
    if (!this.answer) this.input.placeholder = text;
  }

  /**
   * Sets the field for an answer of `kind` ('email', 'phone', 'number',
   * 'text', 'choice'), or back to an ordinary message with null. What was
   * typed, and the focus, move along when the field changes.
   */
  setAnswer(kind) {
    const field = answerField(kind);
    if ((field ? kind : null) === this.answer) return;
    this.answer = field ? kind : null;
    const next = field?.line && this.line ? this.line : this.area;
    if (next !== this.input) {
      const focused = document.activeElement === this.input;
      next.value = this.input.value;
      this.input.value = '';
      this.input.hidden = true;
      next.hidden = false;
      this.input = next;
      if (focused) this.focus();
    }
    if (next === this.line) this.line.type = field.type;
    for (const [attribute, value] of [['inputmode', field?.inputmode], ['autocomplete', field?.autocomplete ?? 'off']]) {
      if (value) next.setAttribute(attribute, value);
      else next.removeAttribute(attribute);
    }
    next.placeholder = field?.placeholder ?? this.basePlaceholder;
    this.autosize();
    this.updateButton();
  }

  show(visible) {
    this.form.hidden = !visible;
  }

  get visible() {
    return !this.form.hidden;
  }

  focus() {
    this.input.focus({ preventScroll: true });
  }

  clearDrafts() {
    this.drafts.clear();
    this.draftKey = null;
    this.input.value = '';
    this.autosize();
    this.updateButton();
  }

  updateButton() {
    this.button.setAttribute('aria-disabled', this.isEmpty ? 'true' : 'false');
  }

  autosize() {
    if (this.input !== this.area) return;
    this.input.style.height = 'auto';
    this.input.style.height = `${Math.min(this.input.scrollHeight, MAX_HEIGHT_PX)}px`;
  }
}
