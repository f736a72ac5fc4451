// The one escaping helper: every string that reaches the DOM goes through here.
//
//   render(el, html`<p class="${cls}">${text}</p>`)
//
// Interpolated values are escaped unless they are themselves fragments made
// by `html` (or arrays of them), so markup can only come from template
// literals written in our own source files.

const FRAGMENT = Symbol('rapport.html');

const ESCAPES = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escape a value for use in HTML text or a quoted attribute. */
export function escapeHtml(value) {
  if (value === null || value === undefined) return '';
  return String(value).replace(/[&<>"']/g, (ch) => ESCAPES[ch]);
}

function isFragment(value) {
  return value !== null && typeof value === 'object' && value[FRAGMENT] === true;
}

function makeFragment(markup) {
  const fragment = { __html: markup };
  // Non-enumerable brand: a JSON object from the server carrying `__html`
  // cannot pass for a fragment.
  Object.defineProperty(fragment, FRAGMENT, { value: true });
  return Object.freeze(fragment);
}

function piece(value) {
  if (value === null || value === undefined || value === false) return '';
  if (isFragment(value)) return value.__html;
  if (Array.isArray(value)) return value.map(piece).join('');
  return escapeHtml(value);
}

/** Tagged template: returns a fragment `{__html}` with every value escaped. */
export function html(strings, ...values) {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) {
    out += piece(values[i]) + strings[i + 1];
  }
  return makeFragment(out);
}

/** Whether a value is a fragment made by `html`. */
export { isFragment };

/** The only place that assigns innerHTML. */
export function render(element, fragment) {
  if (!isFragment(fragment)) {
    throw new TypeError('render() takes a fragment made by html``');
  }
  element.innerHTML = fragment.__html;
}

/**
 * Append a fragment's nodes after the element's children, leaving the
 * existing ones (and their focus, selection and scroll) untouched.
 */
export function append(element, fragment) {
  const template = element.ownerDocument.createElement('template');
  render(template, fragment);
  element.append(template.content);
}

/**
 * Insert a fragment's nodes right after `node`, as its next siblings,
 * leaving everything else in the parent untouched.
 */
export function insertAfter(node, fragment) {
  const template = node.ownerDocument.createElement('template');
  render(template, fragment);
  node.after(template.content);
}
