// A message's files in the thread: images drawn inline (their bytes come
// later, from attachment-media.js, which fills in `src`), other files as a
// button that downloads them. Touches no DOM.

import { html } from '../shared/html.js';
import { attachmentsOf, isInlineImage, fitImage, formatSize } from './attachments.js';
import { t } from './i18n.js';

const FILE_ICON = html`<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8z"/><path d="M14 3v5h5"/><path d="M12 11v6m-3-3 3 3 3-3"/></svg>`;

function imageView(attachment) {
  const name = attachment.name || t('file');
  const size = fitImage(attachment.width, attachment.height);
  return html`<button type="button" class="part-image" data-action="open-image"
      data-attachment-id="${attachment.id}" aria-label="${t('openImage', { name })}">
      <img data-testid="widget-part-image" data-attachment-id="${attachment.id}" alt="${name}"
        ${size ? html`width="${size.width}" height="${size.height}"` : ''}>
    </button>`;
}

function fileView(attachment) {
  const name = attachment.name || t('file');
  return html`<button type="button" class="part-file" data-testid="widget-part-file" data-action="download"
      data-attachment-id="${attachment.id}" data-name="${name}" aria-label="${t('download', { name })}">
      ${FILE_ICON}
      <span class="part-file-text">
        <span class="part-file-name" dir="auto">${name}</span>
        <span class="part-file-size">${formatSize(attachment.size)}</span>
      </span>
    </button>`;
}

/** The files of a part, images first (they line up together), or nothing. */
export function partAttachmentsView(part) {
  const list = attachmentsOf(part);
  if (!list.length) return '';
  const images = list.filter(isInlineImage);
  const files = list.filter((a) => !isInlineImage(a));
  return html`<div class="part-attachments">
    ${images.length ? html`<div class="part-images">${images.map(imageView)}</div>` : ''}
    ${files.map(fileView)}
  </div>`;
}
