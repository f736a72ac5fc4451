// Settings > AI bot: on or off, when it answers, its name and avatar, the
// confidence it needs to answer (a range with its value shown), the
// article languages it answers from, and who gets a conversation it hands
// over (owners and admins change them); what the server runs it with
// (keyword or hybrid search, an LLM or none); then its report over the
// last 7, 30 or 90 days (bot-report.js).
//
//   const destroy = mountBotSection(element, { manage });

import { html, render } from '../../shared/html.js';
import { getBotSettings, saveBotSettings, getBotReport } from '../data/bot.js';
import { listTeams } from '../data/teams.js';
import { formError, formValues, showProblem, showFieldErrors, clearErrors, whileBusy } from '../ui/forms.js';
import { sortedAgents, subscribe } from '../data/store.js';
import { assigneeOptions } from '../automations/node-fields.js';
import {
  ANSWERS_WHEN, MAX_NAME, botRequest, handoverValue, languagesText, llmText, retrievalText, thresholdText,
} from './bot.js';
import { reportView } from './bot-report.js';

const REPORT_DAYS = [7, 30, 90];

function fieldSlot(id, name) {
  return html`<p class="field-error" id="${`${id}-error`}" data-error-for="${name}"></p>`;
}

function option([value, label], current) {
  return html`<option value="${value}" ${value === current ? html`selected` : ''}>${label}</option>`;
}

/** The handover choices; a target no longer in them (a removed teammate, a deleted team) stays, named as such. */
function handoverOptions(current, teams) {
  const options = assigneeOptions(sortedAgents(), { teams });
  const values = options.flatMap((entry) => (Array.isArray(entry) ? [entry[0]] : entry.options.map(([v]) => v)));
  if (current && !values.includes(current)) {
    options.push([current, current.startsWith('team:') ? (teams ? 'A deleted team' : 'A team') : 'A teammate']);
  }
  return html`${options.map((entry) => (Array.isArray(entry) ? option(entry, current)
    : html`<optgroup label="${entry.group}">${entry.options.map((o) => option(o, current))}</optgroup>`))}`;
}

function runsWith(answer) {
  return html`<ul class="bot-runs" data-testid="bot-runs-with">
    <li data-testid="bot-retrieval" data-retrieval="${answer.retrieval ?? 'keywords'}">
      <strong>Search:</strong> ${retrievalText(answer.retrieval, answer.model)}</li>
    <li data-testid="bot-llm" data-llm="${answer.llm ? 'yes' : 'no'}"><strong>Answers:</strong> ${llmText(answer.llm)}</li>
  </ul>`;
}

function settingsForm(settings, manage) {
  return html`<form data-form="bot" novalidate>
    ${formError()}
    <fieldset ${manage ? '' : html`disabled`}>
      <label class="switch">
        <input type="checkbox" role="switch" name="enabled" data-testid="bot-enabled" aria-describedby="bot-enabled-error"
          ${settings.enabled ? html`checked` : ''}>
        <span class="switch-track" aria-hidden="true"></span>
        <span>The bot answers new conversations from published articles</span>
      </label>
      ${fieldSlot('bot-enabled', 'enabled')}
      <div class="field-row">
        <div class="field">
          <label for="bot-answers-when">When it answers</label>
          <select id="bot-answers-when" name="answers_when" aria-describedby="bot-answers-when-error" data-testid="bot-answers-when">
            ${ANSWERS_WHEN.map((entry) => option(entry, settings.answers_when ?? 'always'))}
          </select>
          ${fieldSlot('bot-answers-when', 'answers_when')}
        </div>
        <div class="field">
          <label for="bot-handover">Hand conversations over to</label>
          <select id="bot-handover" name="handover_to" aria-describedby="bot-handover-hint bot-handover-error"
            data-testid="bot-handover" data-region="handover"></select>
          <p class="field-hint" id="bot-handover-hint">When the visitor asks for a person, or the bot cannot help.</p>
          ${fieldSlot('bot-handover', 'handover_to')}
        </div>
      </div>
      <div class="field-row">
        <div class="field">
          <label for="bot-name">Name</label>
          <input id="bot-name" name="name" value="${settings.name ?? ''}" maxlength="${MAX_NAME}" autocomplete="off" required
            aria-describedby="bot-name-error" data-testid="bot-name">
          ${fieldSlot('bot-name', 'name')}
        </div>
        <div class="field">
          <label for="bot-avatar">Avatar URL</label>
          <input id="bot-avatar" name="avatar_url" type="url" value="${settings.avatar_url ?? ''}" placeholder="https://…"
            autocomplete="off" spellcheck="false" aria-describedby="bot-avatar-hint bot-avatar-error" data-testid="bot-avatar">
          <p class="field-hint" id="bot-avatar-hint">An https address of an image. Empty: its initials.</p>
          ${fieldSlot('bot-avatar', 'avatar_url')}
        </div>
      </div>
      <div class="field-row">
        <div class="field">
          <label for="bot-threshold">Confidence it needs to answer</label>
          <div class="bot-threshold">
            <input id="bot-threshold" name="threshold" type="range" min="0" max="1" step="0.05" value="${settings.threshold ?? 0.5}"
              aria-describedby="bot-threshold-hint bot-threshold-error" data-testid="bot-threshold">
            <output for="bot-threshold" data-region="threshold" data-testid="bot-threshold-value">${thresholdText(settings.threshold ?? 0.5)}</output>
          </div>
          <p class="field-hint" id="bot-threshold-hint">Below it, the bot says it does not know and offers a person. Higher: fewer, surer answers.</p>
          ${fieldSlot('bot-threshold', 'threshold')}
        </div>
        <div class="field">
          <label for="bot-languages">Languages</label>
          <input id="bot-languages" name="languages" value="${languagesText(settings.languages)}" placeholder="en, de"
            autocomplete="off" spellcheck="false" aria-describedby="bot-languages-hint bot-languages-error" data-testid="bot-languages">
          <p class="field-hint" id="bot-languages-hint">Language tags of the articles it answers from, separated by commas. Empty: all.</p>
          ${fieldSlot('bot-languages', 'languages')}
        </div>
      </div>
      <div class="form-actions">
        <button type="submit" class="button primary small" data-testid="bot-save">Save bot settings</button>
        <span class="saved-note" role="status" data-saved></span>
      </div>
    </fieldset>
  </form>`;
}

