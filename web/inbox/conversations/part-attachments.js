// A message's attachments in the thread: images as thumbnails (sized from
// their metadata, so the thread does not jump as they load) that open a
// lightbox, other files as download links with an icon, name and size.
// The lightbox is a modal <dialog>: the full image, its name, a download
// link; it takes focus itself, Esc, Close or a click beside the image
// closes it, and focus goes back to the thumbnail.
//
//   html`…${partAttachments(part.attachments)}…`
//   const lightbox = mountLightbox(threadElement);  // … lightbox.destroy()

import { html, render } from '../../shared/html.js';
import { attachmentUrl, formatSize, isInlineImage } from '../data/attachments.js';
import { fileIcon } from '../ui/file-icons.js';

const dimension = (name, value) => (Number.isInteger(value) && value > 0 ? html` ${name}="${value}"` : '');

function imageThumb(attachment) {
  const url = attachmentUrl(attachment.id);
  return html`<a class="part-image-link" href="${url}" data-lightbox="${attachment.id}"
    data-name="${attachment.name}" data-size="${String(attachment.size ?? '')}"
    data-width="${String(attachment.width ?? '')}" data-height="${String(attachment.height ?? '')}"
    aria-haspopup="dialog" title="${`${attachment.name} · ${formatSize(attachment.size)}`}"><img
    class="part-image" data-testid="part-image" loading="lazy" src="${url}" alt="${attachment.name}"${
    dimension('width', attachment.width)}${dimension('height', attachment.height)}></a>`;
}

function fileLink(attachment) {
  return html`<a class="part-file" data-testid="part-file" href="${attachmentUrl(attachment.id)}"
    download="${attachment.name}" title="${`Download ${attachment.name}`}">
    <span class="part-file-icon" aria-hidden="true">${fileIcon}</span>
    <span class="part-file-name">${attachment.name}</span>
    <span class="part-file-size">${formatSize(attachment.size)}</span></a>`;
}

/** The attachments of one message ('' when it has none). */
export function partAttachments(attachments) {
  if (!Array.isArray(attachments) || !attachments.length) return '';
  const images = attachments.filter(isInlineImage);
  const files = attachments.filter((a) => !isInlineImage(a));
  return html`<div class="part-attachments">
    ${images.length ? html`<div class="part-images">${images.map(imageThumb)}</div>` : ''}
    ${files.length ? html`<ul class="part-files">${files.map((a) => html`<li>${fileLink(a)}</li>`)}</ul>` : ''}
  </div>`;
}

/** Opens the lightbox for thumbnails clicked (or Entered) inside `container`. */
export function mountLightbox(container) {
  const dialog = document.createElement('dialog');
  dialog.className = 'lightbox';
  dialog.dataset.testid = 'lightbox';
  dialog.setAttribute('aria-labelledby', 'lightbox-title');
  dialog.tabIndex = -1;
  container.append(dialog);
  let opener = null;

  const open = (link) => {
    const { lightbox: id, name, size } = link.dataset;
    const width = Number(link.dataset.width) || null;
    const height = Number(link.dataset.height) || null;
    const url = attachmentUrl(id);
    render(dialog, html`
      <div class="lightbox-bar">
        <h2 class="lightbox-title" id="lightbox-title">${name}</h2>
        <span class="lightbox-size">${formatSize(size)}${width && height ? ` · ${width} × ${height}` : ''}</span>
        <a class="button small" href="${url}" download="${name}" data-testid="lightbox-download">Download</a>
        <button type="button" class="button small" data-action="close-lightbox" data-testid="lightbox-close">Close</button>
      </div>
      <img class="lightbox-image" src="${url}" alt="${name}"${dimension('width', width)}${dimension('height', height)}>`);
    opener = link;
    dialog.showModal();
    // Focus on the dialog itself, not on its Close button: an Enter that
    // opened it from the thumbnail is still being delivered (its keypress
    // goes to whatever has focus now), and on a button it would close the
    // lightbox it just opened. Tab reaches Download and Close.
    dialog.focus();
  };

  const onContainerClick = (event) => {
    const link = event.target.closest('a[data-lightbox]');
    // Ctrl-, Cmd-, Shift- or middle-clicks open the image in a tab as links do.
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    open(link);
  };
  const onDialogClick = (event) => {
    // The dialog itself is hit only beside its content (its padding and backdrop).
    if (event.target === dialog || event.target.closest('[data-action="close-lightbox"]')) dialog.close();
  };
  const onClose = () => {
    // A close that arrives after the lightbox was opened again is stale.
    if (dialog.open) return;
    render(dialog, html``);
    if (opener?.isConnected) opener.focus();
    opener = null;
  };

  container.addEventListener('click', onContainerClick);
  dialog.addEventListener('click', onDialogClick);
  dialog.addEventListener('close', onClose);
  return {
    destroy() {
      container.removeEventListener('click', onContainerClick);
      if (dialog.open) dialog.close();
      dialog.remove();
    },
  };
}
