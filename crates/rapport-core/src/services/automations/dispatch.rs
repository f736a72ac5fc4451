//! Reading a workspace's activity log for automations: each entry is
//! matched against the live versions' triggers, the matches against their
//! audiences, and the runs that result are started (or waiting runs woken)
//! in one transaction with the move of the workspace's cursor. A second
//! dispatcher reading the same stretch finds the cursor moved and starts
//! nothing, so each entry starts each automation at most once.

use std::collections::{HashMap, HashSet};

use super::Env;
use super::runs::awaited_by;
use crate::Timestamp;
use crate::model::activity::{Activity, ActivityEntry};
use crate::model::automation::Trigger;
use crate::model::automation::Version;
use crate::model::automation::run::{NewRun, RunContext, Wait, WaitKind};
use crate::model::automation::trigger::{EntryFacts, TriggerMatch};
use crate::model::conversation::{Author, PartKind};
use crate::model::filter::Filter;
use crate::model::ids::{AutomationId, ContactId, ConversationId, RunId, WorkspaceId};
use crate::model::job::{Job, NewJob};
use crate::model::people::{ContactSearch, ContactSort};
use crate::ports::store::{Dispatch, DispatchWork, StoreError, Stream, new_run};

/// What one dispatch did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dispatched {
    /// Log entries read.
    pub entries: usize,
    pub started: Vec<RunId>,
    pub woken: usize,
    /// Matches dropped because they were found too late (after downtime).
    pub overdue: usize,
    /// Another dispatcher had moved the cursor: nothing was written.
    pub lost_race: bool,
    /// Where the cursor stands after this stretch (when it was written).
    pub cursor: i64,
}

/// Reads and acts on the next stretch of one workspace's log.
pub async fn dispatch(env: Env<'_>, work: &DispatchWork) -> Result<Dispatched, StoreError> {
    let store = env.deps.store;
    let ws = work.workspace_id;
    let limit = env.limits.dispatch_batch.max(2);
    let mut entries = store
        .activity_after(ws, Stream::Workspace, work.cursor, limit)
        .await?;
    // A contact's new conversation is logged as two entries in one write:
    // keep them in one stretch so "started by the contact" can be told.
    if entries.len() == limit as usize {
        while entries
            .last()
            .is_some_and(|e| matches!(e.activity, Activity::ConversationStarted))
        {
            entries.pop();
        }
    }
    let Some(last) = entries.last() else {
        return Ok(Dispatched {
            cursor: work.cursor,
            ..Dispatched::default()
        });
    };
    let to = last.seq;
    let now = env.deps.clock.now();
    let versions = store.live_versions(ws).await?;

    let mut outcome = Dispatched {
        entries: entries.len(),
        cursor: to,
        ..Dispatched::default()
    };
    let mut started_conversations: HashSet<ConversationId> = HashSet::new();
    let mut candidates: Vec<(&Version, &ActivityEntry, TriggerMatch)> = Vec::new();
    for entry in &entries {
        if matches!(entry.activity, Activity::ConversationStarted)
            && let Some(id) = entry.conversation_id
        {
            started_conversations.insert(id);
        }
        // The first message after a conversation started says who started
        // it, whoever wrote it.
        let first_message = matches!(entry.activity, Activity::Message(_))
            && entry
                .conversation_id
                .is_some_and(|c| started_conversations.remove(&c));
        let facts = EntryFacts {
            starts_conversation: first_message
                && matches!(&entry.activity, Activity::Message(m) if matches!(m.author, Author::Contact(_))),
        };
        for version in &versions {
            let Some(found) =
                version
                    .definition
                    .trigger
                    .matches(version.automation_id, entry, facts)
            else {
                continue;
            };
            if now.as_millis() - found.due_at.as_millis() > env.limits.overdue_millis {
                outcome.overdue += 1;
                continue;
            }
            candidates.push((version, entry, found));
        }
    }

    let admitted = admit(env, ws, &candidates).await?;
    let mut runs: Vec<NewRun> = Vec::new();
    let mut seen: HashSet<(AutomationId, ContactId)> = HashSet::new();
    for (i, (version, entry, found)) in candidates.into_iter().enumerate() {
        if !admitted[i] || !seen.insert((version.automation_id, entry.contact_id)) {
            continue;
        }
        let context = RunContext {
            event: found.event.clone(),
            trigger_seq: entry.seq,
            depth: found.depth,
        };
        let wait = Wait {
            kind: WaitKind::Trigger {
                recheck: found.recheck.clone(),
            },
            until: found.due_at,
            since_seq: entry.seq,
        };
        runs.push(new_run(
            ws,
            version,
            entry.contact_id,
            found.conversation_id,
            context,
            wait,
            now,
        ));
    }

    let wake = waking(env, ws, &entries).await?;
    outcome.woken = wake.len();
    let jobs = bot_turns(env, ws, &entries, now).await?;
    match store
        .dispatch(Dispatch {
            workspace_id: ws,
            from: work.cursor,
            to,
            runs,
            wake,
            jobs,
            at: now,
        })
        .await
    {
        Ok(started) => outcome.started = started,
        Err(StoreError::Conflict(_)) => outcome.lost_race = true,
        Err(other) => return Err(other),
    }
    Ok(outcome)
}

