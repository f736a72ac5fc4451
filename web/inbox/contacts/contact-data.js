// The profile's Data card (owners and admins): "Export data" downloads
// everything stored about the contact as JSON (GET …/export), and "Erase
// contact…" asks once more, then requests the erasure (DELETE, a job
// deletes everything) and goes back to People.

import { html, render } from '../../shared/html.js';
import { exportContact, eraseContact } from '../data/contacts.js';
import { contactName } from '../data/store.js';

/** `profile` is the profile's `{contact, alive}` (contact-view.js). */
export function mountDataCard(region, { profile }) {
  const listening = new AbortController();
  const listen = (type, fn) => region.addEventListener(type, fn, { signal: listening.signal });
  let confirming = false;
  let status = '';
  let failed = false;

  const draw = () => {
    const name = contactName(profile.contact);
    render(region, html`
      <h2 id="data-title">Data</h2>
      <p class="muted small">Everything stored about ${name}, for a request to see it or to delete it.</p>
      <p>
        <button type="button" class="button small" data-action="export" data-testid="contact-export">Export data</button>
        <button type="button" class="button small" data-action="erase" aria-expanded="${String(confirming)}"
          data-testid="contact-erase">Erase contact…</button>
      </p>
      ${confirming ? html`<div class="danger-confirm" role="alertdialog" aria-labelledby="erase-question">
        <p id="erase-question"><strong>Erase ${name}?</strong> Their conversations, messages, timeline, events and
          properties are deleted for good; only a record that it happened is kept.</p>
        <button type="button" class="button small danger" data-action="erase-confirm" data-testid="contact-erase-confirm">Erase for good</button>
        <button type="button" class="button small" data-action="erase-cancel">Cancel</button>
      </div>` : ''}
      <p class="${failed ? 'form-error' : 'muted small'}" role="${failed ? 'alert' : 'status'}" data-testid="contact-data-status">${status}</p>`);
  };

  const say = (text, isError = false) => {
    status = text;
    failed = isError;
    draw();
  };

  const download = async () => {
    say('Preparing the export…');
    try {
      const data = await exportContact(profile.contact.id);
      if (!profile.alive) return;
      const blob = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
      const link = document.createElement('a');
      link.href = URL.createObjectURL(blob);
      link.download = `contact-${profile.contact.id}.json`;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
      say(`Exported ${data.timeline?.length ?? 0} timeline entries and ${data.conversations?.length ?? 0} conversations.`);
    } catch (error) {
      if (profile.alive) say(error.message, true);
    }
  };

  const erase = async () => {
    say('Requesting the erasure…');
    try {
      await eraseContact(profile.contact.id);
      if (!profile.alive) return;
      confirming = false;
      say('Erasure requested: everything about this contact is being deleted.');
      setTimeout(() => {
        if (profile.alive) location.hash = '#/people';
      }, 1500);
    } catch (error) {
      if (profile.alive) say(error.message, true);
    }
  };

  listen('click', (event) => {
    const action = event.target.closest('button')?.dataset.action;
    if (action === 'export') download();
    else if (action === 'erase') {
      confirming = !confirming;
      draw();
      if (confirming) region.querySelector('[data-action="erase-cancel"]')?.focus();
    } else if (action === 'erase-cancel') {
      confirming = false;
      draw();
      region.querySelector('[data-action="erase"]')?.focus();
    } else if (action === 'erase-confirm') erase();
  });

  return {
    draw,
    destroy: () => listening.abort(),
  };
}
