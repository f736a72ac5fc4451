//! What one node does: which exit it takes, what it changes, what it waits
//! for. Planning reads (the contact against a filter, business hours, who
//! is available) but never writes: `runs` turns a plan into one store
//! write, and the dry run only reports it.

use serde_json::{Value as Json, json};

use super::Env;
use crate::Timestamp;
use crate::model::automation::flow::{
    AnswerType, Assignee, DEFAULT_ANSWER_SECONDS, Node, Sender, Step,
};
use crate::model::automation::hours::Office;
use crate::model::automation::run::{Run, Wait, WaitKind};
use crate::model::contact::{ContactUpsert, PropOp, PropOperation, PropValue};
use crate::model::conversation::{Author, ConversationChange, PartKind};
use crate::model::filter::Filter;
use crate::model::ids::{AgentId, TeamId};
use crate::ports::store::StoreError;

/// What a step changes, before it is turned into a store effect.
#[derive(Clone, Debug, PartialEq)]
pub enum Planned {
    Nothing,
    /// A message (or, with `note`, a team note) in the run's conversation
    /// (a new one if it has none).
    Message {
        from: Sender,
        body: String,
        note: bool,
        email_fallback: bool,
        buttons: Vec<String>,
        input: Option<AnswerType>,
    },
    Contact(ContactUpsert),
    Tag {
        tag: String,
        present: bool,
    },
    Conversation(ConversationChange),
    /// Post the run's contact to a webhook (through a job).
    Webhook {
        url: String,
        secret: Option<String>,
    },
    /// Tell the contact when to expect a reply, and assign.
    Handover {
        body: String,
        assignee: Option<AgentId>,
    },
}

/// How a run stops at a step.
#[derive(Clone, Debug, PartialEq)]
pub enum Ending {
    /// Reached an end (of the flow, or a node with no exit to follow).
    Done(String),
    /// Could not go on.
    Failed(String),
}

/// What one step does.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub effect: Planned,
    /// The exit taken; `None` when the step waits (then `wait` is set) or
    /// ends the run (`ending`).
    pub exit: Option<String>,
    pub wait: Option<Wait>,
    pub ending: Option<Ending>,
    /// In words, why (for the run log).
    pub detail: String,
    pub data: Json,
}

impl Plan {
    /// Takes `exit`, changing nothing.
    pub(super) fn exit(exit: &str, detail: impl Into<String>) -> Self {
        Plan {
            effect: Planned::Nothing,
            exit: Some(exit.to_owned()),
            wait: None,
            ending: None,
            detail: detail.into(),
            data: Json::Null,
        }
    }

    fn doing(effect: Planned, detail: impl Into<String>) -> Self {
        Plan {
            effect,
            ..Plan::exit("next", detail)
        }
    }

    fn yes_no(yes: bool, detail: impl Into<String>) -> Self {
        Plan::exit(if yes { "yes" } else { "no" }, detail)
    }

    fn waiting(effect: Planned, wait: Wait, detail: impl Into<String>) -> Self {
        Plan {
            effect,
            exit: None,
            wait: Some(wait),
            ending: None,
            detail: detail.into(),
            data: Json::Null,
        }
    }

    /// Ends the run here.
    pub(super) fn ending(ending: Ending) -> Self {
        let detail = match &ending {
            Ending::Done(why) | Ending::Failed(why) => why.clone(),
        };
        Plan {
            effect: Planned::Nothing,
            exit: None,
            wait: None,
            ending: Some(ending),
            detail,
            data: Json::Null,
        }
    }
}

/// Why a step could not be planned: the store failed (try again later), or
/// the step can never work for this run (the run fails).
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Impossible(String),
}

/// What planning a step reads, loaded once per turn of a run.
pub struct StepFacts<'a> {
    pub office: &'a Office,
    /// The workspace's property types and those the flow sets
    /// (`Definition::declared_types`), for its filters.
    pub types: &'a crate::model::contact::PropTypes,
    /// The log head when the step began: what a wait counts from.
    pub head: i64,
    pub now: Timestamp,
}

fn millis(seconds: u64) -> i64 {
    i64::try_from(seconds.saturating_mul(1_000)).unwrap_or(i64::MAX)
}

