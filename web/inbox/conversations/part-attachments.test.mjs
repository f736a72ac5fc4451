// Unit tests for part-attachments.js: the markup of a message's attachments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { partAttachments } from './part-attachments.js';

const photo = { id: 'att1', name: 'photo.png', content_type: 'image/png', size: 2048, width: 640, height: 480 };
const pdf = { id: 'att2', name: 'invoice.pdf', content_type: 'application/pdf', size: 1536 * 1024 };

test('no attachments, no markup', () => {
  assert.equal(partAttachments(undefined), '');
  assert.equal(partAttachments([]), '');
});

test('an image is an inline thumbnail, sized from its metadata, that opens the lightbox', () => {
  const markup = partAttachments([photo]).__html;
  assert.match(markup, /<img[^>]*data-testid="part-image"[^>]*loading="lazy"[^>]*src="\/api\/v1\/attachments\/att1"[^>]*alt="photo.png" width="640" height="480">/);
  assert.match(markup, /<a class="part-image-link" href="\/api\/v1\/attachments\/att1" data-lightbox="att1"/);
  assert.doesNotMatch(markup, /part-file/);
});

test('an image without dimensions has no width or height attributes', () => {
  const markup = partAttachments([{ ...photo, width: undefined, height: null }]).__html;
  assert.doesNotMatch(markup, /\swidth=|\sheight=/);
});

test('other files are download links with their name and size', () => {
  const markup = partAttachments([photo, pdf]).__html;
  assert.match(markup, /<a class="part-file" data-testid="part-file" href="\/api\/v1\/attachments\/att2"\s+download="invoice.pdf"/);
  assert.match(markup, /<span class="part-file-name">invoice.pdf<\/span>/);
  assert.match(markup, /<span class="part-file-size">1.5 MB<\/span>/);
  assert.ok(markup.indexOf('part-images') < markup.indexOf('part-files'), 'images first');
});

test('names are escaped everywhere they appear', () => {
  const evil = { id: 'x"><script>', name: '"><img src=x onerror=alert(1)>.png', content_type: 'image/png', size: 1 };
  const markup = partAttachments([evil, { ...evil, content_type: 'text/html' }]).__html;
  assert.doesNotMatch(markup, /<script>|<img src=x/);
  assert.match(markup, /alt="&quot;&gt;&lt;img src=x onerror=alert\(1\)&gt;.png"/);
  assert.match(markup, /download="&quot;&gt;&lt;img/);
  assert.match(markup, /\/api\/v1\/attachments\/x%22%3E%3Cscript%3E/);
});
