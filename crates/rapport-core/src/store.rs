//! The storage port. `rapport-store` implements it for SQLite and
//! PostgreSQL; one contract test suite holds both to the same behaviour.
//! Every write method is one transaction, including the activity entries
//! and jobs it causes.

use async_trait::async_trait;

use crate::Timestamp;
use crate::activity::{Activity, ActivityEntry};
use crate::agent::{Agent, ApiToken, NewAgent, NewToken, Principal};
use crate::bulk::{BulkSend, NewBulkSend};
use crate::contact::{Contact, ContactUpsert, PropType, PropTypes, PropertySetting};
use crate::conversation::{Conversation, ConversationChange, ConversationQuery, Message};
use crate::email::EmailPlan;
use crate::filter::Filter;
use crate::ids::{
    AgentId, BulkSendId, ContactId, ConversationId, JobId, MessageId, SegmentId, TokenId,
    WorkspaceId,
};
use crate::validation::ValidationError;
use crate::workspace::{NewWorkspace, Workspace, WorkspaceSettings};

/// The one storage error type; drivers' errors are converted in one place.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such row in this workspace (other workspaces' rows do not exist).
    #[error("not found")]
    NotFound,
    /// A uniqueness rule would be broken; the text names it.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The change breaks a rule only the stored data can check (a property
    /// keeps its type); nothing was changed.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

/// A message to append, and the conversation it goes into.
#[derive(Clone, Debug)]
pub struct NewMessage {
    pub message: Message,
    /// The contact the conversation is with: the store refuses (`NotFound`)
    /// an existing conversation that is someone else's.
    pub contact_id: ContactId,
    /// `Some` starts this new conversation with the message.
    pub new_conversation: Option<Conversation>,
    /// What happens about emailing it (team comments only): its job is
    /// enqueued, or the skip is logged, in the same transaction.
    pub email: Option<EmailPlan>,
    /// For a reply that came by email: its Message-ID. The store refuses
    /// (`Conflict`) a second message with the same key in the workspace.
    pub email_key: Option<String>,
    /// For a bulk send's message: the send. The store marks the recipient
    /// sent in the same transaction, and refuses (`Conflict`) a recipient
    /// already sent or failed.
    pub bulk_send: Option<BulkSendId>,
}

/// The orders a contact list comes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContactSort {
    LastSeen,
    FirstSeen,
    Name,
    Created,
}

impl ContactSort {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "last_seen_at" => Some(ContactSort::LastSeen),
            "first_seen_at" => Some(ContactSort::FirstSeen),
            "name" => Some(ContactSort::Name),
            "created_at" => Some(ContactSort::Created),
            _ => None,
        }
    }
}

/// A contact's place in a sorted list: its sort value and id.
#[derive(Clone, Debug, PartialEq)]
pub enum SortValue {
    Number(i64),
    Text(String),
}

/// Contacts matching a filter: how many, and one page of them.
#[derive(Clone, Debug)]
pub struct ContactSearch {
    pub workspace_id: WorkspaceId,
    pub filter: Filter,
    /// Who is online now (for `online` conditions).
    pub online: Vec<ContactId>,
    pub sort: ContactSort,
    pub descending: bool,
    /// Only contacts after this one in the order.
    pub after: Option<(SortValue, ContactId)>,
    /// 0: only the count.
    pub limit: u32,
}

#[derive(Clone, Debug)]
pub struct ContactPage {
    pub count: u64,
    pub contacts: Vec<Contact>,
}

impl ContactSort {
    /// The value a contact is sorted by (`None` counts as 0 / empty).
    pub fn value_of(self, contact: &Contact) -> SortValue {
        let at = |t: Option<Timestamp>| SortValue::Number(t.map_or(0, Timestamp::as_millis));
        match self {
            ContactSort::LastSeen => at(contact.system.last_seen_at),
            ContactSort::FirstSeen => at(contact.system.first_seen_at),
            ContactSort::Created => at(Some(contact.created_at)),
            ContactSort::Name => SortValue::Text(contact.name.clone().unwrap_or_default()),
        }
    }
}

