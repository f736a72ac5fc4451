// The People page's saved segments: the list on the left (with "Delete?"
// asked in place), the "Save as segment" form, and opening, saving,
// updating and deleting one. A segment opens in the filter builder; a
// filter the builder cannot show is used as it is, as "in this segment".

import { html, render } from '../../shared/html.js';
import { listSegments, createSegment, updateSegmentFilter, deleteSegment } from '../data/people.js';
import { renderKeepingFocus } from '../ui/focus.js';
import { formError, showProblem, clearErrors, whileBusy } from '../ui/forms.js';
import {
  newGroup, builderFromFilter, newCondition, propertyTypes, locateField, canonicalJson, compileFilter,
} from './people-filter.js';

const byName = (a, b) => String(a.name).localeCompare(String(b.name));

function segmentNav({ segments, segmentsStatus, activeSegmentId, confirmDelete }) {
  const current = (id) => (id === activeSegmentId ? html`aria-current="true"` : '');
  return html`
    <h2 class="nav-title">Segments</h2>
    <ul class="segment-list" data-testid="segment-list">
      <li><button type="button" class="segment-link" data-segment="" data-focus-key="segment:"
        ${activeSegmentId ? '' : html`aria-current="true"`} data-testid="segment-all">All people</button></li>
      ${segments.map((segment) => html`
        <li class="segment-item" data-testid="segment-item" data-segment-id="${segment.id}">
          ${confirmDelete === segment.id ? html`
            <span class="segment-confirm" role="group" aria-label="${`Delete segment ${segment.name}?`}">
              <span>Delete “${segment.name}”?</span>
              <button type="button" class="button small danger" data-delete-confirm="${segment.id}"
                data-focus-key="${`delete-confirm:${segment.id}`}" data-testid="segment-delete-confirm">Delete</button>
              <button type="button" class="button ghost small" data-delete-keep="${segment.id}"
                data-focus-key="${`delete-keep:${segment.id}`}">Keep</button>
            </span>` : html`
            <button type="button" class="segment-link" data-segment="${segment.id}" ${current(segment.id)}
              data-focus-key="${`segment:${segment.id}`}" data-testid="segment-open">${segment.name}</button>
            <button type="button" class="button ghost small icon-button" data-delete="${segment.id}"
              data-focus-key="${`delete:${segment.id}`}" aria-label="${`Delete segment ${segment.name}`}"
              title="Delete segment" data-testid="segment-delete">✕</button>`}
        </li>`)}
    </ul>
    ${segmentsStatus === 'error' ? html`<p class="form-error small">Could not load segments.</p>` : ''}
    ${segmentsStatus === 'ready' && !segments.length
      ? html`<p class="muted small">Save a filter as a segment to find it here.</p>` : ''}`;
}

const segmentForm = () => html`
  <form class="card inline-form" id="segment-form" data-form="segment" novalidate data-testid="segment-form">
    ${formError()}
    <div class="field">
      <label for="segment-name">Segment name</label>
      <div class="input-with-button">
        <input id="segment-name" name="name" type="text" required autocomplete="off" maxlength="200"
          aria-describedby="segment-name-error" data-testid="segment-name">
        <button type="submit" class="button primary small" data-testid="segment-save">Save segment</button>
        <button type="button" class="button ghost small" data-action="cancel-segment">Cancel</button>
      </div>
      <p class="field-error" id="segment-name-error" data-error-for="name"></p>
    </div>
  </form>`;

/**
 * The segments of the People page whose state is `page` (people-view.js);
 * `memory` is what outlives a visit, `builder` the filter builder,
 * `drawActions` redraws the toolbar and `search` runs the filter.
 */
