// "Publish": a dialog asking what becomes of the runs going on the older
// version (finish there, move to the new one, or stop), then publishing;
// the server's refusal shows in the dialog, and its field faults go to the
// editor (on the steps they name). Focus comes back where it was.
//
//   openPublishDialog({ automation, publish: (runs) => Promise, returnFocus });

import { html, render } from '../../shared/html.js';

const CHOICES = [
  ['finish', 'Let them finish on the version they started on'],
  ['migrate', 'Move them to the new version (at the same step, where it still exists)'],
  ['stop', 'Stop them'],
];

export function openPublishDialog({ automation, publish, returnFocus }) {
  const dialog = document.createElement('dialog');
  dialog.className = 'publish-dialog';
  dialog.setAttribute('aria-labelledby', 'publish-title');
  const first = automation.live_version == null;
  render(dialog, html`
    <form method="dialog" data-form="publish" novalidate>
      <h2 id="publish-title">Publish ${automation.name}</h2>
      <p>${first ? 'It starts running as soon as it is published.'
        : html`This becomes version ${(automation.live_version ?? 0) + 1}. New runs start on it.`}</p>
      ${first ? '' : html`<fieldset class="radio-list"><legend>Runs going on older versions</legend>
        ${CHOICES.map(([value, label], i) => html`<label><input type="radio" name="runs" value="${value}" ${i === 0 ? html`checked` : ''}
          data-testid="${`publish-runs-${value}`}"> ${label}</label>`)}</fieldset>`}
      <p class="form-error" role="alert" data-publish-error></p>
      <div class="form-actions">
        <button type="submit" class="button primary small" value="publish" data-testid="publish-confirm">Publish</button>
        <button type="button" class="button ghost small" data-action="cancel">Cancel</button>
      </div>
    </form>`);
  document.body.append(dialog);
  const form = dialog.querySelector('form');
  const close = () => {
    if (dialog.open) dialog.close();
  };
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (returnFocus?.isConnected) returnFocus.focus();
  });
  dialog.querySelector('[data-action="cancel"]').addEventListener('click', close);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const runs = form.elements.runs?.value ?? 'finish';
    const buttons = [...form.querySelectorAll('button')];
    buttons.forEach((b) => { b.disabled = true; });
    try {
      await publish(runs);
      close();
    } catch (error) {
      const faults = Object.keys(error.fieldErrors ?? {}).length;
      render(form.querySelector('[data-publish-error]'), html`${faults
        ? `${error.message || 'The flow has problems'}: they are marked on the steps and settings.` : error.message}`);
      buttons.forEach((b) => { b.disabled = false; });
    }
  });
  dialog.showModal();
  return close;
}