/// For one event name, what a contact did.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventSummary {
    pub name: String,
    pub count: u64,
    pub first_at: Timestamp,
    pub last_at: Timestamp,
}

/// What a workspace's filters can name.
#[derive(Clone, Debug, Default)]
pub struct PeopleSchema {
    pub custom: PropTypes,
    /// Event names, with how many contacts did each.
    pub events: Vec<(String, u64)>,
    /// Tags, with how many contacts have each.
    pub tags: Vec<(String, u64)>,
}

/// A saved filter.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Segment {
    pub id: SegmentId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    /// The filter tree, as saved.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub filter: serde_json::Value,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A job a worker holds until `claimed_until`. `attempts` counts claims and
/// fences the holder: settling with an older count is refused. `failures`
/// counts failures in a row (`retry_job`), for the back-off and its cap.
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimedJob {
    pub id: JobId,
    pub workspace_id: WorkspaceId,
    /// The kind as stored, and the job read from it and its payload.
    pub kind: String,
    pub job: Result<crate::job::Job, crate::job::JobParseError>,
    pub due_at: Timestamp,
    pub attempts: u32,
    pub failures: u32,
    pub created_at: Timestamp,
}

/// How an email job ends for the messages it looked at. The store marks
/// them, logs `activity`, and then either removes the job or, when more
/// messages came while it ran, makes it due again for those.
#[derive(Clone, Debug)]
pub struct EmailSettlement {
    pub job: ClaimedJob,
    pub workspace_id: WorkspaceId,
    pub conversation_id: ConversationId,
    pub contact_id: ContactId,
    /// Messages settled by email or by a skip.
    pub emailed: Vec<MessageId>,
    pub skipped: Vec<MessageId>,
    /// The timeline entries to write (at most one per outcome).
    pub activities: Vec<Activity>,
    pub at: Timestamp,
    /// The workspace's delay, for messages still pending.
    pub delay_millis: i64,
}

/// A conversation as an inbound email reply finds it: from the id in the
/// reply address, before its signature is checked against the workspace.
#[derive(Clone, Debug)]
pub struct ReplyTarget {
    pub workspace: Workspace,
    pub conversation: Conversation,
    pub contact: Contact,
}

/// A signed-in Inbox session: only the hash of its secret is stored.
#[derive(Clone, Debug)]
pub struct AgentSession {
    pub secret_hash: [u8; 32],
    pub workspace_id: WorkspaceId,
    pub agent_id: AgentId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// What `append_message` stored.
#[derive(Clone, Debug)]
pub struct StoredMessage {
    pub message: Message,
    pub conversation: Conversation,
    /// The last activity-log position the write produced.
    pub seq: i64,
}

/// What rendering a message for a contact reads, in one go.
#[derive(Clone, Debug)]
pub struct MessageContext {
    pub workspace: Workspace,
    pub contact: Contact,
    /// The sending team member, when one was asked for and exists.
    pub agent: Option<Agent>,
}

/// An event to record on a contact's timeline.
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub workspace_id: WorkspaceId,
    pub contact_id: ContactId,
    pub name: String,
    pub params: serde_json::Value,
    pub created_at: Timestamp,
}

/// A page of a contact's timeline, newest first.
#[derive(Clone, Debug)]
pub struct TimelineQuery {
    pub workspace_id: WorkspaceId,
    pub contact_id: ContactId,
    /// Only entries older than this position.
    pub before_seq: Option<i64>,
    /// Only these kinds (`message`, `emailed`, ...); empty: all.
    pub kinds: Vec<String>,
    pub limit: u32,
}

