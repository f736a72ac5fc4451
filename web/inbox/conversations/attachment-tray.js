// The composer's files: each one chosen, dropped or pasted uploads at once
// and shows as a chip with its name and size, its progress while it
// uploads, why it was refused (role=alert), and a button that removes it.
// A chip is drawn once and then changed in place, so progress does not
// disturb focus and a refusal is announced once.
//
//   const tray = mountAttachmentTray(element, { restored, maxBytes, onChange, onRemoved });
//   tray.add(files, { nameOf });  tray.ready()  tray.uploading()  tray.failed()
//   tray.takeReady();  tray.putBack(attachments);  tray.destroy()

import { html, render, append } from '../../shared/html.js';
import {
  uploadAttachment, uploadError, formatSize, isInlineImage, attachmentUrl, sizeRefusal, MAX_ATTACHMENTS,
} from '../data/attachments.js';
import { fileIcon } from '../ui/file-icons.js';

let lastKey = 0;

function chipContent(item) {
  const image = item.status === 'ready' && isInlineImage(item.attachment);
  return html`
    ${image
      ? html`<img class="chip-thumb" src="${attachmentUrl(item.attachment.id)}" alt="" width="28" height="28">`
      : html`<span class="chip-icon" aria-hidden="true">${fileIcon}</span>`}
    <span class="chip-text">
      <span class="chip-name" title="${item.name}">${item.name}</span>
      <span class="chip-detail">
        <span class="chip-size">${formatSize(item.size)}</span>
        ${item.status === 'uploading' ? html`<span class="chip-progress">
          <progress max="100" aria-label="${`Uploading ${item.name}`}"></progress>
          <span class="chip-percent">Uploading…</span></span>` : ''}
      </span>
      ${item.status === 'error'
        ? html`<span class="chip-error" role="alert" data-testid="attachment-error"><span
          class="visually-hidden">${item.name}: </span>${item.error}</span>`
        : ''}
    </span>
    <button type="button" class="chip-remove" data-testid="attachment-remove" data-action="remove-attachment"
      aria-label="${`Remove ${item.name}`}" title="Remove">×</button>`;
}

/**
 * `restored`: attachments already uploaded (a draft's); `maxBytes()` the
 * largest file taken (null when not known); `onChange()` after
 * any chip changes state; `onRemoved()` after the agent removes one (the
 * composer puts focus back in the reply box).
 */
export function mountAttachmentTray(element, { restored = [], maxBytes = () => null, onChange, onRemoved } = {}) {
  render(element, html`<ul class="attachment-tray" aria-label="Attachments" data-testid="attachment-tray"></ul>`);
  const list = element.firstElementChild;
  const items = []; // {key, name, size, status: uploading|ready|error, attachment?, error?, abort?}
  let alive = true;

  const chipOf = (item) => list.querySelector(`[data-key="${item.key}"]`);
  const draw = (item) => {
    const chip = chipOf(item);
    if (!chip) return;
    chip.dataset.status = item.status;
    chip.className = `attachment-chip is-${item.status}`;
    render(chip, chipContent(item));
  };
  const show = (item) => {
    items.push(item);
    append(list, html`<li class="${`attachment-chip is-${item.status}`}" data-testid="attachment-chip"
      data-key="${item.key}" data-status="${item.status}">${chipContent(item)}</li>`);
  };
  const changed = () => {
    if (alive) onChange?.();
  };

  const upload = async (item, file) => {
    const abort = new AbortController();
    item.abort = abort;
    const onProgress = (sent, total) => {
      const chip = chipOf(item);
      if (!chip || !total) return;
      const percent = Math.min(100, Math.round((sent / total) * 100));
      const bar = chip.querySelector('progress');
      if (bar) bar.value = percent;
      const words = chip.querySelector('.chip-percent');
      if (words) words.textContent = `Uploading… ${percent}%`;
    };
    try {
      item.attachment = await uploadAttachment(file, { name: item.name, onProgress, signal: abort.signal });
      item.status = 'ready';
      // The server may have tidied the name.
      if (item.attachment?.name) item.name = item.attachment.name;
    } catch (error) {
      if (error.name === 'AbortError' || abort.signal.aborted) return;
      item.status = 'error';
      item.error = uploadError(error);
    }
    item.abort = null;
    if (!alive || !items.includes(item)) return;
    draw(item);
    changed();
  };

  const remove = (item) => {
    item.abort?.abort();
    items.splice(items.indexOf(item), 1);
    chipOf(item)?.remove();
  };

  const putBack = (attachments) => {
    for (const attachment of attachments) {
      show({ key: ++lastKey, name: attachment.name, size: attachment.size, status: 'ready', attachment });
    }
  };
  putBack(restored);

  list.addEventListener('click', (event) => {
    const button = event.target.closest('[data-action="remove-attachment"]');
    if (!button) return;
    const item = items.find((i) => String(i.key) === button.closest('[data-key]')?.dataset.key);
    if (!item) return;
    remove(item);
    changed();
    onRemoved?.();
  });

  return {
    /** Uploads each file; past the per-message cap or the size limit a file is refused without uploading. */
    add(files, { nameOf = (file) => file.name } = {}) {
      for (const file of files) {
        const item = { key: ++lastKey, name: nameOf(file) || 'file', size: file.size, status: 'uploading' };
        const counted = items.filter((i) => i.status !== 'error').length;
        if (counted >= MAX_ATTACHMENTS) {
          Object.assign(item, { status: 'error', error: `At most ${MAX_ATTACHMENTS} files go with one message.` });
          show(item);
          continue;
        }
        const tooLarge = sizeRefusal(file, maxBytes());
        if (tooLarge) {
          Object.assign(item, { status: 'error', error: tooLarge });
          show(item);
          continue;
        }
        show(item);
        upload(item, file);
      }
      changed();
    },
    /** The uploaded attachments, in the order they were added. */
    ready: () => items.filter((i) => i.status === 'ready').map((i) => i.attachment),
    uploading: () => items.filter((i) => i.status === 'uploading').length,
    failed: () => items.filter((i) => i.status === 'error').length,
    /** Sending: the uploaded attachments leave the tray (and come back by `putBack` if it fails). */
    takeReady() {
      const taken = items.filter((i) => i.status === 'ready');
      taken.forEach(remove);
      changed();
      return taken.map((i) => i.attachment);
    },
    putBack(attachments) {
      putBack(attachments);
      changed();
    },
    destroy() {
      alive = false;
      for (const item of items) item.abort?.abort();
    },
  };
}
