// Settings > Attachments: the largest file, in MB, and the kinds of file
// the widget and the Inbox take (none ticked turns attachments off). The
// settings page saves the form (`data-form="attachments"`) like its others.

import { html } from '../../shared/html.js';
import { FILE_KINDS } from '../../shared/file-kinds.js';
import { formError } from '../ui/forms.js';
import { KIND_LABELS, MAX_BYTES_FIELD, KINDS_FIELD, bytesToMb } from './attachments.js';

export function attachmentsSection(attachments, manage) {
  const settings = attachments ?? {};
  const kinds = settings.kinds ?? FILE_KINDS;
  const ceiling = bytesToMb(settings.server_max_bytes);
  return html`
    <section class="card" aria-labelledby="s-attachments" data-testid="settings-attachments">
      <h2 id="s-attachments">Attachments</h2>
      <p>Files visitors send from the widget and agents send from the Inbox.</p>
      <form data-form="attachments" novalidate>
        ${formError()}
        <fieldset ${manage ? '' : html`disabled`}>
          <div class="field">
            <label for="settings-attachments-max">Largest file (MB)</label>
            <input id="settings-attachments-max" name="max_mb" type="number" min="0.01" step="any" inputmode="decimal"
              ${ceiling ? html`max="${ceiling}"` : ''} value="${settings.max_bytes ? bytesToMb(settings.max_bytes) : ''}"
              aria-describedby="settings-attachments-max-hint settings-attachments-max-error"
              data-testid="settings-attachments-max-mb">
            <p class="field-hint" id="settings-attachments-max-hint">${ceiling
              ? `Up to ${ceiling} MB, this server's limit.` : 'Larger files are refused before they upload.'}</p>
            <p class="field-error" id="settings-attachments-max-error" data-error-for="${MAX_BYTES_FIELD}"></p>
          </div>
          <fieldset class="attachment-kinds" aria-describedby="settings-attachments-kinds-hint">
            <legend>Kinds of file taken</legend>
            <ul class="check-list">${FILE_KINDS.map((kind) => html`<li>
              <label class="check"><input type="checkbox" name="${`kind_${kind}`}"
                aria-describedby="settings-attachments-kinds-error" data-testid="${`settings-attachments-kind-${kind}`}" ${kinds.includes(kind) ? html`checked` : ''}>
                ${KIND_LABELS[kind]}</label></li>`)}</ul>
            <p class="field-hint" id="settings-attachments-kinds-hint">Tick none to turn attachments off: the widget
              and the Inbox then show no attach button, and uploads are refused.</p>
            <p class="field-error" id="settings-attachments-kinds-error" data-error-for="${KINDS_FIELD}"></p>
          </fieldset>
          <div class="form-actions">
            <button type="submit" class="button primary small" data-testid="settings-attachments-save">Save attachments</button>
            <span class="saved-note" role="status" data-saved></span>
          </div>
        </fieldset>
      </form>
    </section>`;
}