export function createSegments({ page, memory, regions, builder, drawActions, search }) {
  const types = () => propertyTypes(page.schema);

  const active = () => page.segments.find((s) => s.id === page.activeSegmentId) ?? null;

  const changed = () => Boolean(active() && page.segmentBaseline !== null
    && canonicalJson(builder.compiled().filter) !== page.segmentBaseline);

  const draw = () => renderKeepingFocus(regions.segments, segmentNav(page));

  const drawForm = () => {
    if (!page.savingSegment) {
      render(regions['segment-form'], html``);
      return;
    }
    render(regions['segment-form'], segmentForm());
    regions['segment-form'].querySelector('input').focus();
  };

  const open = (id) => {
    page.confirmDelete = null;
    if (!id) {
      page.activeSegmentId = null;
      page.segmentBaseline = null;
      builder.load(newGroup('and'));
    } else {
      const segment = page.segments.find((s) => s.id === id);
      if (!segment) return;
      page.activeSegmentId = id;
      const group = builderFromFilter(segment.filter, types()) ?? newGroup('and', [newCondition(`segment:${id}`, 'in')]);
      builder.load(group);
      page.segmentBaseline = canonicalJson(builder.compiled().filter);
    }
    memory.segmentId = page.activeSegmentId;
    memory.group = builder.group;
    draw();
    drawActions();
    search();
  };

  const load = async () => {
    try {
      const segments = await listSegments();
      if (!page.alive) return;
      page.segments = segments;
      page.segmentsStatus = 'ready';
      const segment = active();
      if (page.activeSegmentId && !segment) {
        page.activeSegmentId = null;
        memory.segmentId = null;
      } else if (segment && page.segmentBaseline === null) {
        // Back on the page with a segment open: compare with its filter as the builder compiles it.
        const group = builderFromFilter(segment.filter, types());
        page.segmentBaseline = group ? canonicalJson(compileFilter(group, types()).filter) : null;
      }
    } catch (error) {
      if (!page.alive) return;
      page.segmentsStatus = 'error';
      console.warn('segments:', error.message);
    }
    draw();
    builder.redraw();
    drawActions();
  };

  // A segment's filter errors go to the builder's rows; the rest stays on the form.
  const placeFilterErrors = (error, paths) => {
    const rowErrors = {};
    for (const { field, message } of error.problem?.errors ?? []) {
      const place = locateField(field, paths);
      if (place?.id) rowErrors[place.id] = { message, part: place.part ?? '' };
    }
    if (Object.keys(rowErrors).length) builder.showErrors(rowErrors, '');
  };

  const save = async (form) => {
    clearErrors(form);
    const name = form.elements.name.value.trim();
    if (!name) {
      showProblem(form, { fieldErrors: { name: 'Give the segment a name.' } });
      return;
    }
    const { filter, paths } = builder.compiled();
    try {
      const created = await whileBusy(form, () => createSegment(name, filter));
      if (!page.alive) return;
      page.segments = [...page.segments, created].sort(byName);
      page.activeSegmentId = created.id;
      memory.segmentId = created.id;
      page.segmentBaseline = canonicalJson(filter);
      page.savingSegment = false;
      drawForm();
      draw();
      drawActions();
      regions.segments.querySelector(`[data-segment="${CSS.escape(created.id)}"]`)?.focus();
    } catch (error) {
      placeFilterErrors(error, paths);
      showProblem(form, error);
    }
  };

  const update = async (button) => {
    const segment = active();
    if (!segment) return;
    const { filter, paths } = builder.compiled();
    button.disabled = true;
    try {
      const saved = await updateSegmentFilter(segment.id, filter);
      if (!page.alive) return;
      page.segments = page.segments.map((s) => (s.id === segment.id ? { ...s, ...saved, filter: saved?.filter ?? filter } : s));
      page.segmentBaseline = canonicalJson(filter);
      drawActions();
      regions.actions.querySelector('[data-action="save-segment"]')?.focus();
    } catch (error) {
      button.disabled = false;
      placeFilterErrors(error, paths);
      builder.showErrors(undefined, error.status === 422 ? '' : error.message);
    }
  };

  const remove = async (id) => {
    try {
      await deleteSegment(id);
    } catch (error) {
      console.warn('delete segment:', error.message);
      page.confirmDelete = null;
      draw();
      return;
    }
    if (!page.alive) return;
    page.segments = page.segments.filter((s) => s.id !== id);
    page.confirmDelete = null;
    if (page.activeSegmentId === id) {
      // Keep the rows on screen as a plain filter.
      page.activeSegmentId = null;
      memory.segmentId = null;
      page.segmentBaseline = null;
    }
    draw();
    builder.redraw();
    drawActions();
    regions.segments.querySelector('[data-segment=""]')?.focus();
  };

  /** The segment list's and the form's clicks; whether the click was one of theirs. */
  const click = (target) => {
    const segmentButton = target.closest('[data-segment]');
    if (segmentButton) {
      open(segmentButton.dataset.segment || null);
      return true;
    }
    const button = target.closest('button');
    if (button?.dataset.delete) {
      page.confirmDelete = button.dataset.delete;
      draw();
      regions.segments.querySelector('[data-delete-keep]')?.focus();
    } else if (button?.dataset.deleteConfirm) {
      remove(button.dataset.deleteConfirm);
    } else if (button?.dataset.deleteKeep) {
      const id = button.dataset.deleteKeep;
      page.confirmDelete = null;
      draw();
      regions.segments.querySelector(`[data-delete="${CSS.escape(id)}"]`)?.focus();
    } else {
      return false;
    }
    return true;
  };

  return { active, changed, draw, drawForm, load, save, update, click };
}
