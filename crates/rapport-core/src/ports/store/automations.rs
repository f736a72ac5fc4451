//! Automations: their drafts and versions (`AutomationStore`), their runs
//! (`RunStore`), and what their conditions read (`ConditionStore`).

use async_trait::async_trait;

use super::{NewMessage, StoreError, StoredMessage};
use crate::Timestamp;
use crate::model::activity::Activity;
use crate::model::automation::hours::Office;
use crate::model::automation::run::{
    AutomationStats, NewRun, Run, RunContext, RunLogEntry, RunStatus, Wait,
};
use crate::model::automation::{
    Automation, AutomationStatus, Cause, Definition, RunsOnPublish, Version,
};
use crate::model::contact::ContactUpsert;
use crate::model::conversation::ConversationChange;
use crate::model::filter::Filter;
use crate::model::ids::{
    AgentId, AutomationId, ContactId, ConversationId, RunId, TeamId, WorkspaceId,
};
use crate::model::teams::Team;

#[derive(Clone, Debug)]
pub struct NewAutomation {
    pub id: AutomationId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub draft: Definition,
    pub created_at: Timestamp,
}

/// What publishing did to runs on older versions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Published {
    pub version: u32,
    pub runs_moved: u64,
    pub runs_stopped: u64,
}

#[async_trait]
pub trait AutomationStore: Send + Sync + 'static {
    /// `Conflict` when the workspace has `MAX_AUTOMATIONS` already.
    async fn create_automation(&self, new: NewAutomation) -> Result<Automation, StoreError>;
    async fn automation(
        &self,
        workspace: WorkspaceId,
        id: AutomationId,
    ) -> Result<Automation, StoreError>;
    async fn automations(&self, workspace: WorkspaceId) -> Result<Vec<Automation>, StoreError>;
    /// Replaces the name and the draft; versions are untouched.
    async fn save_draft(
        &self,
        workspace: WorkspaceId,
        id: AutomationId,
        name: String,
        draft: Definition,
        at: Timestamp,
    ) -> Result<Automation, StoreError>;
    /// Deletes an automation and stops its going runs (their history
    /// stays on the timeline).
    async fn delete_automation(
        &self,
        workspace: WorkspaceId,
        id: AutomationId,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Freezes the draft as the next version and makes it live, doing
    /// `runs` to going runs on older versions. With `Migrate`, `Conflict`
    /// (and nothing changed) when a going run is at a node the new version
    /// does not have.
    async fn publish_automation(
        &self,
        workspace: WorkspaceId,
        id: AutomationId,
        by: Option<AgentId>,
        runs: RunsOnPublish,
        at: Timestamp,
    ) -> Result<Published, StoreError>;
    /// Pauses or resumes (`Live`) an automation. `Conflict` to make one
    /// live that was never published.
    async fn set_automation_status(
        &self,
        workspace: WorkspaceId,
        id: AutomationId,
        status: AutomationStatus,
        at: Timestamp,
    ) -> Result<Automation, StoreError>;
    /// Every version, newest first.
    async fn versions(
        &self,
        workspace: WorkspaceId,
        id: AutomationId,
    ) -> Result<Vec<Version>, StoreError>;
    async fn version(
        &self,
        workspace: WorkspaceId,
        id: AutomationId,
        version: u32,
    ) -> Result<Version, StoreError>;
    /// Runs by status, and per version, node and exit what runs did.
    async fn automation_stats(
        &self,
        workspace: WorkspaceId,
        id: AutomationId,
    ) -> Result<AutomationStats, StoreError>;
}

/// A workspace whose log the dispatcher has to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DispatchWork {
    pub workspace_id: WorkspaceId,
    /// The last log position the dispatcher has read.
    pub cursor: i64,
}

/// What the dispatcher commits for one stretch of a workspace's log.
#[derive(Clone, Debug)]
pub struct Dispatch {
    pub workspace_id: WorkspaceId,
    /// The cursor the stretch was read from: `Conflict` (and nothing
    /// written) when another dispatcher moved it first.
    pub from: i64,
    pub to: i64,
    /// Runs to start (each only if its contact is not in a going run of
    /// the automation and its frequency window allows), with their jobs.
    pub runs: Vec<NewRun>,
    /// Waiting runs to take their next step now.
    pub wake: Vec<RunId>,
    /// Other jobs the stretch causes (the AI bot's turns).
    pub jobs: Vec<crate::model::job::NewJob>,
    pub at: Timestamp,
}