/// Plans entering `node` for `run`.
pub async fn plan_node(
    env: Env<'_>,
    run: &Run,
    node: &Node,
    facts: &StepFacts<'_>,
) -> Result<Plan, StepError> {
    let store = env.deps.store;
    let ws = run.workspace_id;
    let now = facts.now;
    // A wait counts from when the run reached the node, not from when a
    // job got to it.
    let reached = run.updated_at.min(now);
    let wait_until = |seconds: u64| Timestamp::from_millis(reached.as_millis() + millis(seconds));
    let no_conversation = || "the run has no conversation".to_owned();
    let message = |from, body: &str| Planned::Message {
        from,
        body: body.to_owned(),
        note: false,
        email_fallback: true,
        buttons: Vec::new(),
        input: None,
    };
    let prop = |name: &str, op: PropOp| ContactUpsert {
        workspace_id: ws,
        user_id: None,
        email: None,
        email_verified: false,
        name: None,
        phone: None,
        ops: vec![PropOperation {
            prop: name.to_owned(),
            op,
            field: "name".into(),
        }],
        tags: Vec::new(),
    };
    Ok(match &node.step {
        Step::SendMessage {
            from,
            body,
            email_fallback,
        } => {
            let mut planned = message(*from, body);
            if let Planned::Message {
                email_fallback: fallback,
                ..
            } = &mut planned
            {
                *fallback = *email_fallback;
            }
            Plan::doing(planned, "sent a chat message")
        }
        Step::Note { body } => match run.conversation_id {
            Some(_) => Plan::doing(
                Planned::Message {
                    from: Sender::Bot,
                    body: body.clone(),
                    note: true,
                    email_fallback: false,
                    buttons: Vec::new(),
                    input: None,
                },
                "added a note",
            ),
            None => Plan::exit("next", format!("{}: no note added", no_conversation())),
        },
        Step::SetProperty { name, value } => {
            let value = PropValue::from_json(value).map_err(StepError::Impossible)?;
            Plan {
                data: json!({ "name": name }),
                ..Plan::doing(
                    Planned::Contact(prop(name, PropOp::Set(value))),
                    format!("set {name}"),
                )
            }
        }
        Step::UnsetProperty { name } => Plan::doing(
            Planned::Contact(prop(name, PropOp::Unset)),
            format!("unset {name}"),
        ),
        Step::IncrementProperty { name, by } => Plan::doing(
            Planned::Contact(prop(name, PropOp::Increment(*by))),
            format!("added {by} to {name}"),
        ),
        Step::AddTag { tag } => Plan::doing(
            Planned::Tag {
                tag: tag.clone(),
                present: true,
            },
            format!("tagged {tag}"),
        ),
        Step::RemoveTag { tag } => Plan::doing(
            Planned::Tag {
                tag: tag.clone(),
                present: false,
            },
            format!("untagged {tag}"),
        ),
        Step::Assign { to } => {
            if run.conversation_id.is_none() {
                return Ok(Plan::exit("next", no_conversation()));
            }
            let (assignee, detail) = choose_assignee(env, run.workspace_id, *to).await?;
            if assignee.is_none() && *to != Assignee::Nobody {
                // No one to pick: whoever has the conversation keeps it.
                return Ok(Plan::exit(
                    "next",
                    format!("{detail}; the assignment is unchanged"),
                ));
            }
            Plan::doing(
                Planned::Conversation(ConversationChange::Assign {
                    assignee_id: assignee,
                }),
                detail,
            )
        }
        Step::Close | Step::Snooze { .. } | Step::Reopen => {
            if run.conversation_id.is_none() {
                return Ok(Plan::exit("next", no_conversation()));
            }
            let (change, detail) = match &node.step {
                Step::Close => (ConversationChange::Close, "closed the conversation"),
                Step::Snooze { minutes } => (
                    ConversationChange::Snooze {
                        until: Timestamp::from_millis(
                            now.as_millis() + i64::from(*minutes) * 60_000,
                        ),
                    },
                    "snoozed the conversation",
                ),
                _ => (ConversationChange::Open, "reopened the conversation"),
            };
            Plan::doing(Planned::Conversation(change), detail)
        }
        Step::Condition { filter } => {
            let matched = contact_matches(env, run, filter, facts.types, now).await?;
            Plan::yes_no(
                matched,
                if matched {
                    "the contact matches the filter"
                } else {
                    "the contact does not match the filter"
                },
            )
        }
        Step::BusinessHours => {
            let open = facts.office.is_open(now);
            Plan::yes_no(
                open,
                if open {
                    "inside business hours"
                } else {
                    "outside business hours"
                },
            )
        }
        Step::TeamAvailable { team } => {
            let available = available_agents(env, run.workspace_id, *team).await?;
            Plan::yes_no(
                !available.is_empty(),
                format!("{} member(s) available", available.len()),
            )
        }
        Step::Split { percent } => {
            let bucket = bucket(run);
            Plan::exit(
                if bucket < u32::from(*percent) {
                    "a"
                } else {
                    "b"
                },
                format!("split {percent}%: this run drew {bucket}"),
            )
        }
        Step::ContactReplied | Step::TeamReplied => {
            let Some(conversation) = run.conversation_id else {
                return Ok(Plan::yes_no(false, no_conversation()));
            };
            let (contact, team) = store
                .replies_since(ws, conversation, run.started_at)
                .await?;
            let yes = if matches!(node.step, Step::ContactReplied) {
                contact
            } else {
                team
            };
            Plan::yes_no(
                yes,
                if yes {
                    "a reply came since the run began"
                } else {
                    "no reply since the run began"
                },
            )
        }
        Step::Wait { seconds } => Plan::waiting(
            Planned::Nothing,
            Wait {
                kind: WaitKind::Time,
                until: wait_until(*seconds),
                since_seq: facts.head,
            },
            format!("waits {seconds} s"),
        ),
        Step::WaitUntil {
            time,
            business_hours,
        } => {
            let office = facts.office;
            let until = match (time, business_hours) {
                (Some(time), _) => office.next_time_of_day(reached, *time),
                (None, true) => office.next_open(reached),
                (None, false) => None,
            };
            let Some(until) = until else {
                return Err(StepError::Impossible(
                    "the office's hours never open, or its time zone is unknown".into(),
                ));
            };
            Plan::waiting(
                Planned::Nothing,
                Wait {
                    kind: WaitKind::Time,
                    until,
                    since_seq: facts.head,
                },
                format!("waits until {until}"),
            )
        }
        Step::WaitFor {
            awaited,
            timeout_seconds,
        } => Plan::waiting(
            Planned::Nothing,
            Wait {
                kind: WaitKind::For {
                    awaited: awaited.clone(),
                },
                until: wait_until(*timeout_seconds),
                since_seq: facts.head,
            },
            format!("waits up to {timeout_seconds} s"),
        ),
        Step::BotMessage {
            body,
            buttons,
            timeout_seconds,
        } => Plan::waiting(
            Planned::Message {
                from: Sender::Bot,
                body: body.clone(),
                note: false,
                email_fallback: true,
                buttons: buttons.clone(),
                input: None,
            },
            Wait {
                kind: WaitKind::Answer { reasks: 0 },
                until: Timestamp::from_millis(
                    now.as_millis() + millis(timeout_seconds.unwrap_or(DEFAULT_ANSWER_SECONDS)),
                ),
                since_seq: facts.head,
            },
            "asked with buttons",
        ),
        Step::Ask {
            body,
            answer,
            choices,
            timeout_seconds,
            ..
        } => Plan::waiting(
            Planned::Message {
                from: Sender::Bot,
                body: body.clone(),
                note: false,
                email_fallback: true,
                buttons: if *answer == AnswerType::Choice {
                    choices.clone()
                } else {
                    Vec::new()
                },
                input: Some(*answer),
            },
            Wait {
                kind: WaitKind::Answer { reasks: 0 },
                until: Timestamp::from_millis(
                    now.as_millis() + millis(timeout_seconds.unwrap_or(DEFAULT_ANSWER_SECONDS)),
                ),
                since_seq: facts.head,
            },
            "asked a question",
        ),
        Step::Webhook { url, secret } => Plan::doing(
            Planned::Webhook {
                url: url.clone(),
                secret: secret.clone(),
            },
            format!("called {url}"),
        ),
        Step::Handover { to, message } => {
            let (assignee, detail) = choose_assignee(env, run.workspace_id, *to).await?;
            let reply_time = facts.office.reply_time(now);
            let body = match message {
                Some(text) => format!("{text}\n\n{reply_time}"),
                None => reply_time.to_owned(),
            };
            Plan {
                ending: Some(Ending::Done(format!("handed over: {detail}"))),
                exit: None,
                ..Plan::doing(Planned::Handover { body, assignee }, detail)
            }
        }
        Step::AiAnswer => ai_answer(env, run, facts).await?,
        Step::End => Plan::ending(Ending::Done("reached an end".into())),
    })
}

