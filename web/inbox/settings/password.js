// The change-password form, the part with no DOM. Touches no DOM, so that
// `node --test` can load it.

export const MIN_PASSWORD_LENGTH = 8;

/**
 * The POST /me/password body from the form's values (`current_password`,
 * `new_password`, `confirm_password`), or the field errors that keep it
 * from being sent: `{body, errors}`, `body` null when there are errors.
 * The server checks the current password and the length again.
 */
export function passwordChangeRequest(values) {
  const current = String(values.current_password ?? '');
  const next = String(values.new_password ?? '');
  const confirm = String(values.confirm_password ?? '');
  const errors = [];
  if (!current) errors.push({ field: 'current_password', message: 'Enter your current password.' });
  if ([...next].length < MIN_PASSWORD_LENGTH) {
    errors.push({ field: 'new_password', message: `Use at least ${MIN_PASSWORD_LENGTH} characters.` });
  } else if (next === current) {
    errors.push({ field: 'new_password', message: 'Choose a password other than your current one.' });
  }
  if (confirm !== next) errors.push({ field: 'confirm_password', message: 'Does not match the new password.' });
  return errors.length
    ? { body: null, errors }
    : { body: { current_password: current, new_password: next }, errors };
}
