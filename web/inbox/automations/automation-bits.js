// Small pieces the automation views share: the status badge, and saving
// JSON as a file the browser downloads.

import { html } from '../../shared/html.js';

const STATUS_LABELS = { live: 'Live', paused: 'Paused', draft: 'Draft' };

export function statusBadge(status) {
  return html`<span class="${`status-badge automation-${status}`}" data-testid="automation-status" data-status="${status}">${
    STATUS_LABELS[status] ?? status}</span>`;
}

/** A file name from an automation's name: letters, digits and dashes. */
export function fileName(name) {
  const stem = String(name ?? '').toLowerCase().replace(/\.json$/, '').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  return `${stem || 'automation'}.json`;
}

/** Offers `data` as a JSON file to save. */
export function downloadJson(data, name) {
  const blob = new Blob([`${JSON.stringify(data, null, 2)}\n`], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName(name);
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