/// The AI bot's answer to the contact's last message in the run's
/// conversation (`Step::AiAnswer`).
async fn ai_answer(env: Env<'_>, run: &Run, facts: &StepFacts<'_>) -> Result<Plan, StepError> {
    use crate::model::bot::{Intent, MAX_QUESTION_CHARS, intent};
    let store = env.deps.store;
    let ws = run.workspace_id;
    let Some(conversation) = run.conversation_id else {
        return Ok(Plan::exit("no_answer", "the run has no conversation"));
    };
    let parts = store.conversation_parts(ws, conversation).await?;
    let Some(question) = parts
        .iter()
        .rev()
        .find(|m| matches!(m.author, Author::Contact(_)) && m.kind == PartKind::Comment)
    else {
        return Ok(Plan::exit(
            "no_answer",
            "the contact has asked nothing here",
        ));
    };
    let question: String = question.body.chars().take(MAX_QUESTION_CHARS).collect();
    let settings = store.bot_settings(ws).await?;
    if intent(&question, false) == Intent::Person {
        let (assignee, detail) = choose_assignee(env, ws, settings.handover_to).await?;
        let body = format!(
            "I'm passing you to the team; they'll see everything above. {}",
            facts.office.reply_time(facts.now)
        );
        return Ok(Plan {
            exit: Some("handed_over".into()),
            ..Plan::doing(
                Planned::Handover { body, assignee },
                format!("the contact asked for a person: {detail}"),
            )
        });
    }
    let hits = env
        .knowledge
        .search(ws, &question, &settings.languages, 3)
        .await?;
    let top = hits.first().map_or(0.0, |h| h.confidence);
    let Some(hit) = hits.first().filter(|h| h.confidence >= settings.threshold) else {
        return Ok(Plan::exit(
            "no_answer",
            format!(
                "nothing answers it confidently (best {top:.2}, threshold {:.2})",
                settings.threshold
            ),
        ));
    };
    let confident: Vec<_> = hits
        .iter()
        .filter(|h| h.confidence >= settings.threshold)
        .cloned()
        .collect();
    let Some((body, _sources)) =
        crate::services::bot::compose(env, ws, &question, &confident).await?
    else {
        return Ok(Plan::exit(
            "no_answer",
            "the language model found no answer in the passages",
        ));
    };
    Ok(Plan {
        exit: Some("answered".into()),
        ..Plan::doing(
            Planned::Message {
                from: Sender::Bot,
                body,
                note: false,
                email_fallback: true,
                buttons: Vec::new(),
                input: None,
            },
            format!("answered from \"{}\" ({top:.2})", hit.title),
        )
    })
}