/// The AI bot's turns the stretch calls for: one per message a contact
/// wrote, when the bot is on (whether it answers is its own decision).
async fn bot_turns(
    env: Env<'_>,
    ws: WorkspaceId,
    entries: &[ActivityEntry],
    now: Timestamp,
) -> Result<Vec<NewJob>, StoreError> {
    let written = |e: &&ActivityEntry| {
        matches!(&e.activity, Activity::Message(m)
            if matches!(m.author, Author::Contact(_)) && m.kind == PartKind::Comment)
    };
    if !entries.iter().any(|e| written(&e)) || !env.deps.store.bot_settings(ws).await?.enabled {
        return Ok(Vec::new());
    }
    Ok(entries
        .iter()
        .filter(written)
        .filter_map(|e| match (&e.activity, e.conversation_id) {
            (Activity::Message(m), Some(conversation_id)) => Some(NewJob::new(
                ws,
                Job::BotReply {
                    conversation_id,
                    message_id: m.id,
                    seq: e.seq,
                },
                now,
            )),
            _ => None,
        })
        .collect())
}

/// Which candidates' contacts are in their automation's audience (one
/// query per automation with an audience).
async fn admit(
    env: Env<'_>,
    ws: WorkspaceId,
    candidates: &[(&Version, &ActivityEntry, TriggerMatch)],
) -> Result<Vec<bool>, StoreError> {
    let store = env.deps.store;
    let mut admitted = vec![true; candidates.len()];
    let mut by_automation: HashMap<AutomationId, Vec<usize>> = HashMap::new();
    for (i, (version, _, _)) in candidates.iter().enumerate() {
        if version.definition.audience.is_some() {
            by_automation
                .entry(version.automation_id)
                .or_default()
                .push(i);
        }
    }
    if by_automation.is_empty() {
        return Ok(admitted);
    }
    let types = store.property_types(ws).await?;
    let now = env.deps.clock.now();
    for indexes in by_automation.values() {
        let version = candidates[indexes[0]].0;
        let Some(json) = &version.definition.audience else {
            continue;
        };
        let types = version.definition.declared_types(&types);
        let contacts: Vec<ContactId> = indexes
            .iter()
            .map(|&i| candidates[i].1.contact_id)
            .collect();
        let parsed = match crate::services::segments::expand(store, ws, json, "audience").await {
            Ok(json) => Filter::parse(&json, &types, now),
            Err(StoreError::Invalid(err)) => Err(err),
            Err(other) => return Err(other),
        };
        let matching: HashSet<ContactId> = match parsed {
            Ok(filter) => {
                let online: Vec<ContactId> = if filter.uses_online() {
                    contacts
                        .iter()
                        .copied()
                        .filter(|c| env.presence.contact_online(ws, *c))
                        .collect()
                } else {
                    Vec::new()
                };
                store
                    .matching_contacts(ws, &filter, &online, &contacts)
                    .await?
                    .into_iter()
                    .collect()
            }
            // The audience no longer fits the workspace's properties (a
            // type changed since publishing) or names a segment since
            // deleted: it admits no one.
            Err(err) => {
                tracing::warn!(automation = %version.automation_id, error = %err, "an automation's audience no longer fits; it starts no runs");
                HashSet::new()
            }
        };
        for &i in indexes {
            admitted[i] = matching.contains(&candidates[i].1.contact_id);
        }
    }
    Ok(admitted)
}

