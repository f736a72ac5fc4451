// `#/people/import`: contacts from a CSV file. The file goes up as it is
// (text/csv); the answer streams back as JSON lines, read as they arrive,
// so the counts move while the server works and each bad row is listed
// with its line, column and reason.

import { html, render } from '../../shared/html.js';
import { loadPeopleSchema, importContacts } from '../data/people.js';
import { formError, showProblem, clearErrors } from '../ui/forms.js';
import { ndjsonItems, startProgress, applyImportLine, MAX_LISTED_ERRORS } from './contact-import.js';

const NUMBER = new Intl.NumberFormat('en');
// Redraw the counts at most this often: a big file sends many lines.
const DRAW_EVERY_MS = 100;

function progressView(progress, { running, fileName }) {
  const n = (value) => NUMBER.format(value);
  return html`
    <section class="card" aria-labelledby="import-progress-title" data-testid="import-progress"
      data-done="${String(progress.done)}">
      <h2 id="import-progress-title">${running ? `Importing ${fileName}…` : progress.done ? `Imported ${fileName}` : `Stopped: ${fileName}`}</h2>
      <dl class="stats">
        <div class="stat" data-testid="import-rows"><dt>Rows read</dt><dd>${n(progress.rows)}</dd></div>
        <div class="stat" data-testid="import-created"><dt>Created</dt><dd>${n(progress.created)}</dd></div>
        <div class="stat" data-testid="import-updated"><dt>Updated</dt><dd>${n(progress.updated)}</dd></div>
        <div class="stat" data-testid="import-failed"><dt>Failed</dt><dd>${n(progress.failed)}</dd></div>
      </dl>
      ${progress.errors.length ? html`
        <h3>Rows not imported</h3>
        ${progress.failed > progress.errors.length ? html`<p class="muted small">The first ${n(progress.errors.length)}
          of ${n(progress.failed)} are listed${progress.errors.length >= MAX_LISTED_ERRORS ? ' (the server lists at most 1,000)' : ''}.</p>` : ''}
        <div class="table-wrap scroll-box">
          <table class="data-table" data-testid="import-errors">
            <thead><tr><th scope="col">Line</th><th scope="col">Column</th><th scope="col">Problem</th></tr></thead>
            <tbody>${progress.errors.map((error) => html`<tr data-testid="import-error-row">
              <td class="numeric">${error.line ?? '—'}</td><td>${error.field ? html`<code>${error.field}</code>` : '—'}</td>
              <td>${error.message}</td></tr>`)}</tbody>
          </table>
        </div>` : ''}
    </section>`;
}

export function mountImportView(element) {
  let alive = true;
  let abort = null;
  render(element, html`
    <main id="main" class="page import-page" tabindex="-1" data-testid="import-view">
      <p class="breadcrumbs"><a href="#/people">← People</a></p>
      <h1>Import contacts</h1>
      <section class="card" aria-labelledby="import-title">
        <h2 id="import-title">From a CSV file</h2>
        <p>The first row names the columns: <code>user_id</code>, <code>email</code>, <code>name</code>, <code>phone</code>,
          the other system properties, <code>tags</code> (separated by <code>;</code>) and any custom property.
          Each row updates the contact with its <code>user_id</code>, else its <code>email</code>, or creates one.
          An empty cell leaves the property as it is.</p>
        <form data-form="import" novalidate>
          ${formError()}
          <div class="field">
            <label for="import-file">CSV file</label>
            <input id="import-file" name="file" type="file" accept=".csv,text/csv" required
              aria-describedby="import-file-error" data-testid="import-file">
            <p class="field-error" id="import-file-error" data-error-for="file"></p>
          </div>
          <div class="form-actions">
            <button type="submit" class="button primary small" data-testid="import-submit">Import</button>
            <button type="button" class="button ghost small" data-action="stop" hidden data-testid="import-stop">Stop reading</button>
          </div>
        </form>
      </section>
      <div data-region="progress" aria-live="off"></div>
      <p class="visually-hidden" role="status" data-region="announce"></p>
    </main>`);

  const form = element.querySelector('form');
  const submit = form.querySelector('[type="submit"]');
  const stop = form.querySelector('[data-action="stop"]');
  const progressRegion = element.querySelector('[data-region="progress"]');
  const announce = element.querySelector('[data-region="announce"]');

  const run = async (file) => {
    clearErrors(form);
    abort = new AbortController();
    let progress = startProgress();
    let lastDraw = 0;
    let running = true;
    const draw = (force = false) => {
      const now = Date.now();
      if (!force && now - lastDraw < DRAW_EVERY_MS) return;
      lastDraw = now;
      render(progressRegion, progressView(progress, { running, fileName: file.name }));
    };
    submit.disabled = true;
    stop.hidden = false;
    render(announce, html`Importing ${file.name}`);
    draw(true);
    try {
      const response = await importContacts(file, abort.signal);
      for await (const item of ndjsonItems(response.body)) {
        if (!alive) return;
        progress = applyImportLine(progress, item);
        draw();
      }
      running = false;
      draw(true);
      render(announce, html`${progress.done
        ? `Import finished: ${NUMBER.format(progress.created)} created, ${NUMBER.format(progress.updated)} updated, ${NUMBER.format(progress.failed)} failed.`
        : 'The import stopped before the end; the rows counted above were saved.'}`);
      // New properties and tags are now in the filter builder's lists.
      loadPeopleSchema({ force: true }).catch(() => {});
    } catch (error) {
      if (!alive) return;
      running = false;
      if (error.name === 'AbortError') {
        draw(true);
        render(announce, html`Stopped reading. Rows the server had already read are saved.`);
      } else if (progress.rows || progress.errors.length) {
        draw(true);
        showProblem(form, error);
      } else {
        // Refused before anything was read (a bad header): problem+json.
        render(progressRegion, html``);
        showProblem(form, error);
      }
    } finally {
      abort = null;
      if (alive) {
        submit.disabled = false;
        stop.hidden = true;
      }
    }
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const file = form.elements.file.files?.[0];
    if (!file) {
      showProblem(form, { fieldErrors: { file: 'Choose a CSV file first.' } });
      return;
    }
    run(file);
  });
  stop.addEventListener('click', () => abort?.abort());

  element.querySelector('main').focus();
  return () => {
    alive = false;
    abort?.abort();
  };
}