/// Whether the run's contact matches a People filter now.
pub async fn contact_matches(
    env: Env<'_>,
    run: &Run,
    filter: &Json,
    types: &crate::model::contact::PropTypes,
    now: Timestamp,
) -> Result<bool, StepError> {
    let store = env.deps.store;
    // A filter checked at publish may name a property whose type changed
    // since, or a segment since deleted: the step cannot be decided, and
    // the run fails saying why.
    let filter =
        match crate::services::segments::expand(store, run.workspace_id, filter, "filter").await {
            Ok(json) => json,
            Err(StoreError::Invalid(err)) => {
                return Err(StepError::Impossible(format!(
                    "the filter no longer fits: {err}"
                )));
            }
            Err(other) => return Err(other.into()),
        };
    let filter = Filter::parse(&filter, types, now)
        .map_err(|e| StepError::Impossible(format!("the filter no longer fits: {e}")))?;
    let online = if filter.uses_online()
        && env
            .presence
            .contact_online(run.workspace_id, run.contact_id)
    {
        vec![run.contact_id]
    } else {
        Vec::new()
    };
    let found = store
        .matching_contacts(run.workspace_id, &filter, &online, &[run.contact_id])
        .await?;
    Ok(found.contains(&run.contact_id))
}

/// Members (of `team`, if given) who are online, not away and under
/// their open limit, the least loaded first (ties: the one assigned
/// longest ago).
/// The members who can take a conversation now (of `team`, or all):
/// online, not away, under their cap; fewest open conversations first.
pub(crate) async fn available_agents(
    env: Env<'_>,
    ws: crate::model::ids::WorkspaceId,
    team: Option<TeamId>,
) -> Result<Vec<AgentId>, StepError> {
    let store = env.deps.store;
    let in_team: Option<Vec<AgentId>> = match team {
        None => None,
        Some(id) => Some(
            store
                .teams(ws)
                .await?
                .into_iter()
                .find(|t| t.id == id)
                .ok_or_else(|| StepError::Impossible(format!("team {id} no longer exists")))?
                .members,
        ),
    };
    let mut members = store.availability(ws).await?;
    members.retain(|m| {
        in_team
            .as_ref()
            .is_none_or(|team| team.contains(&m.agent_id))
            && !m.away
            && m.max_open.is_none_or(|max| m.open < max)
            && env.presence.agent_online(ws, m.agent_id)
    });
    members.sort_by_key(|m| (m.open, m.last_assigned_at, m.agent_id));
    Ok(members.into_iter().map(|m| m.agent_id).collect())
}