/// A step's effect, written with the run's advance.
#[derive(Clone, Debug)]
pub enum Effect {
    None,
    /// A message through the one write of messages.
    Message(Box<NewMessage>),
    /// Property changes to the run's contact, logged as caused by `cause`.
    Contact {
        change: ContactUpsert,
        cause: Cause,
    },
    Tag {
        tag: String,
        present: bool,
        cause: Cause,
    },
    /// A status or assignment change of the run's conversation.
    Conversation {
        id: ConversationId,
        change: ConversationChange,
        cause: Cause,
    },
    /// A job enqueued with the step (a webhook's delivery).
    Job(crate::model::job::NewJob),
    /// Several effects, in order (a handover tells the contact and
    /// assigns).
    Many(Vec<Effect>),
}

/// The run as a step leaves it.
#[derive(Clone, Debug, PartialEq)]
pub struct RunNext {
    pub node: String,
    pub status: RunStatus,
    pub wait: Option<Wait>,
    /// The conversation the run works in from now on.
    pub conversation_id: Option<ConversationId>,
    pub ended_reason: Option<String>,
    pub goal_reached: bool,
}

/// One step of a run: its effect, its log line, the run's new state and
/// (for the start and end of a run) a timeline entry, in one transaction.
#[derive(Clone, Debug)]
pub struct RunAdvance {
    pub workspace_id: WorkspaceId,
    pub run_id: RunId,
    /// The run's `step` this advance was computed from; `Conflict` (and
    /// nothing written) when the run has moved on: the step is done.
    pub from_step: u32,
    pub effect: Effect,
    pub log: RunLogEntry,
    pub next: RunNext,
    pub timeline: Option<Activity>,
}

/// What an advance wrote.
#[derive(Clone, Debug, Default)]
pub struct Advanced {
    /// The last activity position written, if any.
    pub seq: Option<i64>,
    pub message: Option<StoredMessage>,
}

/// Which runs to list.
#[derive(Clone, Debug, Default)]
pub struct RunQuery {
    pub automation_id: Option<AutomationId>,
    pub contact_id: Option<ContactId>,
    pub conversation_id: Option<ConversationId>,
    /// Only going (active or waiting) runs.
    pub going: bool,
    /// Older than this run (runs are listed newest first).
    pub before: Option<RunId>,
    pub limit: u32,
}

#[async_trait]
pub trait RunStore: Send + Sync + 'static {
    /// Workspaces with live automations whose log has entries past the
    /// dispatcher's cursor.
    async fn dispatch_work(&self) -> Result<Vec<DispatchWork>, StoreError>;
    /// Workspaces with a live automation.
    async fn live_workspaces(&self) -> Result<Vec<WorkspaceId>, StoreError>;
    /// The live versions of the workspace's live automations.
    async fn live_versions(&self, workspace: WorkspaceId) -> Result<Vec<Version>, StoreError>;
    /// Starts runs and wakes runs for a stretch of the log, and moves the
    /// cursor, in one transaction. Returns the runs that started.
    async fn dispatch(&self, dispatch: Dispatch) -> Result<Vec<RunId>, StoreError>;
    /// Starts one run (by hand or through the API). `Conflict` when the
    /// contact is in a going run of it, or its frequency forbids.
    async fn start_run(&self, new: NewRun) -> Result<Run, StoreError>;
    async fn run(&self, workspace: WorkspaceId, id: RunId) -> Result<Run, StoreError>;
    async fn runs(&self, workspace: WorkspaceId, query: RunQuery) -> Result<Vec<Run>, StoreError>;
    async fn run_log(
        &self,
        workspace: WorkspaceId,
        id: RunId,
    ) -> Result<Vec<RunLogEntry>, StoreError>;
    /// The contacts' runs that wait for something to happen (an answer, a
    /// reply, an event, a property change).
    async fn waiting_runs(
        &self,
        workspace: WorkspaceId,
        contacts: &[ContactId],
    ) -> Result<Vec<Run>, StoreError>;
    async fn advance_run(&self, advance: RunAdvance) -> Result<Advanced, StoreError>;
    /// Makes the jobs of these runs due at `at` if they were due later
    /// (what they wait for happened).
    async fn wake_runs(
        &self,
        workspace: WorkspaceId,
        runs: &[RunId],
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Stops a going run with `reason` (a no-op for one that ended).
    async fn stop_run(
        &self,
        workspace: WorkspaceId,
        id: RunId,
        reason: &str,
        at: Timestamp,
    ) -> Result<Run, StoreError>;
}

