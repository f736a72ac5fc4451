// Form plumbing shared by the sign-in, setup and settings forms: labelled
// fields with a place for their error, and problem+json shown next to them.

import { html, render } from '../../shared/html.js';

/**
 * A labelled input with its error slot.
 * `field({form: 'signin', name: 'email', label: 'Email', type: 'email', autocomplete: 'username'})`
 */
export function field({ form, name, label, type = 'text', value = '', autocomplete = 'off',
  required = true, hint = null, testid = null, minlength = null }) {
  const id = `${form}-${name}`;
  return html`
    <div class="field">
      <label for="${id}">${label}</label>
      <input id="${id}" name="${name}" type="${type}" value="${value}"
        autocomplete="${autocomplete}" ${required ? html`required` : ''}
        ${minlength ? html`minlength="${minlength}"` : ''}
        aria-describedby="${id}-error${hint ? html` ${id}-hint` : ''}"
        data-testid="${testid ?? id}">
      ${hint ? html`<p class="field-hint" id="${id}-hint">${hint}</p>` : ''}
      <p class="field-error" id="${id}-error" data-error-for="${name}"></p>
    </div>`;
}

/** The form-level error line; put it first in the form. */
export function formError() {
  return html`<p class="form-error" role="alert" data-form-error></p>`;
}

/** The form's named values as an object (checkboxes as booleans). */
export function formValues(form) {
  const values = {};
  for (const element of form.elements) {
    if (!element.name) continue;
    values[element.name] = element.type === 'checkbox' ? element.checked : element.value;
  }
  return values;
}

export function clearErrors(form) {
  for (const slot of form.querySelectorAll('[data-error-for], [data-form-error]')) render(slot, html``);
  for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
}

/**
 * Shows an ApiError: each field error beside its field (focusing the first),
 * and the detail (or anything without a field of its own) at the top.
 */
export function showProblem(form, error) {
  clearErrors(form);
  const fieldErrors = error.fieldErrors ?? {};
  const unplaced = [];
  for (const [name, message] of Object.entries(fieldErrors)) {
    // A slot for the exact name (`email.fallback_delay_minutes`) takes it
    // as it is; else `allowed_origins[2]` or `props.plan` land on their
    // field's slot, prefixed with the full name.
    const base = name.split(/[.[]/)[0];
    const exact = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
    const slot = exact ?? form.querySelector(`[data-error-for="${CSS.escape(base)}"]`);
    if (!slot) {
      unplaced.push(`${name}: ${message}`);
      continue;
    }
    render(slot, html`${slot.textContent ? `${slot.textContent} ` : ''}${exact ? '' : `${name}: `}${message}`);
    // The control the slot describes, else the one named like the field.
    const input = (slot.id && form.querySelector(`[aria-describedby~="${CSS.escape(slot.id)}"]`))
      || form.elements.namedItem(base);
    if (input?.setAttribute) input.setAttribute('aria-invalid', 'true');
  }
  const top = form.querySelector('[data-form-error]');
  const hasFields = Object.keys(fieldErrors).length > 0;
  const text = unplaced.length ? unplaced.join('; ') : hasFields ? '' : error.message;
  if (top) render(top, html`${text}`);
  // The first field at fault in reading order, not in the server's order.
  form.querySelector('[aria-invalid="true"]')?.focus();
}

/** Shows errors found before sending (`[{field, message}]`, as a 422 lists them) like a 422's. */
export function showFieldErrors(form, errors) {
  const fieldErrors = {};
  for (const { field, message } of errors) {
    if (field && !(field in fieldErrors)) fieldErrors[field] = message;
  }
  showProblem(form, { fieldErrors, message: '' });
}

/** Disables the form's buttons while `work` runs; returns its result. */
export async function whileBusy(form, work) {
  const buttons = [...form.querySelectorAll('button')];
  // Disabling the focused button drops focus to <body>; give it back after.
  const focused = document.activeElement;
  for (const button of buttons) button.disabled = true;
  form.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    for (const button of buttons) button.disabled = false;
    form.removeAttribute('aria-busy');
    if (focused?.isConnected && (document.activeElement === document.body || !document.activeElement)) {
      focused.focus();
    }
  }
}
