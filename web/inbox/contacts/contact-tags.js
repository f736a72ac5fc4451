// The profile's Tags card: the contact's tags as chips (✕ removes one) and
// "Add a tag", suggesting the workspace's other tags.

import { html } from '../../shared/html.js';
import { addTag, removeTag } from '../data/contacts.js';
import { loadPeopleSchema } from '../data/people.js';
import { renderKeepingFocus } from '../ui/focus.js';
import { formError, showProblem, clearErrors, whileBusy } from '../ui/forms.js';
import { contactTags } from './contact-props.js';

/** `profile` is the profile's `{contact, schema, alive}` (contact-view.js). */
export function mountTagsCard(region, { profile }) {
  const listening = new AbortController();
  const listen = (type, fn) => region.addEventListener(type, fn, { signal: listening.signal });

  const draw = () => {
    const tags = contactTags(profile.contact);
    const suggestions = (profile.schema?.tags ?? []).map((t) => t.name ?? t).filter((t) => !tags.includes(t));
    renderKeepingFocus(region, html`
      <h2 id="tags-title">Tags</h2>
      ${tags.length ? html`<ul class="chips" aria-labelledby="tags-title" data-testid="tag-list">
        ${tags.map((tag) => html`<li class="chip" data-testid="tag-chip" data-tag="${tag}">
          <span>${tag}</span>
          <button type="button" class="chip-remove" data-remove-tag="${tag}" data-focus-key="${`tag:${tag}`}"
            aria-label="${`Remove tag ${tag}`}" data-testid="tag-remove">✕</button>
        </li>`)}
      </ul>` : html`<p class="muted small">No tags.</p>`}
      <form class="tag-form" data-form="add-tag" novalidate>
        ${formError()}
        <div class="input-with-button">
          <label for="tag-new" class="visually-hidden">Add a tag</label>
          <input id="tag-new" name="tag" type="text" list="tag-suggestions" placeholder="Add a tag" autocomplete="off"
            maxlength="255" data-focus-key="tag-new" aria-describedby="tag-new-error" data-testid="tag-input">
          <datalist id="tag-suggestions">${suggestions.map((t) => html`<option value="${t}"></option>`)}</datalist>
          <button type="submit" class="button small" data-testid="tag-add">Add</button>
        </div>
        <p class="field-error" id="tag-new-error" data-error-for="tag"></p>
      </form>`);
  };

  const changeTags = async (form, request) => {
    if (form) clearErrors(form);
    try {
      const answer = await (form ? whileBusy(form, request) : request());
      if (!profile.alive) return false;
      profile.contact = { ...profile.contact, tags: answer?.tags ?? profile.contact.tags };
      draw();
      return true;
    } catch (error) {
      const tagForm = region.querySelector('[data-form="add-tag"]');
      if (profile.alive && tagForm) showProblem(tagForm, error);
      return false;
    }
  };

  listen('submit', async (event) => {
    const form = event.target;
    event.preventDefault();
    if (form.dataset.form !== 'add-tag') return;
    const tag = form.elements.tag.value.trim();
    if (!tag) {
      showProblem(form, { fieldErrors: { tag: 'Type a tag first.' } });
      return;
    }
    if (await changeTags(form, () => addTag(profile.contact.id, tag))) {
      region.querySelector('#tag-new')?.focus();
      if (!(profile.schema?.tags ?? []).some((t) => (t.name ?? t) === tag)) loadPeopleSchema({ force: true }).catch(() => {});
    }
  });

  listen('click', async (event) => {
    const tag = event.target.closest('button')?.dataset.removeTag;
    if (!tag) return;
    if (await changeTags(null, () => removeTag(profile.contact.id, tag))) region.querySelector('#tag-new')?.focus();
  });

  return { draw, destroy: () => listening.abort() };
}