/// A team member's availability for assignments and for the "team
/// available" condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Availability {
    pub agent_id: AgentId,
    pub away: bool,
    /// The most open conversations assigned at once; `None`: no limit.
    pub max_open: Option<u32>,
    pub open: u32,
    /// When they were last assigned a conversation.
    pub last_assigned_at: Option<Timestamp>,
}

#[async_trait]
pub trait ConditionStore: Send + Sync + 'static {
    /// The contacts among `among` that match `filter` (`online`: who is
    /// online now).
    async fn matching_contacts(
        &self,
        workspace: WorkspaceId,
        filter: &Filter,
        online: &[ContactId],
        among: &[ContactId],
    ) -> Result<Vec<ContactId>, StoreError>;
    /// Messages automations sent the contact since `since`.
    async fn automated_messages_since(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
        since: Timestamp,
    ) -> Result<u32, StoreError>;
    /// Whether the contact, and the team, commented in the conversation
    /// after `since`.
    async fn replies_since(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        since: Timestamp,
    ) -> Result<(bool, bool), StoreError>;
    /// The position of the contact's latest page view.
    async fn latest_page_view(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
    ) -> Result<Option<i64>, StoreError>;
    /// The log entries of the contact after `seq`, oldest first (at most
    /// `limit`): what a waiting run looks at.
    async fn contact_activity_after(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
        seq: i64,
        limit: u32,
    ) -> Result<Vec<crate::model::activity::ActivityEntry>, StoreError>;
    /// The workspace's office (defaults until saved).
    async fn office(&self, workspace: WorkspaceId) -> Result<Office, StoreError>;
    async fn save_office(&self, workspace: WorkspaceId, office: Office) -> Result<(), StoreError>;
    /// Among these conversations, those where a bot waits for the
    /// contact's answer (the Inbox shows them "with bot").
    async fn bot_conversations(
        &self,
        workspace: WorkspaceId,
        conversations: &[ConversationId],
    ) -> Result<Vec<ConversationId>, StoreError>;
    /// The workspace's teams, by name.
    async fn teams(&self, workspace: WorkspaceId) -> Result<Vec<Team>, StoreError>;
    /// Creates or replaces a team (its members must be of the workspace:
    /// `Invalid` naming `members` otherwise). `Conflict` when another team
    /// has the name, or the workspace has `MAX_TEAMS`.
    async fn save_team(&self, team: Team) -> Result<Team, StoreError>;
    async fn delete_team(&self, workspace: WorkspaceId, id: TeamId) -> Result<(), StoreError>;
    /// Every member's availability.
    async fn availability(&self, workspace: WorkspaceId) -> Result<Vec<Availability>, StoreError>;
    async fn set_availability(
        &self,
        workspace: WorkspaceId,
        agent: AgentId,
        away: bool,
        max_open: Option<u32>,
    ) -> Result<(), StoreError>;
}

/// A run about to start, as the dispatcher and a manual start build it.
pub fn new_run(
    workspace_id: WorkspaceId,
    version: &Version,
    contact_id: ContactId,
    conversation_id: Option<ConversationId>,
    context: RunContext,
    wait: Wait,
    at: Timestamp,
) -> NewRun {
    let definition = &version.definition;
    NewRun {
        run: Run {
            id: RunId::generate(),
            workspace_id,
            automation_id: version.automation_id,
            version: version.version,
            contact_id,
            conversation_id,
            status: RunStatus::Waiting,
            node: definition.flow.start.clone(),
            step: 0,
            wait: Some(wait),
            context,
            ended_reason: None,
            goal_reached: false,
            started_at: at,
            updated_at: at,
        },
        window_millis: definition.frequency.window_millis(),
    }
}
