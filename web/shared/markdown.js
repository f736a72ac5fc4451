// A small, safe Markdown subset for message bodies.
//
// Paragraphs on blank lines, line breaks, **bold**, *italic*, `code`,
// [text](url) and bare URLs for http:, https: and mailto: only. Everything
// else is text. The output is built only from `html` templates, so every
// character of the message is escaped on the way in and the only markup
// is the handful of tags written below; there is no raw-HTML path.

import { html } from './html.js';

const LINK_SCHEME = /^(?:https?:\/\/[^\s]+|mailto:[^\s]+)$/i;

// Alternatives are tried left to right at the earliest position.
// 1 code, 2-3 [text](url), 4 bare URL, 5 **bold**, 6 *italic*
const INLINE_SOURCE = new RegExp(
  [
    '`([^`]+)`',
    // Bounded so a line of a thousand "[" stays linear.
    '\\[([^\\]]{1,500})\\]\\(([^\\s()]{1,2000})\\)',
    '((?:https?://|mailto:)[^\\s<>"]+)',
    '\\*\\*(?=\\S)(.+?)(?<=\\S)\\*\\*',
    '\\*(?=[^\\s*])(.+?)(?<=[^\\s*])\\*',
  ].join('|'),
).source;

/** Whether a URL may become a link (only http, https and mailto). */
export function isSafeUrl(url) {
  return LINK_SCHEME.test(url);
}

function link(url, label) {
  return html`<a href="${url}" target="_blank" rel="noopener noreferrer nofollow">${label}</a>`;
}

// "https://" or "mailto:" alone is not a link.
const BARE_URL_HAS_TARGET = /^(?:https?:\/\/[^\s/]|mailto:\S)/i;

// A bare URL rarely ends with punctuation meant for the sentence around it.
function trimTrailingPunctuation(url) {
  let end = url.length;
  while (end > 0) {
    const ch = url[end - 1];
    if ('.,;:!?\'"'.includes(ch)) {
      end--;
    } else if (ch === ')' && !url.slice(0, end).includes('(')) {
      end--;
    } else {
      break;
    }
  }
  return url.slice(0, end);
}

function inline(text, allowLinks = true) {
  const out = [];
  let last = 0;
  const re = new RegExp(INLINE_SOURCE, 'g');
  let m;
  while ((m = re.exec(text)) !== null) {
    const [whole, code, linkText, linkUrl, bare, bold, italic] = m;
    let piece = null;
    let consumed = whole;
    if (code !== undefined) {
      piece = html`<code>${code}</code>`;
    } else if (linkText !== undefined) {
      if (allowLinks && isSafeUrl(linkUrl)) {
        piece = link(linkUrl, inline(linkText, false));
      }
    } else if (bare !== undefined) {
      const url = trimTrailingPunctuation(bare);
      if (allowLinks && isSafeUrl(url) && BARE_URL_HAS_TARGET.test(url)) {
        piece = link(url, url);
        consumed = url;
        re.lastIndex = m.index + url.length;
      }
    } else if (bold !== undefined) {
      piece = html`<strong>${inline(bold, allowLinks)}</strong>`;
    } else if (italic !== undefined) {
      piece = html`<em>${inline(italic, allowLinks)}</em>`;
    }
    if (piece === null) {
      // Not something we render (e.g. a javascript: link): keep it as text
      // and continue scanning right after its first character.
      re.lastIndex = m.index + 1;
      continue;
    }
    if (m.index > last) out.push(text.slice(last, m.index));
    out.push(piece);
    last = m.index + consumed.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out.map((p) => (typeof p === 'string' ? html`${p}` : p));
}

function paragraph(block) {
  const lines = block.split('\n');
  const parts = [];
  lines.forEach((line, i) => {
    if (i > 0) parts.push(html`<br>`);
    parts.push(inline(line));
  });
  return html`<p>${parts}</p>`;
}

/** Render a message body as a safe fragment. */
export function markdown(text) {
  const source = String(text ?? '').replace(/\r\n?/g, '\n').trim();
  if (source === '') return html``;
  const blocks = source.split(/\n[ \t]*\n+/).map((b) => b.replace(/^\n+|\n+$/g, ''));
  return html`${blocks.filter((b) => b.trim() !== '').map(paragraph)}`;
}

/** Plain text of a message body for previews (markers removed, whitespace collapsed). */
export function plainText(text) {
  return String(text ?? '')
    .replace(/`([^`]+)`/g, '$1')
    .replace(/\[([^\]]+)\]\(([^\s()]+)\)/g, '$1')
    .replace(/\*\*(?=\S)(.+?)(?<=\S)\*\*/g, '$1')
    .replace(/\*(?=[^\s*])(.+?)(?<=[^\s*])\*/g, '$1')
    .replace(/\s+/g, ' ')
    .trim();
}
