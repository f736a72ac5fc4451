//! What the team does with automations: create (from JSON or a template),
//! edit the draft, publish, pause and resume, start a run by hand, and
//! simulate a run for a contact without writing anything.

use serde::Serialize;

use super::Env;
use super::steps::{Ending, Planned, StepError, StepFacts, contact_matches, plan_node};
use crate::model::automation::flow::{Sender, Step};
use crate::model::automation::run::{MAX_STEPS, Run, RunContext, RunStatus, Wait, WaitKind};
use crate::model::automation::templates::{TEMPLATES, template};
use crate::model::automation::{
    Automation, AutomationStatus, Definition, MAX_DEFINITION_BYTES, RunsOnPublish,
};
use crate::model::ids::{AgentId, AutomationId, ContactId, RunId, WorkspaceId};
use crate::model::validation::ValidationError;
use crate::ports::store::{NewAutomation, Published, StoreError, new_run};
use crate::services::messages::preview_message;
use crate::services::segments;
use crate::services::{SendError, not_found};

/// Creates an automation from a draft.
pub async fn create(
    env: Env<'_>,
    workspace: WorkspaceId,
    name: &str,
    draft: Definition,
) -> Result<Automation, SendError> {
    let name = Automation::check_name(name)?;
    check_draft(env, workspace, &draft).await?;
    let automation = env
        .deps
        .store
        .create_automation(NewAutomation {
            id: AutomationId::generate(),
            workspace_id: workspace,
            name,
            draft,
            created_at: env.deps.clock.now(),
        })
        .await?;
    Ok(automation)
}

/// Creates an automation from a shipped template, messages from `from`.
pub async fn create_from_template(
    env: Env<'_>,
    workspace: WorkspaceId,
    template_name: &str,
    name: Option<&str>,
    from: AgentId,
) -> Result<Automation, SendError> {
    let Some(draft) = template(template_name, from) else {
        let names: Vec<&str> = TEMPLATES.iter().map(|(n, _)| *n).collect();
        return Err(ValidationError::field(
            "template",
            format!("unknown template: use one of {}", names.join(", ")),
        )
        .into());
    };
    let default_name = TEMPLATES
        .iter()
        .find(|(n, _)| *n == template_name)
        .map_or(template_name, |(_, title)| *title);
    create(env, workspace, name.unwrap_or(default_name), draft).await
}

/// Replaces an automation's name and draft.
pub async fn save(
    env: Env<'_>,
    workspace: WorkspaceId,
    id: AutomationId,
    name: &str,
    draft: Definition,
) -> Result<Automation, SendError> {
    let name = Automation::check_name(name)?;
    check_draft(env, workspace, &draft).await?;
    env.deps
        .store
        .save_draft(workspace, id, name, draft, env.deps.clock.now())
        .await
        .map_err(not_found("id"))
}

async fn check_draft(
    env: Env<'_>,
    workspace: WorkspaceId,
    draft: &Definition,
) -> Result<(), SendError> {
    let size = serde_json::to_vec(draft).map_or(usize::MAX, |b| b.len());
    if size > MAX_DEFINITION_BYTES {
        return Err(ValidationError::field(
            "draft",
            format!("an automation is at most {MAX_DEFINITION_BYTES} bytes as JSON"),
        )
        .into());
    }
    let types = env.deps.store.property_types(workspace).await?;
    with_segments(env, workspace, draft)
        .await?
        .check_draft(&types, env.deps.clock.now())?;
    Ok(())
}

/// The draft with the segments its filters name replaced by the segments'
/// filters, to be checked (the saved draft keeps naming them, so a run
/// follows the segment as it is edited). An unknown segment is refused,
/// naming the node.
async fn with_segments(
    env: Env<'_>,
    workspace: WorkspaceId,
    draft: &Definition,
) -> Result<Definition, SendError> {
    let store = env.deps.store;
    let mut out = draft.clone();
    if let Some(audience) = &draft.audience {
        out.audience = Some(segments::expand(store, workspace, audience, "audience").await?);
    }
    if let Some(goal) = &draft.goal {
        out.goal = Some(segments::expand(store, workspace, goal, "goal").await?);
    }
    for (i, node) in out.flow.nodes.iter_mut().enumerate() {
        if let Step::Condition { filter } = &mut node.step {
            let at = format!("flow.nodes[{i}].filter");
            *filter = segments::expand(store, workspace, filter, &at).await?;
        }
    }
    Ok(out)
}

/// Publishes the draft as the next version and makes the automation live.
pub async fn publish(
    env: Env<'_>,
    workspace: WorkspaceId,
    id: AutomationId,
    by: Option<AgentId>,
    runs: RunsOnPublish,
) -> Result<Published, SendError> {
    let store = env.deps.store;
    let automation = store
        .automation(workspace, id)
        .await
        .map_err(not_found("id"))?;
    let types = store.property_types(workspace).await?;
    with_segments(env, workspace, &automation.draft)
        .await?
        .check_publishable(&types, env.deps.clock.now())?;
    match store
        .publish_automation(workspace, id, by, runs, env.deps.clock.now())
        .await
    {
        Err(StoreError::Conflict(why)) => Err(ValidationError::field("runs", why).into()),
        other => Ok(other.map_err(not_found("id"))?),
    }
}

/// Pauses (`paused`) or resumes (`live`) an automation.
pub async fn set_status(
    env: Env<'_>,
    workspace: WorkspaceId,
    id: AutomationId,
    status: AutomationStatus,
) -> Result<Automation, SendError> {
    match env
        .deps
        .store
        .set_automation_status(workspace, id, status, env.deps.clock.now())
        .await
    {
        Err(StoreError::Conflict(why)) => Err(ValidationError::field("status", why).into()),
        other => other.map_err(not_found("id")),
    }
}

