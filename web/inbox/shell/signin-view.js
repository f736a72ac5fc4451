// Signing in with email and password (a cookie session).

import { html, render } from '../../shared/html.js';
import { signIn } from '../data/session.js';
import { field, formError, formValues, showProblem, whileBusy } from '../ui/forms.js';

export function showSignIn(root, { onSignedIn, notice = null }) {
  render(root, html`
    <main id="main" class="auth-page">
      <form class="auth-card" data-testid="signin-form" novalidate>
        <h1>Sign in to Rapport</h1>
        ${notice ? html`<p class="auth-intro" role="status">${notice}</p>` : ''}
        ${formError()}
        ${field({ form: 'signin', name: 'email', label: 'Email', type: 'email', autocomplete: 'username', testid: 'signin-email' })}
        ${field({ form: 'signin', name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password', testid: 'signin-password' })}
        <button class="button primary wide" type="submit" data-testid="signin-submit">Sign in</button>
      </form>
    </main>`);
  const form = root.querySelector('form');
  form.elements.email.focus();
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const { email, password } = formValues(form);
    try {
      const session = await whileBusy(form, () =>
        signIn(email.trim(), password));
      onSignedIn(session);
    } catch (error) {
      if (error.status === 401) {
        error.problem = { detail: 'Wrong email or password.' };
        error.message = 'Wrong email or password.';
      }
      showProblem(form, error);
      if (error.status === 401) form.elements.password.select();
    }
  });
}
