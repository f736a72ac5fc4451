// First run: name the workspace and create its owner.

import { html, render } from '../../shared/html.js';
import { createWorkspace } from '../data/session.js';
import { field, formError, formValues, showProblem, whileBusy } from '../ui/forms.js';

export function showSetup(root, { onDone }) {
  render(root, html`
    <main id="main" class="auth-page">
      <form class="auth-card" data-testid="setup-form" novalidate>
        <h1>Welcome to Rapport</h1>
        <p class="auth-intro">Create your workspace and your owner account. You can invite the team afterwards.</p>
        ${formError()}
        ${field({ form: 'setup', name: 'workspace', label: 'Workspace name', autocomplete: 'organization', testid: 'setup-workspace' })}
        ${field({ form: 'setup', name: 'name', label: 'Your name', autocomplete: 'name', testid: 'setup-name' })}
        ${field({ form: 'setup', name: 'email', label: 'Email', type: 'email', autocomplete: 'username', testid: 'setup-email' })}
        ${field({ form: 'setup', name: 'password', label: 'Password', type: 'password', autocomplete: 'new-password',
          minlength: 8, hint: 'At least 8 characters.', testid: 'setup-password' })}
        <button class="button primary wide" type="submit" data-testid="setup-submit">Create workspace</button>
      </form>
    </main>`);
  const form = root.querySelector('form');
  form.elements.workspace.focus();
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const values = formValues(form);
    try {
      await whileBusy(form, () => createWorkspace({
        workspace: values.workspace.trim(),
        name: values.name.trim(),
        email: values.email.trim(),
        password: values.password,
      }));
      onDone();
    } catch (error) {
      if (error.status === 409) {
        // Someone finished setup first: sign in instead.
        onDone();
        return;
      }
      showProblem(form, error);
    }
  });
}
