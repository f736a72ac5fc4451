//! Taking a run's next steps when its job comes due. Each step is planned
//! (`steps`), then written with the run's advance in one store write fenced
//! by the run's step count: a job claimed again after a crash re-reads the
//! run and goes on from the step that was last written, so no step's
//! effect (a message above all) happens twice.

use serde_json::{Value as Json, json};

use super::Env;
use super::steps::{Ending, Plan, Planned, StepError, StepFacts, contact_matches, plan_node};
use crate::Timestamp;
use crate::model::activity::{Activity, ActivityEntry};
use crate::model::agent::Email;
use crate::model::automation::answer::{chosen_button, read_answer};
use crate::model::automation::flow::{Awaited, MAX_REASKS, Node, Sender, Step};
use crate::model::automation::hours::Office;
use crate::model::automation::run::{
    MAX_STEPS, Run, RunLogEntry, RunStatus, STEPS_PER_TURN, Wait, WaitKind,
};
use crate::model::automation::trigger::Recheck;
use crate::model::automation::{Cause, MessageOrigin, Version};
use crate::model::contact::PropTypes;
use crate::model::contact::{ContactUpsert, PropOp, PropOperation, PropValue};
use crate::model::conversation::{Author, ConversationChange, PartKind};
use crate::model::ids::{AutomationId, RunId, WorkspaceId};
use crate::ports::store::{Effect, RunAdvance, RunNext, StoreError};
use crate::services::SendError;
use crate::services::messages::{ChatMessage, prepare_chat_message};

/// How a turn of a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Turn {
    /// The run is over (or gone): its job is done.
    Ended,
    /// The run waits: its job is due again then.
    WaitUntil(Timestamp),
    /// The run has more to do at once (it used its turn's steps).
    More,
}

/// Log entries of the contact a waiting run reads at once.
const WAKE_SCAN: u32 = 500;

/// Takes up to `STEPS_PER_TURN` steps of a run.
pub async fn take_turn(
    env: Env<'_>,
    workspace: WorkspaceId,
    id: RunId,
) -> Result<Turn, StoreError> {
    let store = env.deps.store;
    let mut version: Option<Version> = None;
    let mut office: Option<Office> = None;
    let mut types: Option<((AutomationId, u32), PropTypes)> = None;
    for _ in 0..STEPS_PER_TURN {
        let run = match store.run(workspace, id).await {
            Ok(run) => run,
            Err(StoreError::NotFound) => return Ok(Turn::Ended),
            Err(other) => return Err(other),
        };
        if !run.status.is_going() {
            return Ok(Turn::Ended);
        }
        let definition = match &version {
            Some(v) if v.version == run.version => v,
            _ => {
                version = Some(
                    store
                        .version(workspace, run.automation_id, run.version)
                        .await?,
                );
                version.as_ref().ok_or(StoreError::NotFound)?
            }
        };
        let office = match &office {
            Some(office) => office,
            None => office.insert(store.office(workspace).await?),
        };
        let types = match &types {
            Some((v, t)) if *v == (run.automation_id, run.version) => t,
            _ => {
                let stored = store.property_types(workspace).await?;
                let declared = definition.definition.declared_types(&stored);
                &types.insert(((run.automation_id, run.version), declared)).1
            }
        };
        let facts = StepFacts {
            office,
            types,
            head: store.activity_head(workspace).await?,
            now: env.deps.clock.now(),
        };
        let Some(node) = definition.definition.flow.node(&run.node) else {
            let why = format!("node {:?} is not in version {}", run.node, run.version);
            end(env, &run, "missing", Ending::Failed(why), facts.now).await?;
            continue;
        };
        if run.step >= MAX_STEPS {
            let why = format!("the run took {MAX_STEPS} steps, the most a run may take");
            end(env, &run, node.step.kind(), Ending::Failed(why), facts.now).await?;
            continue;
        }
        let planned = match run.status {
            RunStatus::Waiting => match wake(env, &run, node, &facts).await? {
                Woken::NotYet(until) => return Ok(Turn::WaitUntil(until)),
                Woken::Plan(plan) => Ok(*plan),
            },
            _ => plan_active(env, &run, definition, node, &facts).await,
        };
        let plan = match planned {
            Ok(plan) => plan,
            Err(StepError::Store(err)) => return Err(err),
            Err(StepError::Impossible(why)) => Plan::failed(why),
        };
        commit(env, &run, node, plan, &facts).await?;
    }
    Ok(Turn::More)
}

