// The message box: Enter sends, Shift+Enter makes a new line, it grows
// with its text, keeps a draft per conversation, and reports typing at
// most every two seconds.

const TYPING_EVERY_MS = 2000;
const MAX_HEIGHT_PX = 140;

export class Composer {
  /**
   * @param {HTMLFormElement} form holding a textarea and a submit button
   * @param {{onSend: (text: string) => void, onTyping: () => void}} handlers
   */
  constructor(form, { onSend, onTyping }) {
    this.form = form;
    this.input = form.querySelector('textarea');
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
    this.input.addEventListener('keydown', (event) => {
      // Not while an input method is composing (Japanese, Chinese...).
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        this.send();
      }
    });
    this.input.addEventListener('input', () => {
      this.autosize();
      this.updateButton();
      const now = Date.now();
      if (this.input.value.trim() && now - this.lastTypingAt >= TYPING_EVERY_MS) {
        this.lastTypingAt = now;
        this.onTyping();
      }
    });
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
    this.input.placeholder = text;
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
    this.input.style.height = 'auto';
    this.input.style.height = `${Math.min(this.input.scrollHeight, MAX_HEIGHT_PX)}px`;
  }
}
