// Re-rendering a region replaces its nodes; these keep the keyboard user's
// place when the focused control is re-created.

import { render } from '../../shared/html.js';

/** render(), then refocus the control with the same `data-focus-key`. */
export function renderKeepingFocus(element, fragment) {
  const active = element.ownerDocument.activeElement;
  const key = active && element.contains(active) ? active.dataset?.focusKey : null;
  render(element, fragment);
  if (key) element.querySelector(`[data-focus-key="${CSS.escape(key)}"]`)?.focus();
}

/** Whether keyboard shortcuts should leave this key to the focused control. */
export function isEditable(target) {
  if (!target || target === document.body) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  return tag === 'TEXTAREA' || tag === 'SELECT'
    || (tag === 'INPUT' && !['checkbox', 'radio', 'button', 'submit', 'reset'].includes(target.type));
}