/// Plans an active run's node, after checking its goal.
async fn plan_active(
    env: Env<'_>,
    run: &Run,
    version: &Version,
    node: &Node,
    facts: &StepFacts<'_>,
) -> Result<Plan, StepError> {
    if let Some(goal) = &version.definition.goal
        && contact_matches(env, run, goal, facts.types, facts.now).await?
    {
        return Ok(Plan::goal());
    }
    plan_node(env, run, node, facts).await
}

enum Woken {
    NotYet(Timestamp),
    Plan(Box<Plan>),
}

/// What a waiting run does now: nothing yet, or the step its wait leads
/// to (what it waited for happened, or time ran out, or it is overdue).
async fn wake(
    env: Env<'_>,
    run: &Run,
    node: &Node,
    facts: &StepFacts<'_>,
) -> Result<Woken, StoreError> {
    let Some(wait) = &run.wait else {
        return Ok(Woken::Plan(Box::new(Plan::failed(
            "waiting, for nothing".into(),
        ))));
    };
    let now = facts.now;
    let due = now >= wait.until;
    let overdue = now.as_millis() - wait.until.as_millis() > env.limits.overdue_millis;
    let late = || {
        let minutes = (now.as_millis() - wait.until.as_millis()) / 60_000;
        Ok(Woken::Plan(Box::new(Plan::stopped(format!(
            "was due {minutes} minutes ago (the server was down): ended instead of acting late"
        )))))
    };
    match &wait.kind {
        WaitKind::Trigger { recheck } => {
            if !due {
                return Ok(Woken::NotYet(wait.until));
            }
            if overdue {
                return late();
            }
            if let Some(recheck) = recheck
                && let Some(why) = recheck_fails(env, run, recheck).await?
            {
                return Ok(Woken::Plan(Box::new(Plan::stopped(why))));
            }
            Ok(Woken::Plan(Box::new(Plan::start())))
        }
        WaitKind::Time => {
            if !due {
                return Ok(Woken::NotYet(wait.until));
            }
            if overdue {
                return late();
            }
            Ok(Woken::Plan(Box::new(Plan::exit("next", "waited"))))
        }
        WaitKind::For { .. } => {
            if find_awaited(env, run, wait).await?.is_some() {
                return Ok(Woken::Plan(Box::new(Plan::exit(
                    "happened",
                    "what it waited for happened",
                ))));
            }
            if !due {
                return Ok(Woken::NotYet(wait.until));
            }
            if overdue {
                return late();
            }
            Ok(Woken::Plan(Box::new(Plan::exit("timed_out", "timed out"))))
        }
        WaitKind::Answer { reasks } => {
            if let Some(entry) = find_awaited(env, run, wait).await?
                && let Activity::Message(message) = &entry.activity
            {
                return Ok(Woken::Plan(Box::new(read_reply(
                    run,
                    node,
                    &message.body,
                    *reasks,
                    wait,
                    facts,
                ))));
            }
            if !due {
                return Ok(Woken::NotYet(wait.until));
            }
            Ok(Woken::Plan(Box::new(Plan::exit(
                "timed_out",
                "no answer in time",
            ))))
        }
    }
}