/// The waiting runs an entry of this stretch satisfies.
async fn waking(
    env: Env<'_>,
    ws: WorkspaceId,
    entries: &[ActivityEntry],
) -> Result<Vec<RunId>, StoreError> {
    let mut contacts: Vec<ContactId> = entries
        .iter()
        .filter(|e| {
            matches!(
                e.activity,
                Activity::Message(_) | Activity::Event { .. } | Activity::ContactUpdated { .. }
            )
        })
        .map(|e| e.contact_id)
        .collect();
    contacts.sort_unstable();
    contacts.dedup();
    if contacts.is_empty() {
        return Ok(Vec::new());
    }
    let waiting = env.deps.store.waiting_runs(ws, &contacts).await?;
    Ok(waiting
        .into_iter()
        .filter(|run| entries.iter().any(|e| awaited_by(run, e)))
        .map(|run| run.id)
        .collect())
}

/// Contacts a date scan starts runs for at most, per automation and scan.
const DATE_SCAN_MAX: usize = 10_000;

/// Starts the runs of the workspace's live `date_reached` automations
/// whose date (plus the offset) has come: a contact whose date came due
/// within the overdue window, and who has had no run of the automation
/// since it came due (nor within its frequency rule), starts one. Returns
/// the runs started.
pub async fn scan_dates(env: Env<'_>, ws: WorkspaceId) -> Result<usize, StoreError> {
    let store = env.deps.store;
    let versions: Vec<Version> = store
        .live_versions(ws)
        .await?
        .into_iter()
        .filter(|v| matches!(v.definition.trigger, Trigger::DateReached { .. }))
        .collect();
    if versions.is_empty() {
        return Ok(0);
    }
    let types = store.property_types(ws).await?;
    let now = env.deps.clock.now();
    let mut started = 0;
    for version in &versions {
        let Trigger::DateReached {
            property,
            offset_days,
        } = &version.definition.trigger
        else {
            continue;
        };
        let offset = i64::from(*offset_days) * 86_400_000;
        // Due when date + offset <= now: the date is at most now - offset,
        // and at least that minus the overdue window.
        let upper = Timestamp::from_millis(now.as_millis() - offset + 1);
        let lower = Timestamp::from_millis(now.as_millis() - offset - env.limits.overdue_millis);
        let json = serde_json::json!({"and": [
            {"prop": property, "op": "after", "value": lower.to_fixed_string()},
            {"prop": property, "op": "before", "value": upper.to_fixed_string()}
        ]});
        let filter = match Filter::parse(&json, &types, now) {
            Ok(filter) => filter,
            Err(err) => {
                tracing::warn!(automation = %version.automation_id, error = %err, "a date trigger's property is no longer a date-time; it starts no runs");
                continue;
            }
        };
        let mut after = None;
        let mut seen = 0;
        while seen < DATE_SCAN_MAX {
            let page = store
                .search_contacts(ContactSearch {
                    workspace_id: ws,
                    filter: filter.clone(),
                    online: Vec::new(),
                    sort: ContactSort::Created,
                    descending: false,
                    after: after.clone(),
                    limit: 500,
                    now,
                })
                .await?;
            let Some(last) = page.contacts.last() else {
                break;
            };
            after = Some((ContactSort::Created.value_of(last), last.id));
            seen += page.contacts.len();
            for contact in &page.contacts {
                let Some(crate::model::contact::PropValue::DateTime(date)) =
                    contact.props.get(property)
                else {
                    continue;
                };
                let date = *date;
                let due = Timestamp::from_millis(date.as_millis() + offset);
                let mut new = new_run(
                    ws,
                    version,
                    contact.id,
                    None,
                    RunContext {
                        event: Some((
                            DATE_REACHED.to_owned(),
                            serde_json::json!({"property": property, "date": date}),
                        )),
                        trigger_seq: 0,
                        depth: 0,
                    },
                    Wait {
                        kind: WaitKind::Trigger { recheck: None },
                        until: now,
                        since_seq: 0,
                    },
                    now,
                );
                // One run per date: none since it came due, whatever the
                // frequency allows besides.
                let since_due = now.as_millis() - due.as_millis() + 1;
                new.window_millis = new.window_millis.map(|w| w.max(since_due));
                match store.start_run(new).await {
                    Ok(_) => started += 1,
                    Err(StoreError::Conflict(_) | StoreError::NotFound) => {}
                    Err(other) => return Err(other),
                }
            }
        }
    }
    Ok(started)
}

/// The event a date trigger's runs carry, for `{{ event.params.date }}`.
pub const DATE_REACHED: &str = "$date_reached";