/// The member `to` picks now, and how (for a log line).
pub(crate) async fn choose_assignee(
    env: Env<'_>,
    ws: crate::model::ids::WorkspaceId,
    to: Assignee,
) -> Result<(Option<AgentId>, String), StepError> {
    let (chosen, how) = match to {
        Assignee::Agent(agent) => (Some(agent), "assigned to"),
        Assignee::Nobody => return Ok((None, "unassigned".into())),
        Assignee::RoundRobin => match available_agents(env, ws, None).await?.first() {
            Some(agent) => (Some(*agent), "assigned round robin to"),
            None => return Ok((None, "no member available: left unassigned".into())),
        },
        Assignee::Team(team) => match available_agents(env, ws, Some(team)).await?.first() {
            Some(agent) => (Some(*agent), "assigned round robin in the team to"),
            None => {
                return Ok((
                    None,
                    "no member of the team available: left unassigned".into(),
                ));
            }
        },
    };
    // The run log names the member, as the team knows them.
    let name = match chosen {
        Some(agent) => match env.deps.store.agent(ws, agent).await {
            Ok(member) => member.name,
            Err(StoreError::NotFound) => {
                return Err(StepError::Impossible(format!(
                    "member {agent} is no longer on the team"
                )));
            }
            Err(other) => return Err(other.into()),
        },
        None => String::new(),
    };
    Ok((chosen, format!("{how} {name}")))
}

/// A number from 0 to 99 fixed by the run's id, so a step planned again
/// after a crash takes the same branch.
fn bucket(run: &Run) -> u32 {
    let bytes = run.id.as_uuid();
    let tail = &bytes.as_bytes()[8..];
    let n = tail.iter().fold(0u64, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(u64::from(*b))
    });
    u32::try_from(n % 100).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::automation::run::{RunContext, RunStatus};
    use crate::model::ids::{AutomationId, ContactId, RunId, WorkspaceId};

    fn run() -> Run {
        Run {
            id: RunId::generate(),
            workspace_id: WorkspaceId::generate(),
            automation_id: AutomationId::generate(),
            version: 1,
            contact_id: ContactId::generate(),
            conversation_id: None,
            status: RunStatus::Active,
            node: "split".into(),
            step: 0,
            wait: None,
            context: RunContext::default(),
            ended_reason: None,
            goal_reached: false,
            started_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn a_split_is_fixed_per_run_and_even_across_runs() {
        let one = run();
        assert_eq!(bucket(&one), bucket(&one), "the same run draws the same");
        let runs: Vec<Run> = (0..4_000).map(|_| run()).collect();
        let below_half = runs.iter().filter(|r| bucket(r) < 50).count();
        assert!((1_800..2_200).contains(&below_half), "{below_half} of 4000");
        assert!(runs.iter().all(|r| bucket(r) < 100));
    }
}
