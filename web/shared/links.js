// Addresses from the server that become links (an article's help center
// page, a bot answer's sources): only http, https and paths on this site,
// so that no `javascript:` or `data:` address can be clicked.

const ABSOLUTE = /^https?:\/\/[^\s/?#]+[^\s]*$/i;
const SITE_PATH = /^\/(?![/\\])[^\s]*$/;

/** The URL when it may be a link's `href`, else null. */
export function safeHref(url) {
  if (typeof url !== 'string') return null;
  const trimmed = url.trim();
  return ABSOLUTE.test(trimmed) || SITE_PATH.test(trimmed) ? trimmed : null;
}