/// Why a delayed trigger no longer holds, if it does not.
async fn recheck_fails(
    env: Env<'_>,
    run: &Run,
    recheck: &Recheck,
) -> Result<Option<String>, StoreError> {
    let store = env.deps.store;
    let ws = run.workspace_id;
    Ok(match recheck {
        Recheck::StillOnPage { seq } => {
            let latest = store.latest_page_view(ws, run.contact_id).await?;
            if latest != Some(*seq) {
                Some("the visitor moved to another page".into())
            } else if !env.presence.contact_online(ws, run.contact_id) {
                Some("the visitor left the website".into())
            } else {
                None
            }
        }
        Recheck::NoTeamReplySince { since } | Recheck::NoContactReplySince { since } => {
            let Some(conversation) = run.conversation_id else {
                return Ok(Some("the run has no conversation".into()));
            };
            let (contact, team) = store.replies_since(ws, conversation, *since).await?;
            match recheck {
                Recheck::NoTeamReplySince { .. } if team => {
                    Some("the team replied in the meantime".into())
                }
                Recheck::NoContactReplySince { .. } if contact => {
                    Some("the contact replied in the meantime".into())
                }
                _ => None,
            }
        }
    })
}

/// The first entry after the wait began that satisfies it.
async fn find_awaited(
    env: Env<'_>,
    run: &Run,
    wait: &Wait,
) -> Result<Option<ActivityEntry>, StoreError> {
    let entries = env
        .deps
        .store
        .contact_activity_after(run.workspace_id, run.contact_id, wait.since_seq, WAKE_SCAN)
        .await?;
    Ok(entries.into_iter().find(|e| awaited_by(run, e)))
}

/// Whether `entry` is what a waiting run waits for (the dispatcher wakes
/// it early with this; the run checks again itself).
pub fn awaited_by(run: &Run, entry: &ActivityEntry) -> bool {
    let Some(wait) = &run.wait else { return false };
    if entry.contact_id != run.contact_id || entry.seq <= wait.since_seq {
        return false;
    }
    let in_conversation = |e: &ActivityEntry| {
        run.conversation_id.is_none() || e.conversation_id == run.conversation_id
    };
    match (&wait.kind, &entry.activity) {
        (WaitKind::Answer { .. }, Activity::Message(m)) => {
            matches!(m.author, Author::Contact(_)) && entry.conversation_id == run.conversation_id
        }
        (WaitKind::For { awaited }, activity) => match (awaited, activity) {
            (Awaited::Reply, Activity::Message(m)) => {
                matches!(m.author, Author::Contact(_)) && in_conversation(entry)
            }
            // A person on the team: not a bot, not an automation's message.
            (Awaited::TeamReply, Activity::Message(m)) => {
                matches!(m.author, Author::Agent(_))
                    && m.origin.is_none()
                    && m.kind == PartKind::Comment
                    && in_conversation(entry)
            }
            (Awaited::Event { name }, Activity::Event { name: seen, .. }) => name == seen,
            (Awaited::PropertyChanged { name }, Activity::ContactUpdated { properties, .. }) => {
                properties.iter().any(|p| p == name)
            }
            _ => false,
        },
        _ => false,
    }
}

