// The files waiting to go with the next message, as chips above the
// message box: each uploads as soon as it is added (attach button, paste,
// drop), shows its name and size, "Uploading…" or why it failed, and can
// be removed. Like the text, they are kept per conversation's draft. A
// file larger than `maxBytes` (the workspace's limit) is refused at once.

import { html, render } from '../shared/html.js';
import { MAX_PER_MESSAGE, formatSize, precheck, uploadName, uploadProblem } from './attachments.js';
import { t } from './i18n.js';

let nextKey = 0;

/** The files in a paste or a drop (text and other kinds are left alone). */
export function filesOf(transfer) {
  if (!transfer) return [];
  const files = [...(transfer.files ?? [])];
  if (files.length) return files;
  // Some browsers list a pasted image only among the items.
  return [...(transfer.items ?? [])]
    .filter((item) => item.kind === 'file')
    .map((item) => item.getAsFile())
    .filter(Boolean);
}

function chipView(upload) {
  const state = upload.status === 'uploading'
    ? html`<span class="attachment-chip-state">${t('uploading')}</span>`
    : html`<span class="attachment-chip-state">${formatSize(upload.size)}</span>`;
  return html`<li class="attachment-chip attachment-chip--${upload.status}" data-testid="widget-attachment-chip"
      data-key="${upload.key}" data-status="${upload.status}">
      <span class="attachment-chip-main">
        <span class="attachment-chip-name" dir="auto">${upload.name}</span>
        ${state}
      </span>
      ${upload.error ? html`<span class="attachment-chip-error" role="alert" data-testid="widget-attachment-error">${t(upload.error, upload.errorVars)}</span>` : ''}
      ${upload.error && upload.retry
        ? html`<button type="button" class="link-button" data-tray-action="retry" data-key="${upload.key}">${t('retry')}</button>`
        : ''}
      <button type="button" class="attachment-chip-remove" data-tray-action="remove" data-key="${upload.key}"
        aria-label="${t('removeFile', { name: upload.name })}">
        <svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M6 6l12 12M18 6L6 18"/></svg>
      </button>
    </li>`;
}

export class AttachmentTray {
  /**
   * @param {{list: HTMLElement, upload: (file: File, name: string, signal: AbortSignal) => Promise<object>,
   *   onChange: () => void, onEmptied: () => void}} options
   *   `upload` answers the stored attachment; `onEmptied` is called when
   *   the last chip was removed by the visitor (focus goes back to typing).
   */
  constructor({ list, upload, onChange, onEmptied }) {
    this.list = list;
    this.upload = upload;
    this.onChange = onChange;
    this.onEmptied = onEmptied;
    this.drafts = new Map();
    this.key = null;
    this.notice = null;
    /** The largest file taken, in bytes; null when not known. */
    this.maxBytes = null;
    list.addEventListener('click', (event) => {
      const button = event.target.closest?.('[data-tray-action]');
      if (!button) return;
      if (button.dataset.trayAction === 'remove') this.remove(button.dataset.key);
      else if (button.dataset.trayAction === 'retry') this.retry(button.dataset.key);
    });
    this.draw();
  }

  /** The current draft's uploads. */
  get uploads() {
    return this.drafts.get(this.key) ?? [];
  }

  add(files) {
    const uploads = [...this.uploads];
    const room = MAX_PER_MESSAGE - uploads.filter((u) => u.status !== 'failed').length;
    const list = [...(files ?? [])];
    this.notice = list.length > room ? 'tooManyFiles' : null;
    list.slice(0, Math.max(0, room)).forEach((file, index) => {
      const upload = {
        key: `u${++nextKey}`,
        file,
        name: uploadName(file, uploads.length + index),
        size: file.size,
        status: 'uploading',
        attachment: null,
        error: precheck(file, this.maxBytes),
        errorVars: { size: formatSize(this.maxBytes) },
        retry: false,
        controller: null,
      };
      uploads.push(upload);
      if (upload.error) upload.status = 'failed';
      else this.start(upload);
    });
    this.drafts.set(this.key, uploads);
    this.changed();
  }

  start(upload) {
    upload.status = 'uploading';
    upload.error = null;
    upload.controller = new AbortController();
    this.upload(upload.file, upload.name, upload.controller.signal).then(
      (attachment) => {
        if (!attachment?.id) throw new Error('no attachment in the answer');
        upload.attachment = attachment;
        upload.status = 'ready';
      },
    ).catch((error) => {
      if (upload.controller?.signal.aborted) return;
      const problem = uploadProblem(error, upload.file);
      upload.status = 'failed';
      upload.error = problem.key;
      upload.retry = problem.retry;
    }).finally(() => {
      upload.controller = null;
      if (this.uploads.includes(upload)) this.changed();
    });
  }

  remove(key) {
    const uploads = this.uploads;
    const upload = uploads.find((u) => u.key === key);
    if (!upload) return;
    upload.controller?.abort();
    this.drafts.set(this.key, uploads.filter((u) => u !== upload));
    this.notice = null;
    this.changed();
    const next = this.list.querySelector('[data-tray-action="remove"]');
    if (next) next.focus();
    else this.onEmptied();
  }

  retry(key) {
    const upload = this.uploads.find((u) => u.key === key);
    if (!upload || upload.status !== 'failed' || !upload.retry) return;
    this.start(upload);
    this.changed();
  }

  /**
   * The stored files to send with the message (`{attachment, file}`), and
   * the draft's chips go (failed ones too: they were not going to be sent).
   */
  take() {
    const ready = this.uploads.filter((u) => u.status === 'ready' && u.attachment);
    this.drafts.delete(this.key);
    this.notice = null;
    this.changed();
    return ready.map(({ attachment, file }) => ({ attachment, file }));
  }

  /** Switches to another draft's files (`'new'` for the start screen). */
  useDraft(key) {
    if (key === this.key) return;
    if (this.key !== null && !this.uploads.length) this.drafts.delete(this.key);
    this.key = key;
    this.notice = null;
    this.changed();
  }

  /** The files being gathered now belong to `key` (a conversation was just created). */
  renameDraft(key) {
    const uploads = this.uploads;
    this.drafts.delete(this.key);
    this.key = key;
    if (uploads.length) this.drafts.set(key, uploads);
  }

  /** Forgets every draft's files (the visitor's session ended). */
  clearAll() {
    for (const uploads of this.drafts.values()) {
      for (const upload of uploads) upload.controller?.abort();
    }
    this.drafts.clear();
    this.key = null;
    this.notice = null;
    this.changed();
  }

  changed() {
    this.draw();
    this.onChange();
  }

  draw() {
    const uploads = this.uploads;
    // A redraw keeps the focus on the button it was on.
    const focused = this.list.contains(document.activeElement) ? document.activeElement : null;
    const again = focused ? `[data-tray-action="${focused.dataset.trayAction}"][data-key="${focused.dataset.key}"]` : null;
    this.list.hidden = !uploads.length && !this.notice;
    render(this.list, html`${uploads.map(chipView)}
      ${this.notice
        ? html`<li class="attachment-notice" role="alert" data-testid="widget-attachment-error">${t(this.notice, { count: MAX_PER_MESSAGE })}</li>`
        : ''}`);
    if (again) this.list.querySelector(again)?.focus();
  }
}
