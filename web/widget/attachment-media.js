// The bytes behind the thread's files. An <img> cannot send the session's
// token, so each image is fetched with it and shown from an object URL,
// made once per attachment while any element shows it and revoked when
// the last one leaves (a redrawn thread, another screen, a shutdown). A
// click on an image opens it larger in a dialog; a click on a file
// downloads it.

import { html, render, insertAfter } from '../shared/html.js';
import { els, api } from './context.js';
import { t } from './i18n.js';

const SHOWN = 'img[data-attachment-id]';
/** How long a downloaded file's object URL lives: the download has started by then. */
const DOWNLOAD_URL_MS = 30_000;

/** attachment id -> `{url, loading}` while something shows it. */
const images = new Map();
let opener = null;

function lightbox() {
  return document.getElementById('lightbox');
}

/** A file the visitor just sent: shown from its own bytes, nothing fetched. */
export function rememberFile(id, file) {
  if (!id || !file || images.has(id)) return;
  images.set(id, { url: URL.createObjectURL(file), loading: null });
}

function load(id) {
  let entry = images.get(id);
  if (entry) return entry.url ? Promise.resolve(entry.url) : entry.loading;
  entry = { url: null, loading: null };
  entry.loading = api.attachmentBlob(id).then((blob) => {
    const url = URL.createObjectURL(blob);
    if (images.get(id) !== entry) {
      // Gone from the screen while it loaded.
      URL.revokeObjectURL(url);
      return null;
    }
    entry.url = url;
    entry.loading = null;
    return url;
  }, (error) => {
    if (images.get(id) === entry) images.delete(id);
    throw error;
  });
  images.set(id, entry);
  return entry.loading;
}

/** Images drawn without bytes get them; URLs nothing shows any more are revoked. */
function sync() {
  for (const img of els.root.querySelectorAll(`${SHOWN}:not([src]):not([data-state])`)) {
    img.dataset.state = 'loading';
    load(img.dataset.attachmentId).then((url) => {
      if (!url) return;
      img.src = url;
      img.dataset.state = 'shown';
    }).catch(() => {
      img.dataset.state = 'failed';
    });
  }
  // The dialog's image was opened from the thread's: it goes when that goes.
  const box = lightbox();
  const enlarged = box?.dataset.attachmentId;
  if (box?.open && ![...els.body.querySelectorAll(SHOWN)].some((img) => img.dataset.attachmentId === enlarged)) {
    closeLightbox();
  }
  const wanted = new Set([...els.root.querySelectorAll(SHOWN)].map((img) => img.dataset.attachmentId));
  for (const [id, entry] of images) {
    if (wanted.has(id)) continue;
    if (entry.url) URL.revokeObjectURL(entry.url);
    images.delete(id);
  }
}

/** Starts watching the messenger for images to fill in and URLs to revoke. */
export function watchAttachments() {
  new MutationObserver(sync).observe(els.root, { childList: true, subtree: true });
  const box = lightbox();
  box?.addEventListener('keydown', (event) => {
    // Escape closes the image, not the whole messenger (messenger.js).
    if (event.key === 'Escape') {
      event.preventDefault();
      closeLightbox();
    }
  });
  box?.addEventListener('cancel', (event) => {
    event.preventDefault();
    closeLightbox();
  });
  box?.addEventListener('click', (event) => {
    if (event.target === box) closeLightbox(); // the backdrop
  });
  sync();
}

/** Opens the image of a thread's image button larger. */
export function openLightbox(button) {
  const box = lightbox();
  const img = button.querySelector(SHOWN);
  if (!box || !img) return;
  const id = img.dataset.attachmentId;
  opener = button;
  box.dataset.attachmentId = id;
  box.setAttribute('aria-label', img.alt);
  render(box, html`<img class="lightbox-image" data-attachment-id="${id}" alt="${img.alt}">
    <button type="button" class="lightbox-close" data-action="close-lightbox" aria-label="${t('closeImage')}">
      <svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M6 6l12 12M18 6L6 18"/></svg>
    </button>`);
  box.showModal();
  box.querySelector('.lightbox-close')?.focus();
}

export function closeLightbox() {
  const box = lightbox();
  if (!box?.open) return;
  box.close();
  render(box, html``);
  const back = opener;
  opener = null;
  if (back?.isConnected) back.focus({ preventScroll: true });
}

/** Downloads a thread's file: its bytes with the token, then a link to them clicked. */
export async function downloadAttachment(button) {
  if (button.getAttribute('aria-busy') === 'true') return;
  button.setAttribute('aria-busy', 'true');
  const error = button.nextElementSibling?.classList.contains('part-file-error') ? button.nextElementSibling : null;
  error?.remove();
  try {
    const blob = await api.attachmentBlob(button.dataset.attachmentId);
    const url = URL.createObjectURL(blob);
    const link = document.createElement('a');
    link.href = url;
    link.download = button.dataset.name || t('file');
    link.hidden = true;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), DOWNLOAD_URL_MS);
  } catch {
    if (button.isConnected) {
      insertAfter(button, html`<span class="part-error part-file-error" role="alert">${t('downloadFailed')}</span>`);
    }
  } finally {
    button.removeAttribute('aria-busy');
  }
}