/// Reads the contact's reply to a bot message or question.
fn read_reply(
    run: &Run,
    node: &Node,
    text: &str,
    reasks: u32,
    wait: &Wait,
    facts: &StepFacts<'_>,
) -> Plan {
    let data = json!({ "answer": text.chars().take(200).collect::<String>() });
    let (fault, prompt) = match &node.step {
        Step::BotMessage { buttons, body, .. } => match chosen_button(buttons, text) {
            Some(i) => {
                return Plan {
                    data,
                    ..Plan::exit(&format!("button_{i}"), format!("chose {:?}", buttons[i]))
                };
            }
            None => (
                format!("please choose one of: {}", buttons.join(", ")),
                (body, buttons.clone(), None),
            ),
        },
        Step::Ask {
            body,
            property,
            answer,
            choices,
            reask,
            ..
        } => match read_answer(*answer, choices, text) {
            Ok(value) => {
                return match save_answer(run, property, &value) {
                    Ok(change) => Plan {
                        effect: Planned::Contact(change),
                        data: json!({ "property": property, "value": value }),
                        ..Plan::exit("next", format!("saved the answer to {property}"))
                    },
                    Err(why) => Plan::failed(why),
                };
            }
            Err(why) => {
                let body = reask.as_ref().unwrap_or(body);
                (why, (body, choices.clone(), Some(*answer)))
            }
        },
        _ => return Plan::failed("an answer came to a node that asks nothing".into()),
    };
    if reasks >= MAX_REASKS {
        return Plan {
            data,
            ..Plan::exit("timed_out", format!("no valid answer: {fault}"))
        };
    }
    let (body, buttons, input) = prompt;
    let reask_body = format!("Sorry, {fault}.\n\n{body}");
    Plan {
        effect: Planned::Message {
            from: Sender::Bot,
            body: reask_body,
            note: false,
            email_fallback: false,
            buttons,
            input,
        },
        exit: None,
        wait: Some(Wait {
            kind: WaitKind::Answer { reasks: reasks + 1 },
            until: wait.until,
            since_seq: facts.head,
        }),
        ending: None,
        detail: format!("asked again: {fault}"),
        data,
    }
}

/// The contact change that saves an answer: `email`, `name` and `phone`
/// are the contact's own fields (an email typed to a bot is a claim, never
/// a verified identity); anything else is a custom property.
fn save_answer(run: &Run, property: &str, value: &Json) -> Result<ContactUpsert, String> {
    let mut change = ContactUpsert {
        workspace_id: run.workspace_id,
        user_id: None,
        email: None,
        email_verified: false,
        name: None,
        phone: None,
        ops: Vec::new(),
        tags: Vec::new(),
    };
    let text = value.as_str().map(str::to_owned);
    match property {
        "email" => change.email = Some(Email::parse(text.as_deref().unwrap_or_default())?),
        "name" => change.name = text,
        "phone" => change.phone = text,
        _ => change.ops.push(PropOperation {
            prop: property.to_owned(),
            op: PropOp::Set(PropValue::from_json(value)?),
            field: "property".into(),
        }),
    }
    Ok(change)
}

impl Plan {
    fn failed(why: String) -> Plan {
        Plan::ending(Ending::Failed(why))
    }

    fn stopped(why: String) -> Plan {
        Plan {
            data: json!({ "stopped": true }),
            ..Plan::ending(Ending::Done(why))
        }
    }

    fn goal() -> Plan {
        Plan {
            data: json!({ "goal": true }),
            ..Plan::ending(Ending::Done("reached the goal".into()))
        }
    }

    /// A delayed trigger held: the flow starts at its first node.
    fn start() -> Plan {
        Plan {
            data: json!({ "start": true }),
            ..Plan::exit("start", "the trigger is due")
        }
    }
}

/// Ends a run where it is.
async fn end(
    env: Env<'_>,
    run: &Run,
    kind: &str,
    ending: Ending,
    now: Timestamp,
) -> Result<(), StoreError> {
    let node = Node {
        id: run.node.clone(),
        step: Step::End,
        exits: Default::default(),
        position: None,
    };
    let plan = Plan::ending(ending);
    // An ending sends nothing: the cap does not matter.
    write(env, run, &node, kind, plan, now, u32::MAX).await
}

/// Writes a planned step: its effect, its log line and the run's advance.
async fn commit(
    env: Env<'_>,
    run: &Run,
    node: &Node,
    plan: Plan,
    facts: &StepFacts<'_>,
) -> Result<(), StoreError> {
    let kind = if plan.data.get("start").is_some() {
        "trigger"
    } else {
        node.step.kind()
    };
    let cap = facts.office.automated_messages_per_day;
    write(env, run, node, kind, plan, facts.now, cap).await
}

