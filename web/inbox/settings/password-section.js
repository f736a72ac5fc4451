// Settings > Your account: the signed-in member changes their password
// (current, new, confirm). Their other sign-ins end; this one stays.
//
//   const destroy = mountPasswordSection(element);

import { html, render } from '../../shared/html.js';
import { changePassword } from '../data/settings.js';
import {
  field, formError, formValues, showProblem, showFieldErrors, clearErrors, whileBusy,
} from '../ui/forms.js';
import { state } from '../data/store.js';
import { passwordChangeRequest } from './password.js';

export function mountPasswordSection(element) {
  const listening = new AbortController();
  render(element, html`
    <section class="card" aria-labelledby="s-account">
      <h2 id="s-account">Your account</h2>
      <p>Signed in as ${state.me?.name ?? ''} (${state.me?.email ?? ''}).</p>
      <h3>Change password</h3>
      <form data-form="password" class="password-form" novalidate data-testid="password-form">
        ${formError()}
        <input type="email" name="username" autocomplete="username" value="${state.me?.email ?? ''}" hidden>
        ${field({ form: 'password', name: 'current_password', label: 'Current password', type: 'password',
          autocomplete: 'current-password', testid: 'password-current' })}
        <div class="field-row">
          ${field({ form: 'password', name: 'new_password', label: 'New password', type: 'password',
            autocomplete: 'new-password', minlength: 8, hint: 'At least 8 characters.', testid: 'password-new' })}
          ${field({ form: 'password', name: 'confirm_password', label: 'Confirm the new password', type: 'password',
            autocomplete: 'new-password', testid: 'password-confirm' })}
        </div>
        <div class="form-actions">
          <button type="submit" class="button primary small" data-testid="password-submit">Change password</button>
          <span class="saved-note" role="status" data-saved data-testid="password-saved"></span>
        </div>
        <p class="field-hint">Changing it signs you out everywhere else; this browser stays signed in.</p>
      </form>
    </section>`);

  element.addEventListener('submit', async (event) => {
    const form = event.target;
    if (form.dataset.form !== 'password') return;
    event.preventDefault();
    const { body, errors } = passwordChangeRequest(formValues(form));
    if (errors.length) {
      showFieldErrors(form, errors);
      return;
    }
    clearErrors(form);
    const note = form.querySelector('[data-saved]');
    render(note, html``);
    try {
      await whileBusy(form, () => changePassword(body));
      form.reset();
      form.elements.username.value = state.me?.email ?? '';
      render(note, html`Password changed. Your other sign-ins have ended.`);
    } catch (error) {
      showProblem(form, error);
    }
  }, { signal: listening.signal });

  return () => listening.abort();
}
