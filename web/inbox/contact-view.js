// `#/contacts/{id}`: a contact's profile — properties, conversations and
// the raw record.

import { html, render } from '/assets/shared/html.js';
import { plainText } from '/assets/shared/markdown.js';
import { get } from './api.js';
import { contactName } from './store.js';
import { relativeTime, fullTime } from './time.js';
import { avatar } from './avatar.js';
import { propertyList } from './contact-panel.js';

export function mountContactView(element, contactId) {
  let alive = true;
  render(element, html`<main id="main" class="page" tabindex="-1"><p role="status">Loading…</p></main>`);

  (async () => {
    try {
      const [contact, conversations] = await Promise.all([
        get(`/api/v1/contacts/${encodeURIComponent(contactId)}`),
        get(`/api/v1/conversations?contact_id=${encodeURIComponent(contactId)}&limit=50`).catch(() => null),
      ]);
      if (!alive) return;
      const name = contactName(contact);
      render(element, html`
        <main id="main" class="page contact-page" tabindex="-1" data-testid="contact-view">
          <p><a href="#/">← Back to the Inbox</a></p>
          <div class="contact-head">
            ${avatar({ name, seed: contact.id })}
            <h1>${name}</h1>
          </div>
          <div class="page-columns">
            <section class="card" aria-labelledby="contact-props">
              <h2 id="contact-props">Properties</h2>
              ${propertyList(contact)}
            </section>
            <section class="card" aria-labelledby="contact-conversations">
              <h2 id="contact-conversations">Conversations</h2>
              ${conversations?.data?.length ? html`<ul class="plain-list">
                ${conversations.data.map((c) => html`<li>
                  <a href="${`#/conversations/${encodeURIComponent(c.id)}`}">${c.last_part ? plainText(c.last_part.body).slice(0, 80) : 'Conversation'}</a>
                  <span class="muted small"> · ${c.status} · <time title="${fullTime(c.updated_at)}">${relativeTime(c.updated_at)}</time></span>
                </li>`)}
              </ul>` : html`<p class="muted">None yet.</p>`}
            </section>
          </div>
          <section class="card" aria-labelledby="contact-json">
            <h2 id="contact-json">Record</h2>
            <pre class="json" data-testid="contact-json">${JSON.stringify(contact, null, 2)}</pre>
          </section>
        </main>`);
      element.querySelector('main').focus();
    } catch (error) {
      if (!alive) return;
      render(element, html`<main id="main" class="page"><p><a href="#/">← Back to the Inbox</a></p>
        <p class="form-error" role="alert">${error.status === 404 ? 'No such contact.' : error.message}</p></main>`);
    }
  })();

  return () => { alive = false; };
}
