// Unit tests for a message's files in the thread: run with `node --test web/widget/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { partAttachmentsView } from './attachment-parts.js';
import { setLanguage } from './i18n.js';

setLanguage('en');

test('a part without files draws nothing', () => {
  assert.equal(partAttachmentsView({ body: 'hi' }), '');
});

test('an image is drawn inline at its fitted size, with no source until its bytes are fetched', () => {
  const { __html: markup } = partAttachmentsView({
    attachments: [{ id: 'att1', name: 'cat.png', content_type: 'image/png', size: 86, width: 4000, height: 3000 }],
  });
  const img = /<img[^>]*>/.exec(markup)[0];
  assert.match(img, /data-testid="widget-part-image"/);
  assert.match(img, /data-attachment-id="att1"/);
  assert.match(img, /width="240" height="180"/);
  assert.match(img, /alt="cat.png"/);
  assert.doesNotMatch(img, /\ssrc=/);
  assert.match(markup, /data-action="open-image"[^>]*aria-label="Open image cat.png"/);
});

test('other files are a download button with their name and size', () => {
  const { __html: markup } = partAttachmentsView({
    attachments: [{ id: 'att2', name: 'invoice.pdf', content_type: 'application/pdf', size: 1536 }],
  });
  assert.match(markup, /data-testid="widget-part-file"/);
  assert.match(markup, /data-action="download"/);
  assert.match(markup, /data-name="invoice.pdf"/);
  assert.match(markup, /<span class="part-file-name" dir="auto">invoice.pdf<\/span>/);
  assert.match(markup, /1.5 KB/);
  assert.doesNotMatch(markup, /widget-part-image/);
});

test('names are escaped wherever they go', () => {
  const name = '"><img src=x onerror=alert(1)>.png';
  const { __html: markup } = partAttachmentsView({
    attachments: [
      { id: 'a"b', name, content_type: 'image/png', size: 1, width: 1, height: 1 },
      { id: 'c', name, content_type: 'text/plain', size: 1 },
    ],
  });
  assert.doesNotMatch(markup, /<img src=x/);
  assert.match(markup, /alt="&quot;&gt;&lt;img src=x onerror=alert\(1\)&gt;.png"/);
  assert.match(markup, /data-attachment-id="a&quot;b"/);
});

test('images come first, then the files', () => {
  const { __html: markup } = partAttachmentsView({
    attachments: [
      { id: 'f', name: 'notes.txt', content_type: 'text/plain', size: 5 },
      { id: 'i', name: 'dog.webp', content_type: 'image/webp', size: 5 },
    ],
  });
  assert.ok(markup.indexOf('widget-part-image') < markup.indexOf('widget-part-file'));
});