async fn write(
    env: Env<'_>,
    run: &Run,
    node: &Node,
    kind: &str,
    mut plan: Plan,
    now: Timestamp,
    cap: u32,
) -> Result<(), StoreError> {
    let store = env.deps.store;
    let cause = Cause {
        automation_id: run.automation_id,
        run_id: run.id,
        node: node.id.clone(),
        depth: run.context.depth,
    };
    // The daily cap of automated messages: a capped message is not sent;
    // a capped question takes its `timed_out` exit. A handover's message
    // always goes: the contact is owed the reply time.
    if let Planned::Message { note: false, .. } = plan.effect {
        let since = Timestamp::from_millis(now.as_millis() - 86_400_000);
        let sent = store
            .automated_messages_since(run.workspace_id, run.contact_id, since)
            .await?;
        if sent >= cap {
            plan.detail = format!(
                "not sent: the contact had {sent} automated messages in 24 hours (the cap is {cap})"
            );
            plan.effect = Planned::Nothing;
            if plan.wait.take().is_some() {
                plan.exit = Some("timed_out".into());
            }
        }
    }
    let mut conversation_id = run.conversation_id;
    let effect = match to_effect(env, run, plan.effect.clone(), &cause, &mut conversation_id).await
    {
        Ok(effect) => effect,
        Err(SendError::Store(err)) => return Err(err),
        Err(refused) => {
            plan = Plan::failed(format!("the step could not be done: {refused}"));
            Effect::None
        }
    };
    let (next_node, status, ended_reason) = if let Some(ending) = &plan.ending {
        match ending {
            Ending::Done(why) => (run.node.clone(), RunStatus::Done, Some(why.clone())),
            Ending::Failed(why) => (run.node.clone(), RunStatus::Failed, Some(why.clone())),
        }
    } else if plan.wait.is_some() {
        (run.node.clone(), RunStatus::Waiting, None)
    } else {
        let exit = plan.exit.clone().unwrap_or_else(|| "next".into());
        let target = if exit == "start" {
            // Only a started run's trigger line: the node is the start.
            Some(run.node.clone())
        } else {
            node.exits.get(&exit).cloned()
        };
        match target {
            Some(target) => (target, RunStatus::Active, None),
            None => (
                run.node.clone(),
                RunStatus::Done,
                Some(format!("the flow ends after {} ({exit})", node.id)),
            ),
        }
    };
    let goal_reached = plan.data.get("goal").is_some();
    let status = if plan.data.get("stopped").is_some() {
        RunStatus::Stopped
    } else {
        status
    };
    let timeline = (!status.is_going()).then(|| Activity::Automation {
        automation_id: run.automation_id,
        run_id: run.id,
        what: if goal_reached {
            "goal_reached".into()
        } else {
            status.as_str().into()
        },
        detail: ended_reason.clone(),
    });
    let advance = RunAdvance {
        workspace_id: run.workspace_id,
        run_id: run.id,
        from_step: run.step,
        effect,
        log: RunLogEntry {
            step: run.step,
            version: run.version,
            node: node.id.clone(),
            kind: kind.to_owned(),
            exit: plan.exit.clone().filter(|_| plan.ending.is_none()),
            detail: plan.detail.clone(),
            data: plan.data.clone(),
            at: now,
        },
        next: RunNext {
            node: next_node,
            status,
            wait: plan.wait.clone(),
            conversation_id,
            ended_reason,
            goal_reached,
        },
        timeline,
    };
    match store.advance_run(advance).await {
        Ok(advanced) => {
            if let Some(seq) = advanced.seq {
                env.deps.bus.publish(run.workspace_id, seq);
            }
            Ok(())
        }
        // Another holder (or an earlier try whose answer was lost) wrote
        // this step: the caller re-reads the run and goes on from there.
        Err(StoreError::Conflict(_)) => Ok(()),
        Err(StoreError::NotFound) => {
            // The run's contact or conversation is gone.
            let plan = Plan::failed("its contact or conversation no longer exists".into());
            let advance = RunAdvance {
                workspace_id: run.workspace_id,
                run_id: run.id,
                from_step: run.step,
                effect: Effect::None,
                log: RunLogEntry {
                    step: run.step,
                    version: run.version,
                    node: node.id.clone(),
                    kind: kind.to_owned(),
                    exit: None,
                    detail: plan.detail.clone(),
                    data: Json::Null,
                    at: now,
                },
                next: RunNext {
                    node: run.node.clone(),
                    status: RunStatus::Failed,
                    wait: None,
                    conversation_id: run.conversation_id,
                    ended_reason: Some(plan.detail),
                    goal_reached: false,
                },
                timeline: None,
            };
            match store.advance_run(advance).await {
                Ok(_) | Err(StoreError::Conflict(_)) => Ok(()),
                Err(other) => Err(other),
            }
        }
        Err(other) => Err(other),
    }
}