export function mountBotSection(element, { manage }) {
  let alive = true;
  const listening = new AbortController();
  const listen = (type, fn) => element.addEventListener(type, fn, { signal: listening.signal });
  let settings = null;
  let teams = null;
  let days = 30;
  let reportRequest = 0;

  render(element, html`<section class="card" aria-labelledby="s-bot" data-testid="bot-section">
    <h2 id="s-bot">AI bot</h2>
    <p>The bot answers visitors from the <a href="#/knowledge">knowledge base</a>'s published articles, asks whether
      that helped, and hands the conversation to the team when it cannot.</p>
    <div data-region="runs"></div>
    <div data-region="bot"><p role="status">Loading…</p></div>
    <div class="card-head bot-report-head">
      <h3 id="bot-report-title">Report</h3>
      <label class="compact-field"><span class="field-label-inline">Last</span>
        <select data-action="report-days" aria-label="Report period" data-testid="bot-report-days">
          ${REPORT_DAYS.map((n) => html`<option value="${n}" ${n === days ? html`selected` : ''}>${n} days</option>`)}
        </select></label>
    </div>
    <div data-region="report" data-testid="bot-report"><p role="status">Loading…</p></div>
  </section>`);
  const region = (name) => element.querySelector(`[data-region="${name}"]`);

  const drawHandover = () => {
    const select = region('handover');
    if (!select || !settings) return;
    const current = select.value || handoverValue(settings.handover_to);
    render(select, handoverOptions(current, teams));
    select.value = current;
  };

  const showAnswer = (answer, { form = true } = {}) => {
    settings = answer?.settings ?? answer ?? {};
    render(region('runs'), runsWith(answer ?? {}));
    if (form) render(region('bot'), settingsForm(settings, manage));
    drawHandover();
  };

  const loadReport = async () => {
    const request = ++reportRequest;
    try {
      const report = await getBotReport(days);
      if (alive && request === reportRequest) render(region('report'), reportView(report));
    } catch (error) {
      if (alive && request === reportRequest) {
        render(region('report'), html`<p class="form-error" role="alert">Could not load the report: ${error.message}</p>`);
      }
    }
  };

  listen('input', (event) => {
    if (event.target.name === 'threshold') render(region('threshold'), html`${thresholdText(event.target.value)}`);
  });

  listen('change', (event) => {
    if (event.target.dataset.action !== 'report-days') return;
    days = Number(event.target.value) || 30;
    loadReport();
  });

  listen('submit', async (event) => {
    const form = event.target;
    if (form.dataset.form !== 'bot') return;
    event.preventDefault();
    const { body, errors } = botRequest(formValues(form));
    if (errors.length) {
      showFieldErrors(form, errors);
      return;
    }
    clearErrors(form);
    try {
      const answer = await whileBusy(form, () => saveBotSettings(body));
      if (!alive) return;
      showAnswer(answer, { form: false });
      // What the server stored (it tidies languages).
      form.elements.languages.value = languagesText(settings.languages);
      const note = form.querySelector('[data-saved]');
      render(note, html`Saved`);
      setTimeout(() => note.isConnected && render(note, html``), 2500);
    } catch (error) {
      if (alive) showProblem(form, error);
    }
  });

  (async () => {
    const [answer, teamList] = await Promise.allSettled([getBotSettings(), listTeams()]);
    if (!alive) return;
    teams = teamList.status === 'fulfilled' ? teamList.value : null;
    if (answer.status === 'fulfilled') showAnswer(answer.value);
    else render(region('bot'), html`<p class="form-error" role="alert">Could not load the bot's settings: ${answer.reason?.message}</p>`);
  })();
  loadReport();
  const off = subscribe('agents', drawHandover);

  return () => {
    alive = false;
    listening.abort();
    off();
  };
}