/// Starts a run of the live version for one contact, due at once.
pub async fn start_by_hand(
    env: Env<'_>,
    workspace: WorkspaceId,
    id: AutomationId,
    contact: ContactId,
) -> Result<Run, SendError> {
    let store = env.deps.store;
    let automation = store
        .automation(workspace, id)
        .await
        .map_err(not_found("id"))?;
    let Some(live) = automation.live_version else {
        return Err(
            ValidationError::field("id", "publish the automation before starting runs").into(),
        );
    };
    store
        .contact(workspace, contact)
        .await
        .map_err(not_found("contact_id"))?;
    let version = store.version(workspace, id, live).await?;
    let now = env.deps.clock.now();
    let new = new_run(
        workspace,
        &version,
        contact,
        None,
        RunContext::default(),
        Wait {
            kind: WaitKind::Trigger { recheck: None },
            until: now,
            since_seq: store.activity_head(workspace).await?,
        },
        now,
    );
    match store.start_run(new).await {
        Err(StoreError::Conflict(why)) => Err(ValidationError::field("contact_id", why).into()),
        other => Ok(other?),
    }
}

/// One step of a dry run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SimulatedStep {
    pub node: String,
    pub kind: String,
    pub exit: Option<String>,
    pub detail: String,
}

/// A message a dry run would send, rendered for the contact.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SimulatedMessage {
    pub node: String,
    pub body: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Simulation {
    pub path: Vec<SimulatedStep>,
    pub messages: Vec<SimulatedMessage>,
}

/// The path the draft would take for a contact now, and the messages it
/// would send, with nothing written: waits are taken as elapsed (their
/// `next` or `timed_out` exit), questions as unanswered.
pub async fn simulate(
    env: Env<'_>,
    workspace: WorkspaceId,
    id: AutomationId,
    contact: ContactId,
) -> Result<Simulation, SendError> {
    let store = env.deps.store;
    let automation = store
        .automation(workspace, id)
        .await
        .map_err(not_found("id"))?;
    store
        .contact(workspace, contact)
        .await
        .map_err(not_found("contact_id"))?;
    let definition = &automation.draft;
    let office = store.office(workspace).await?;
    let now = env.deps.clock.now();
    let types = definition.declared_types(&store.property_types(workspace).await?);
    let facts = StepFacts {
        office: &office,
        types: &types,
        head: store.activity_head(workspace).await?,
        now,
    };
    let mut run = Run {
        id: RunId::generate(),
        workspace_id: workspace,
        automation_id: id,
        version: automation.live_version.unwrap_or(0),
        contact_id: contact,
        conversation_id: None,
        status: RunStatus::Active,
        node: definition.flow.start.clone(),
        step: 0,
        wait: None,
        context: RunContext::default(),
        ended_reason: None,
        goal_reached: false,
        started_at: now,
        updated_at: now,
    };
    let mut out = Simulation::default();
    let step = |node: &str, kind: &str, exit: Option<String>, detail: String| SimulatedStep {
        node: node.to_owned(),
        kind: kind.to_owned(),
        exit,
        detail,
    };
    while out.path.len() < MAX_STEPS as usize {
        let Some(node) = definition.flow.node(&run.node) else {
            out.path
                .push(step(&run.node, "missing", None, "no such node".into()));
            break;
        };
        if let Some(goal) = &definition.goal
            && contact_matches(env, &run, goal, &types, now)
                .await
                .unwrap_or(false)
        {
            out.path
                .push(step(&node.id, "goal", None, "reached the goal".into()));
            break;
        }
        let plan = match plan_node(env, &run, node, &facts).await {
            Ok(plan) => plan,
            Err(StepError::Store(err)) => return Err(err.into()),
            Err(StepError::Impossible(why)) => {
                out.path.push(step(&node.id, node.step.kind(), None, why));
                break;
            }
        };
        if let Planned::Message { from, body, .. } = plan_message(&plan.effect) {
            let agent = match from {
                Sender::Agent(agent) => Some(agent),
                Sender::Bot => None,
            };
            let rendered = preview_message(env.deps, workspace, contact, agent, &body).await?;
            out.messages.push(SimulatedMessage {
                node: node.id.clone(),
                body: rendered,
            });
        }
        // A dry run does not wait: time passes, and nobody answers.
        let exit = match (&plan.exit, &plan.wait, &node.step) {
            (Some(exit), _, _) => Some(exit.clone()),
            (None, Some(_), Step::Wait { .. } | Step::WaitUntil { .. }) => Some("next".to_owned()),
            (None, Some(_), _) => Some("timed_out".to_owned()),
            (None, None, _) => None,
        };
        let detail = match &plan.ending {
            Some(Ending::Done(why) | Ending::Failed(why)) => why.clone(),
            None => plan.detail.clone(),
        };
        out.path
            .push(step(&node.id, node.step.kind(), exit.clone(), detail));
        let Some(target) = exit.and_then(|e| node.exits.get(&e).cloned()) else {
            break;
        };
        run.node = target;
        run.step += 1;
    }
    Ok(out)
}

/// The message a planned effect would send, if any, as (sender, body).
fn plan_message(effect: &Planned) -> Planned {
    match effect {
        Planned::Message {
            note: false,
            from,
            body,
            ..
        } => Planned::Message {
            from: *from,
            body: body.clone(),
            note: false,
            email_fallback: false,
            buttons: Vec::new(),
            input: None,
        },
        Planned::Handover { body, .. } => Planned::Message {
            from: Sender::Bot,
            body: body.clone(),
            note: false,
            email_fallback: false,
            buttons: Vec::new(),
            input: None,
        },
        _ => Planned::Nothing,
    }
}