/// Turns a planned change into the store's effect, preparing messages
/// through the one message path. Sets `conversation` to the conversation
/// a message starts.
async fn to_effect(
    env: Env<'_>,
    run: &Run,
    planned: Planned,
    cause: &Cause,
    conversation: &mut Option<crate::model::ids::ConversationId>,
) -> Result<Effect, SendError> {
    let message = |from: Sender, body: String, note: bool, fallback, buttons, input| ChatMessage {
        workspace_id: run.workspace_id,
        from: match from {
            Sender::Bot => Author::Bot,
            Sender::Agent(agent) => Author::Agent(agent),
        },
        contact_id: run.contact_id,
        conversation_id: run.conversation_id,
        kind: if note {
            PartKind::Note
        } else {
            PartKind::Comment
        },
        body,
        event: run.context.event.clone(),
        email_fallback: fallback,
        bulk_send: None,
        origin: Some(MessageOrigin {
            cause: Some(cause.clone()),
            buttons,
            input,
            sources: Vec::new(),
        }),
        attachments: Vec::new(),
    };
    Ok(match planned {
        Planned::Nothing => Effect::None,
        Planned::Message {
            from,
            body,
            note,
            email_fallback,
            buttons,
            input,
        } => {
            let chat = message(from, body, note, email_fallback, buttons, input);
            let new = prepare_chat_message(env.deps, chat).await?;
            *conversation = Some(new.message.conversation_id);
            Effect::Message(Box::new(new))
        }
        Planned::Contact(change) => Effect::Contact {
            change,
            cause: cause.clone(),
        },
        Planned::Tag { tag, present } => Effect::Tag {
            tag,
            present,
            cause: cause.clone(),
        },
        Planned::Conversation(change) => match run.conversation_id {
            Some(id) => Effect::Conversation {
                id,
                change,
                cause: cause.clone(),
            },
            None => Effect::None,
        },
        Planned::Webhook { url, secret } => {
            let contact = env
                .deps
                .store
                .contact(run.workspace_id, run.contact_id)
                .await?;
            let body = serde_json::json!({
                "type": "automation.webhook",
                "automation_id": run.automation_id,
                "run_id": run.id,
                "node": cause.node,
                "conversation_id": run.conversation_id,
                "event": run.context.event.as_ref().map(|(name, params)| {
                    serde_json::json!({"name": name, "params": params})
                }),
                "contact": contact,
                "sent_at": env.deps.clock.now(),
            });
            Effect::Job(crate::model::job::NewJob::new(
                run.workspace_id,
                crate::model::job::Job::AutomationWebhook {
                    delivery: format!("{}:{}", run.id, run.step),
                    url,
                    secret,
                    body,
                },
                env.deps.clock.now(),
            ))
        }
        Planned::Handover { body, assignee } => {
            let chat = message(Sender::Bot, body, false, true, Vec::new(), None);
            let new = prepare_chat_message(env.deps, chat).await?;
            let id = new.message.conversation_id;
            *conversation = Some(id);
            // The assignment follows the message in the same write, so it
            // finds the conversation the message may have started.
            Effect::Many(vec![
                Effect::Message(Box::new(new)),
                Effect::Conversation {
                    id,
                    change: ConversationChange::Assign {
                        assignee_id: assignee,
                    },
                    cause: cause.clone(),
                },
            ])
        }
    })
}
