// The chip beside an email the visitor typed in the widget: a claim, not
// proof that this person owns the address (the panel and the profile).

import { html } from '../../shared/html.js';

/** "unverified" beside an email only the visitor vouches for; nothing otherwise. */
export function unverifiedEmailChip(contact) {
  if (!contact?.email || contact.email_verified !== false) return '';
  return html`<span class="unverified-chip" data-testid="email-unverified"
    title="Typed by the visitor in the messenger; nobody has confirmed they own this address">unverified: typed by the visitor</span>`;
}
