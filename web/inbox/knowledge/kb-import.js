// Importing Markdown files into the knowledge base: chosen with the page's
// file input or dropped anywhere on it, read with a FileReader, sent in
// requests that fit the server's body limit, and the counts shown
// (created, updated, unchanged) with the files left out and why.
//
//   const destroy = mountImport(element, { dropTarget, fileInput, onImported });

import { html, render } from '../../shared/html.js';
import { importArticles } from '../data/knowledge.js';
import { announce } from '../data/store.js';
import { readImportFiles, importBatches, addCounts, importSummary, problemMessages } from './articles.js';

const hasFiles = (event) => [...(event.dataTransfer?.types ?? [])].includes('Files');

export function mountImport(element, { dropTarget, fileInput, onImported }) {
  let alive = true;
  let busy = false;
  let depth = 0; // dragenter / dragleave pairs over the page's children
  let outcome = null; // {progress} | {counts, sent, skipped, errors}
  const listening = new AbortController();
  const on = (target, type, fn) => target.addEventListener(type, fn, { signal: listening.signal });

  const draw = () => {
    if (!outcome) {
      render(element, html``);
      return;
    }
    if (outcome.progress) {
      render(element, html`<p class="notice" role="status" data-testid="kb-import-progress">${outcome.progress}</p>`);
      return;
    }
    const { counts, sent, skipped, errors } = outcome;
    render(element, html`<div class="${`notice kb-import-result${errors.length ? ' is-warning' : ''}`}" role="status"
      data-testid="kb-import-result">
      <p><strong>${sent ? `Imported ${sent} ${sent === 1 ? 'file' : 'files'}: ` : 'Nothing was imported. '}</strong>${sent ? importSummary(counts) : ''}</p>
      ${errors.length ? html`<p>These were not imported:</p>
        <ul class="kb-import-list" data-testid="kb-import-errors">${errors.map((message) => html`<li>${message}</li>`)}</ul>` : ''}
      ${skipped.length ? html`<p>Left out:</p>
        <ul class="kb-import-list" data-testid="kb-import-skipped">${skipped.map(({ name, reason }) => html`<li><code>${name}</code>: ${reason}</li>`)}</ul>` : ''}
      <button type="button" class="button ghost small" data-action="dismiss-import">Dismiss</button>
    </div>`);
  };

  const run = async (list) => {
    if (busy || !list?.length) return;
    busy = true;
    outcome = { progress: `Reading ${list.length} ${list.length === 1 ? 'file' : 'files'}…` };
    draw();
    try {
      const { files, skipped } = await readImportFiles(list);
      let counts = { created: 0, updated: 0, unchanged: 0 };
      let sent = 0;
      const errors = [];
      for (const batch of importBatches(files)) {
        if (!alive) return;
        outcome = { progress: `Importing ${sent + 1}–${sent + batch.length} of ${files.length}…` };
        draw();
        try {
          counts = addCounts(counts, await importArticles(batch));
          sent += batch.length;
        } catch (error) {
          // A request with a faulty file imports none of its files: say which ones.
          const names = batch.length > 3 ? `${batch.length} files` : batch.map((f) => f.name).join(', ');
          errors.push(...problemMessages(error).map((message) => (message.includes('.md') ? message : `${names}: ${message}`)));
        }
      }
      if (!alive) return;
      outcome = { counts, sent, skipped, errors };
      draw();
      announce(sent ? `Imported ${sent} files: ${importSummary(counts)}` : 'Nothing was imported.');
      if (sent) onImported?.(counts);
    } finally {
      busy = false;
    }
  };

  on(fileInput, 'change', () => {
    const files = [...(fileInput.files ?? [])];
    fileInput.value = '';
    run(files);
  });

  on(dropTarget, 'dragenter', (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    depth += 1;
    dropTarget.classList.add('is-dropping');
  });
  on(dropTarget, 'dragover', (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
  });
  on(dropTarget, 'dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (!depth) dropTarget.classList.remove('is-dropping');
  });
  on(dropTarget, 'drop', (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    depth = 0;
    dropTarget.classList.remove('is-dropping');
    run([...event.dataTransfer.files]);
  });
  on(element, 'click', (event) => {
    if (!event.target.closest('[data-action="dismiss-import"]')) return;
    outcome = null;
    draw();
    fileInput.focus();
  });

  return () => {
    alive = false;
    listening.abort();
  };
}