/// Which part of a workspace's activity log a live stream follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Everything in the workspace (an Inbox tab).
    Workspace,
    /// One contact's entries (their messenger).
    Contact(ContactId),
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Answers when the database answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Creates a workspace with its owner and first token. `Conflict` when
    /// the owner's email already owns a workspace.
    async fn bootstrap_workspace(&self, new: NewWorkspace) -> Result<(), StoreError>;
    /// The first-run setup: creates the installation's first workspace, as
    /// `bootstrap_workspace` does, only if no workspace was ever created
    /// (`Conflict` otherwise, decided by the database, so two racing
    /// setups create one workspace).
    async fn set_up_first_workspace(&self, new: NewWorkspace) -> Result<(), StoreError>;
    async fn workspace(&self, id: WorkspaceId) -> Result<Workspace, StoreError>;
    /// How many workspaces exist (0 on a fresh install).
    async fn workspace_count(&self) -> Result<u64, StoreError>;
    /// The workspace the widget's public `app_id` names.
    async fn workspace_by_app_id(&self, app_id: &str) -> Result<Workspace, StoreError>;
    async fn update_workspace(
        &self,
        id: WorkspaceId,
        settings: WorkspaceSettings,
    ) -> Result<Workspace, StoreError>;

    /// Replaces the identity secret; hashes made with the old one keep
    /// working until `previous_until`.
    async fn rotate_identity_secret(
        &self,
        id: WorkspaceId,
        new_secret: String,
        previous_until: Timestamp,
    ) -> Result<Workspace, StoreError>;

    /// `Conflict` when the email is already a member of the workspace.
    async fn create_agent(&self, new: NewAgent) -> Result<Agent, StoreError>;
    /// Removes a team member at once: their sign-in sessions end, the
    /// tokens they act as or made are revoked, their conversations are
    /// unassigned, and their email is free to be invited again. `Conflict`
    /// for the owner.
    async fn remove_agent(
        &self,
        workspace: WorkspaceId,
        id: AgentId,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// A member's password hash (for checking their current password).
    async fn password_hash(
        &self,
        workspace: WorkspaceId,
        id: AgentId,
    ) -> Result<String, StoreError>;
    /// Sets a member's password hash and ends their sign-in sessions but
    /// `keep` (the one that made the change).
    async fn set_password_hash(
        &self,
        workspace: WorkspaceId,
        id: AgentId,
        password_hash: String,
        keep: Option<[u8; 32]>,
    ) -> Result<(), StoreError>;
    async fn agent(&self, workspace: WorkspaceId, id: AgentId) -> Result<Agent, StoreError>;
    async fn list_agents(&self, workspace: WorkspaceId) -> Result<Vec<Agent>, StoreError>;

    async fn create_token(&self, new: NewToken) -> Result<ApiToken, StoreError>;
    async fn list_tokens(&self, workspace: WorkspaceId) -> Result<Vec<ApiToken>, StoreError>;
    async fn revoke_token(
        &self,
        workspace: WorkspaceId,
        id: TokenId,
        at: Timestamp,
    ) -> Result<ApiToken, StoreError>;
    /// Who a live (unrevoked) token with this secret hash acts as.
    async fn authenticate_token(&self, secret_hash: [u8; 32]) -> Result<Principal, StoreError>;

    /// Team members with this email (in any workspace), with their
    /// password hashes, oldest first: for signing in.
    async fn login_candidates(&self, email: &str) -> Result<Vec<(Agent, String)>, StoreError>;
    async fn create_agent_session(&self, session: AgentSession) -> Result<(), StoreError>;
    /// Who an unexpired sign-in session acts as.
    async fn agent_session(
        &self,
        secret_hash: [u8; 32],
        now: Timestamp,
    ) -> Result<Principal, StoreError>;
    async fn delete_agent_session(&self, secret_hash: [u8; 32]) -> Result<(), StoreError>;

    /// A new anonymous contact (a lead) for a widget visitor.
    async fn create_lead(
        &self,
        workspace: WorkspaceId,
        id: ContactId,
        now: Timestamp,
    ) -> Result<(Contact, i64), StoreError>;
    async fn create_widget_session(
        &self,
        secret_hash: [u8; 32],
        workspace: WorkspaceId,
        contact: ContactId,
        now: Timestamp,
    ) -> Result<(), StoreError>;
    /// The workspace and contact a widget session belongs to. `NotFound`
    /// once its contact's identity has changed since it was issued, or it
    /// went unused for [`WIDGET_SESSION_IDLE_MILLIS`](crate::contact::WIDGET_SESSION_IDLE_MILLIS).
    async fn widget_session(
        &self,
        secret_hash: [u8; 32],
        now: Timestamp,
    ) -> Result<(WorkspaceId, ContactId), StoreError>;
    /// Marks a widget session used at `now` (a boot that resumes it).
    async fn touch_widget_session(
        &self,
        secret_hash: [u8; 32],
        now: Timestamp,
    ) -> Result<(), StoreError>;
    /// Ends a widget session (the visitor shut the messenger down).
    async fn delete_widget_session(&self, secret_hash: [u8; 32]) -> Result<(), StoreError>;
    /// Moves a lead's conversations and timeline to the contact it turned
    /// out to be, ends the lead's sessions, and removes the lead.
    async fn merge_lead(
        &self,
        workspace: WorkspaceId,
        lead: ContactId,
        into: ContactId,
    ) -> Result<(), StoreError>;

    /// Creates or updates the contact the upsert matches. When it created
    /// one, also returns the position of the `contact_created` entry.
    async fn upsert_contact(
        &self,
        upsert: ContactUpsert,
        new_id: ContactId,
        now: Timestamp,
    ) -> Result<(Contact, Option<i64>), StoreError>;
    async fn contact(&self, workspace: WorkspaceId, id: ContactId) -> Result<Contact, StoreError>;
    /// Applies `changes` (parsed with `ContactUpsert::parse_changes`) to the
    /// contact with this id.
    async fn update_contact(
        &self,
        id: ContactId,
        changes: ContactUpsert,
        now: Timestamp,
    ) -> Result<Contact, StoreError>;
    /// The workspace, a contact of it and (if asked for and in the same
    /// workspace) a team member, in one read. `NotFound` when the contact is
    /// not in the workspace.
    async fn message_context(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
        agent: Option<AgentId>,
    ) -> Result<MessageContext, StoreError>;
    async fn record_event(&self, event: NewEvent) -> Result<ActivityEntry, StoreError>;
    /// The workspace's newest log position (0 when empty).
    async fn activity_head(&self, workspace: WorkspaceId) -> Result<i64, StoreError>;
    /// Entries after position `after_seq`, oldest first, at most `limit`.
    /// Within a workspace, entries become visible in position order, so a
    /// reader that resumes after the last position it saw misses nothing.
    async fn activity_after(
        &self,
        workspace: WorkspaceId,
        stream: Stream,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<ActivityEntry>, StoreError>;
    async fn timeline(&self, query: TimelineQuery) -> Result<Vec<ActivityEntry>, StoreError>;

    /// Stores a message (and the conversation it starts), its activity
    /// entries and its jobs in one transaction. `NotFound` when the
    /// conversation or contact is not in the message's workspace.
    async fn append_message(&self, new: NewMessage) -> Result<StoredMessage, StoreError>;
    /// `append_message` for many messages that each start a new
    /// conversation (a bulk send's), in one transaction with a few
    /// statements per 500 messages. Per message, in order: what was stored,
    /// or `NotFound` (the contact is not in the workspace) or `Conflict`
    /// (its bulk recipient was sent already, or the send stopped).
    async fn start_conversations(
        &self,
        new: Vec<NewMessage>,
    ) -> Result<Vec<Result<StoredMessage, StoreError>>, StoreError>;
    async fn conversation(
        &self,
        workspace: WorkspaceId,
        id: ConversationId,
    ) -> Result<Conversation, StoreError>;
    async fn conversation_parts(
        &self,
        workspace: WorkspaceId,
        id: ConversationId,
    ) -> Result<Vec<Message>, StoreError>;
    async fn list_conversations(
        &self,
        workspace: WorkspaceId,
        query: ConversationQuery,
    ) -> Result<Vec<Conversation>, StoreError>;
    /// The newest part of each listed conversation: any part, or with
    /// `comments_only` the newest the contact can see.
    async fn last_parts(
        &self,
        workspace: WorkspaceId,
        conversations: &[ConversationId],
        comments_only: bool,
    ) -> Result<Vec<Message>, StoreError>;
    /// Per conversation of the contact, how many team comments are newer
    /// than what the contact has read (conversations with none are left out).
    async fn unread_counts(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
    ) -> Result<Vec<(ConversationId, u32)>, StoreError>;
    /// The listed contacts of the workspace (unknown ids are skipped).
    async fn contacts(
        &self,
        workspace: WorkspaceId,
        ids: &[ContactId],
    ) -> Result<Vec<Contact>, StoreError>;
    /// Records that the contact read the conversation's team messages up
    /// to `at`; logs it when it moves the read position forward.
    async fn mark_read(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        contact: ContactId,
        at: Timestamp,
    ) -> Result<Option<i64>, StoreError>;
    /// Applies a status or assignment change and logs it; returns the
    /// conversation and, when something changed, the activity position.
    async fn change_conversation(
        &self,
        workspace: WorkspaceId,
        id: ConversationId,
        change: ConversationChange,
        by: Option<AgentId>,
        at: Timestamp,
    ) -> Result<(Conversation, Option<i64>), StoreError>;

    /// Claims up to `limit` jobs of these kinds (no kinds: of any kind) that
    /// are due at `now` and unclaimed (or whose claim ran out), until
    /// `until`, oldest due first. Two workers never hold the same job.
    async fn claim_jobs(
        &self,
        kinds: &[&'static str],
        now: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> Result<Vec<ClaimedJob>, StoreError>;
    /// Releases a held job that failed to run again at `due_at`, keeping
    /// `error` and counting the failure. `Conflict` when the claim was lost
    /// to another worker.
    async fn retry_job(
        &self,
        job: &ClaimedJob,
        due_at: Timestamp,
        error: &str,
    ) -> Result<(), StoreError>;
    /// Releases a held job that did not fail (it made progress, or never
    /// started) to run again at `due_at`; its failures in a row restart.
    async fn release_job(&self, job: &ClaimedJob, due_at: Timestamp) -> Result<(), StoreError>;
    /// Removes a held job that has nothing left to do.
    async fn finish_job(&self, job: &ClaimedJob) -> Result<(), StoreError>;
    /// Fails a held job for good (it panicked, kept failing, or cannot be
    /// read): it is kept with `error` and never claimed again, and its key
    /// is freed. `Conflict` when the claim was lost.
    async fn fail_job(
        &self,
        job: &ClaimedJob,
        at: Timestamp,
        error: &str,
    ) -> Result<(), StoreError>;
    /// Up to `limit` jobs due at `now` that nobody holds and that have not
    /// failed for good: what a runner would claim next. Read only.
    async fn due_jobs(&self, now: Timestamp, limit: u32) -> Result<Vec<ClaimedJob>, StoreError>;
    /// The conversation's messages waiting for an email, oldest first.
    async fn email_pending(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
    ) -> Result<Vec<Message>, StoreError>;
    /// Records email jobs' outcomes (see `EmailSettlement`) in one
    /// transaction, so that many settle for one commit. Per settlement, in
    /// order: the last log position written, or `Conflict` when its claim
    /// was lost (the others still settle).
    async fn settle_emails(
        &self,
        settlements: Vec<EmailSettlement>,
    ) -> Result<Vec<Result<Option<i64>, StoreError>>, StoreError>;
    /// The conversation an inbound reply names, with its workspace and
    /// contact: the one lookup not scoped to a workspace, made only to
    /// check the signature that then scopes it.
    async fn reply_target(&self, conversation: ConversationId) -> Result<ReplyTarget, StoreError>;
    /// Turns emails of chat messages off for a contact (kept if already
    /// off). Returns the contact.
    async fn unsubscribe_contact(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
        at: Timestamp,
    ) -> Result<Contact, StoreError>;

    /// The workspace's custom properties and their types.
    async fn property_types(&self, workspace: WorkspaceId) -> Result<PropTypes, StoreError>;
    /// The workspace's custom properties with their settings, by name.
    async fn property_settings(
        &self,
        workspace: WorkspaceId,
    ) -> Result<Vec<PropertySetting>, StoreError>;
    /// Defines a property (`ty` is needed for a new name; for a known one
    /// it must match) and sets whether the messenger may write it.
    async fn save_property_setting(
        &self,
        workspace: WorkspaceId,
        name: String,
        ty: Option<PropType>,
        messenger_writable: Option<bool>,
        now: Timestamp,
    ) -> Result<PropertySetting, StoreError>;
    /// Property types, event names and tags, for filter builders.
    async fn people_schema(&self, workspace: WorkspaceId) -> Result<PeopleSchema, StoreError>;
    /// How many contacts match, and a page of them.
    async fn search_contacts(&self, search: ContactSearch) -> Result<ContactPage, StoreError>;
    /// Per event name, what the contact did (most recent first).
    async fn event_summaries(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
    ) -> Result<Vec<EventSummary>, StoreError>;
    /// Adds (`present`) or removes a tag; returns the contact.
    async fn tag_contact(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
        tag: &str,
        present: bool,
        at: Timestamp,
    ) -> Result<Contact, StoreError>;
    /// Records a visit: last seen, sessions, the page.
    async fn contact_seen(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
        at: Timestamp,
        page: Option<String>,
    ) -> Result<Contact, StoreError>;

    /// `Conflict` when the workspace has a segment of that name.
    async fn save_segment(&self, segment: Segment) -> Result<Segment, StoreError>;
    async fn segment(&self, workspace: WorkspaceId, id: SegmentId) -> Result<Segment, StoreError>;
    async fn segments(&self, workspace: WorkspaceId) -> Result<Vec<Segment>, StoreError>;
    async fn delete_segment(&self, workspace: WorkspaceId, id: SegmentId)
    -> Result<(), StoreError>;

    /// Stores a bulk send, its recipients (the audience, resolved now) and
    /// its job in one transaction.
    async fn create_bulk_send(&self, new: NewBulkSend) -> Result<BulkSend, StoreError>;
    async fn bulk_send(
        &self,
        workspace: WorkspaceId,
        id: BulkSendId,
    ) -> Result<BulkSend, StoreError>;
    /// The workspace's bulk sends, newest first.
    async fn bulk_sends(
        &self,
        workspace: WorkspaceId,
        limit: u32,
    ) -> Result<Vec<BulkSend>, StoreError>;
    /// Stops a send that is still sending (kept as it is otherwise).
    async fn cancel_bulk_send(
        &self,
        workspace: WorkspaceId,
        id: BulkSendId,
        at: Timestamp,
    ) -> Result<BulkSend, StoreError>;
    /// Recipients not yet sent or failed, in a stable order.
    async fn bulk_pending(
        &self,
        workspace: WorkspaceId,
        id: BulkSendId,
        limit: u32,
    ) -> Result<Vec<ContactId>, StoreError>;
    async fn fail_bulk_recipient(
        &self,
        workspace: WorkspaceId,
        id: BulkSendId,
        contact: ContactId,
        error: &str,
    ) -> Result<(), StoreError>;
    /// Marks a send that is still sending done.
    async fn finish_bulk_send(
        &self,
        workspace: WorkspaceId,
        id: BulkSendId,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Ends a send that is still sending whose job failed for good: its
    /// pending recipients are marked failed with `error`, and it is done.
    async fn fail_bulk_send(
        &self,
        workspace: WorkspaceId,
        id: BulkSendId,
        error: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;
}
