// The message box: Enter sends, Shift+Enter makes a new line, it grows
// with its text, keeps a draft per conversation, and reports typing at
// most every two seconds. While a bot's question expects an email
// address, a phone number or a number, a one-line field of that type
// stands in for the text area (setAnswer), and goes when it is answered.
// Files come through the attach button, a paste or a drop onto the
// messenger, and wait as chips (attachment-tray.js) until the message goes
// with them: it may then have no text, and it waits for their uploads.
// What the workspace takes (the boot's `attachments`, setAttachments)
// decides: no attach button and no files when it takes none, the picker's
// `accept`, and files over the size limit refused before uploading.

import { answerField } from './bot-prompt.js';
import { AttachmentTray, filesOf } from './attachment-tray.js';
import { uploadsState } from './attachments.js';
import { takesFiles, acceptFor, limitOf } from '../shared/file-kinds.js';
import { t } from './i18n.js';

const TYPING_EVERY_MS = 2000;
const MAX_HEIGHT_PX = 140;

export class Composer {
  /**
   * @param {HTMLFormElement} form holding a textarea, a one-line input
   *   (`.composer-line`, hidden), a submit button, the attach button and
   *   its file input, and the list for the files' chips
   * @param {{onSend: (text: string, files: {attachment: object, file: File}[]) => void,
   *   onTyping: () => void, upload: (file: File, name: string, signal: AbortSignal) => Promise<object>}} handlers
   */
  constructor(form, { onSend, onTyping, upload }) {
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
    this.tray = new AttachmentTray({
      list: form.querySelector('.attachment-chips'),
      upload,
      onChange: () => this.updateButton(),
      onEmptied: () => this.focus(),
    });
    this.attachments = null;
    this.attachButton = form.querySelector('.attach-button');
    this.picker = form.querySelector('.attach-input');
    this.acceptFiles(form);

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
      field.addEventListener('paste', (event) => {
        const files = filesOf(event.clipboardData);
        if (!files.length || !this.takesFiles) return;
        event.preventDefault();
        this.tray.add(files);
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

  /** The attach button and its file input, and files dropped anywhere on the messenger. */
  acceptFiles(form) {
    const { attachButton: button, picker } = this;
    button?.addEventListener('click', () => picker?.click());
    picker?.addEventListener('change', () => {
      this.tray.add(picker.files);
      picker.value = ''; // the same file may be chosen again
    });
    const root = form.closest('.messenger') ?? form.ownerDocument.body;
    let depth = 0;
    const dragging = (on) => root.classList.toggle('messenger--dropping', on);
    const hasFiles = (event) => [...(event.dataTransfer?.types ?? [])].includes('Files');
    root.addEventListener('dragenter', (event) => {
      if (!hasFiles(event) || !this.visible || !this.takesFiles) return;
      depth += 1;
      root.dataset.dropLabel = t('dropFiles');
      dragging(true);
    });
    root.addEventListener('dragleave', (event) => {
      if (!hasFiles(event)) return;
      depth = Math.max(0, depth - 1);
      if (!depth) dragging(false);
    });
    // Files are never let through to the browser, which would open them
    // in place of the messenger; they are taken only while the message box shows.
    root.addEventListener('dragover', (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = this.visible && this.takesFiles ? 'copy' : 'none';
    });
    root.addEventListener('drop', (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      depth = 0;
      dragging(false);
      if (!this.visible || !this.takesFiles) return;
      this.tray.add(filesOf(event.dataTransfer));
      this.focus();
    });
  }

  /**
   * What the workspace takes: `{max_bytes, kinds}` from the boot answer
   * (null or absent: not known, the server judges each file).
   */
  setAttachments(settings) {
    this.attachments = settings ?? null;
    const taken = this.takesFiles;
    if (this.attachButton) {
      if (!taken && document.activeElement === this.attachButton) this.focus();
      this.attachButton.hidden = !taken;
    }
    if (this.picker) this.picker.accept = acceptFor(this.attachments?.kinds);
    this.tray.maxBytes = limitOf(this.attachments);
  }

  /** Whether files are taken at all (attachments may be off for the workspace). */
  get takesFiles() {
    return takesFiles(this.attachments);
  }

  send() {
    const text = this.input.value.trim();
    if (!uploadsState(this.tray.uploads, text).canSend) {
      this.input.focus();
      return;
    }
    const files = this.tray.take();
    this.input.value = '';
    this.drafts.delete(this.draftKey);
    this.lastTypingAt = 0;
    this.autosize();
    this.updateButton();
    this.onSend(text, files);
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
    this.tray.useDraft(key);
    this.input.value = this.drafts.get(key) ?? '';
    this.lastTypingAt = 0;
    this.autosize();
    this.updateButton();
  }

  /** The draft being written now belongs to `key` (a conversation was just created). */
  renameDraft(key) {
    this.drafts.delete(this.draftKey);
    this.draftKey = key;
    this.tray.renameDraft(key);
  }

  /** Nothing typed and no file added. */
  get isEmpty() {
    return this.input.value.trim() === '' && !this.tray.uploads.length;
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
    this.tray.clearAll();
    this.input.value = '';
    this.autosize();
    this.updateButton();
  }

  /** Sending waits for text or a stored file, and for every upload to finish. */
  updateButton() {
    const { canSend, uploading } = uploadsState(this.tray.uploads, this.input.value);
    this.button.setAttribute('aria-disabled', canSend ? 'false' : 'true');
    this.form.setAttribute('aria-busy', uploading ? 'true' : 'false');
  }

  autosize() {
    if (this.input !== this.area) return;
    this.input.style.height = 'auto';
    this.input.style.height = `${Math.min(this.input.scrollHeight, MAX_HEIGHT_PX)}px`;
  }
}
