//! What the contract tests share: a fresh store per test, a workspace with
//! its owner, contacts, and builders for the values the tests write. Every
//! name the suite takes from `rapport_core` is imported here, once, and
//! reaches the test modules through `use crate::fixtures::*`.

pub use std::sync::Arc;

pub use rapport_core::Timestamp;
pub use rapport_core::model::activity::{Activity, ActivityEntry, NewEvent, PAGE_VIEW};
pub use rapport_core::model::agent::{
    Agent, AgentSession, ApiToken, Email, NewAgent, NewToken, Role,
};
pub use rapport_core::model::automation::flow::AnswerType;
pub use rapport_core::model::automation::hours::Office;
pub use rapport_core::model::automation::run::{
    AutomationStats, NewRun, NodeStats, Run, RunContext, RunLogEntry, RunStatus, Wait, WaitKind,
};
pub use rapport_core::model::automation::trigger::SESSION_START;
pub use rapport_core::model::automation::{
    AutomationStatus, Cause, Definition, MAX_AUTOMATIONS, MessageOrigin, RunsOnPublish, Version,
};
pub use rapport_core::model::bulk::{Audience, BulkSend, BulkStatus, NewBulkSend};
pub use rapport_core::model::contact::{
    Contact, ContactUpsert, ContactUpsertInput, PropType, WIDGET_SESSION_IDLE_MILLIS,
};
pub use rapport_core::model::conversation::{
    AssigneeFilter, Author, Conversation, ConversationChange, ConversationQuery, ConversationSort,
    ConversationStatus, Message, PartKind,
};
pub use rapport_core::model::email::{EmailPlan, SkipReason};
pub use rapport_core::model::filter::Filter;
pub use rapport_core::model::ids::{
    AgentId, AutomationId, BulkSendId, ContactId, ConversationId, JobId, MessageId, RunId,
    SegmentId, TokenId, WorkspaceId,
};
pub use rapport_core::model::job::{ClaimedJob, Job, JobParseError, NewJob};
pub use rapport_core::model::people::{ContactSearch, ContactSort, Segment, SortValue};
pub use rapport_core::model::search::SearchQuery;
pub use rapport_core::model::visitor::{VisitorBoot, VisitorIdentity};
pub use rapport_core::model::workspace::{NewWorkspace, Workspace, WorkspaceSettings};
pub use rapport_core::ports::store::*;
pub use rapport_store::testing::{AppendOne, Backend, TestDatabase};
pub use serde_json::json;

/// The stored kinds of the jobs the suite claims.
pub const EMAIL_JOB: &str = "email_fallback";
pub const BULK_JOB: &str = "bulk_send";
pub const RUN_JOB: &str = "automation_run";

/// A fresh database and the store open on it.
pub struct Fixture {
    pub store: Arc<dyn Store>,
    pub db: TestDatabase,
}

/// `None` when the backend is not available here (the test is skipped).
pub async fn fixture(backend: Backend) -> Option<Fixture> {
    let db = TestDatabase::create(backend).await?;
    Some(Fixture {
        store: db.open().await,
        db,
    })
}

/// A time `ms` milliseconds into the suite's fixed epoch.
pub fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(1_800_000_000_000 + ms)
}

/// A bootstrapped workspace: its owner and the secret of the owner's token.
#[derive(Clone, Copy, Debug)]
pub struct Team {
    pub workspace: WorkspaceId,
    pub owner: AgentId,
    pub secret_hash: [u8; 32],
}

impl Team {
    /// A comment by the owner.
    pub fn says(&self, conversation: ConversationId, body: &str, ms: i64) -> Message {
        message(
            self.workspace,
            conversation,
            Author::Agent(self.owner),
            body,
            ms,
        )
    }
}

/// A workspace named Acme, not yet stored, with its owner and a token.
pub fn new_workspace(owner_email: &str) -> (NewWorkspace, Team) {
    let workspace = WorkspaceId::generate();
    let owner = AgentId::generate();
    let secret_hash: [u8; 32] = *uuid::Uuid::new_v4()
        .as_bytes()
        .repeat(2)
        .first_chunk()
        .unwrap();
    let new = NewWorkspace {
        workspace: Workspace {
            id: workspace,
            name: "Acme".into(),
            app_id: format!("app_{}", uuid::Uuid::new_v4().simple()),
            identity_secret: "secret".into(),
            previous_identity_secret: None,
            identity_verification: false,
            allowed_origins: Vec::new(),
            bulk_sends_admins_only: false,
            retention_days: None,
            attachments: Default::default(),
            email: Default::default(),
            created_at: at(0),
        },
        owner: NewAgent {
            agent: agent(workspace, owner, owner_email, Role::Owner),
            password_hash: "$argon2id$x".into(),
        },
        token: token(workspace, owner, secret_hash),
    };
    (
        new,
        Team {
            workspace,
            owner,
            secret_hash,
        },
    )
}

/// Bootstraps a workspace owned by `email`.
pub async fn team(store: &dyn Store, email: &str) -> Team {
    let (new, team) = new_workspace(email);
    store.bootstrap_workspace(new).await.unwrap();
    team
}

pub fn agent(workspace: WorkspaceId, id: AgentId, email: &str, role: Role) -> Agent {
    Agent {
        id,
        workspace_id: workspace,
        email: Email::parse(email).unwrap(),
        name: "Grace".into(),
        role,
        created_at: at(0),
    }
}

/// A team member to create, with a password hash named after their email.
pub fn new_agent(workspace: WorkspaceId, id: AgentId, email: &str, role: Role) -> NewAgent {
    NewAgent {
        agent: agent(workspace, id, email, role),
        password_hash: format!("$argon2id${email}"),
    }
}

/// Adds a team member to the workspace.
pub async fn member(store: &dyn Store, workspace: WorkspaceId, email: &str, role: Role) -> AgentId {
    let id = AgentId::generate();
    store
        .create_agent(new_agent(workspace, id, email, role))
        .await
        .unwrap();
    id
}

/// A token acting as `agent`, made by them.
pub fn token(workspace: WorkspaceId, agent: AgentId, secret_hash: [u8; 32]) -> NewToken {
    NewToken {
        token: ApiToken {
            id: TokenId::generate(),
            workspace_id: workspace,
            agent_id: agent,
            created_by: agent,
            name: "ci".into(),
            created_at: at(0),
            revoked_at: None,
        },
        secret_hash,
    }
}

/// A sign-in session of `agent`, live from 0 until `expires_ms`.
pub fn agent_session(
    secret_hash: [u8; 32],
    workspace: WorkspaceId,
    agent: AgentId,
    expires_ms: i64,
) -> AgentSession {
    AgentSession {
        secret_hash,
        workspace_id: workspace,
        agent_id: agent,
        created_at: at(0),
        expires_at: at(expires_ms),
    }
}

/// The business's upsert of a contact by user id and/or email.
pub fn upsert_input(
    workspace: WorkspaceId,
    user_id: Option<&str>,
    email: Option<&str>,
) -> ContactUpsert {
    ContactUpsert::parse(
        workspace,
        ContactUpsertInput {
            user_id: user_id.map(str::to_owned),
            email: email.map(str::to_owned),
            ..Default::default()
        },
    )
    .unwrap()
}

/// The business's upsert of the fields the JSON object names (`user_id`,
/// `email`, `name`, `props`), as the API parses one.
pub fn upsert_json(workspace: WorkspaceId, input: serde_json::Value) -> ContactUpsert {
    let text = |key: &str| input.get(key).and_then(|v| v.as_str()).map(str::to_owned);
    ContactUpsert::parse(
        workspace,
        ContactUpsertInput {
            user_id: text("user_id"),
            email: text("email"),
            name: text("name"),
            props: input
                .get("props")
                .map(|p| serde_json::from_value(p.clone()).unwrap())
                .unwrap_or_default(),
            ..Default::default()
        },
    )
    .unwrap()
}

/// Changes for `update_contact`: a new user id and/or email.
pub fn changes(
    workspace: WorkspaceId,
    user_id: Option<&str>,
    email: Option<&str>,
) -> ContactUpsert {
    ContactUpsert::parse_changes(
        workspace,
        ContactUpsertInput {
            user_id: user_id.map(str::to_owned),
            email: email.map(str::to_owned),
            ..Default::default()
        },
    )
    .unwrap()
}

/// A contact known by `user_id`, created at 1.
pub async fn contact(store: &dyn Store, workspace: WorkspaceId, user_id: &str) -> ContactId {
    store
        .upsert_contact(
            upsert_input(workspace, Some(user_id), None),
            ContactId::generate(),
            at(1),
        )
        .await
        .unwrap()
        .0
        .id
}

/// A contact known by `user_id`, with a name and custom properties,
/// created at `ms`.
pub async fn person(
    store: &dyn Store,
    workspace: WorkspaceId,
    user_id: &str,
    name: Option<&str>,
    props: serde_json::Value,
    ms: i64,
) -> ContactId {
    let upsert = upsert_json(
        workspace,
        json!({"user_id": user_id, "name": name, "props": props}),
    );
    store
        .upsert_contact(upsert, ContactId::generate(), at(ms))
        .await
        .unwrap()
        .0
        .id
}

/// An event with no parameters, done by `contact` at `ms`.
pub fn event(workspace: WorkspaceId, contact: ContactId, name: &str, ms: i64) -> NewEvent {
    NewEvent::new(workspace, contact, name.into(), json!({}), at(ms))
}

/// A comment.
pub fn message(
    workspace: WorkspaceId,
    conversation: ConversationId,
    author: Author,
    body: &str,
    ms: i64,
) -> Message {
    Message {
        id: MessageId::generate(),
        workspace_id: workspace,
        conversation_id: conversation,
        author,
        kind: PartKind::Comment,
        body: body.into(),
        created_at: at(ms),
        origin: None,
        attachments: Vec::new(),
    }
}

/// An open conversation, not yet stored.
pub fn new_conversation(workspace: WorkspaceId, contact: ContactId, ms: i64) -> Conversation {
    Conversation {
        id: ConversationId::generate(),
        workspace_id: workspace,
        contact_id: contact,
        status: ConversationStatus::Open,
        assignee_id: None,
        snoozed_until: None,
        waiting_since: None,
        contact_read_at: None,
        created_at: at(ms),
        updated_at: at(ms),
    }
}

/// `message` into the existing conversation it names, with `contact`'s,
/// asking for nothing else (no email, no keys).
pub fn follow_up(contact: ContactId, message: Message) -> NewMessage {
    NewMessage {
        message,
        contact_id: contact,
        new_conversation: None,
        email: None,
        email_key: None,
        bulk_send: None,
    }
}

/// `message` starting `conversation`.
pub fn opening(conversation: Conversation, message: Message) -> NewMessage {
    NewMessage {
        new_conversation: Some(conversation.clone()),
        ..follow_up(conversation.contact_id, message)
    }
}

/// Starts a conversation with one owner's message ("Hi") at `ms`.
pub async fn start(store: &dyn Store, team: &Team, contact: ContactId, ms: i64) -> Conversation {
    let c = new_conversation(team.workspace, contact, ms);
    let m = team.says(c.id, "Hi", ms);
    store
        .append_message(opening(c, m))
        .await
        .unwrap()
        .conversation
}

/// The email fallback's job for a conversation's message sent at `ms`, as
/// `send_chat_message` plans it: one job per conversation, due 10 minutes on.
pub fn email_plan(team: &Team, conversation: ConversationId, ms: i64) -> EmailPlan {
    EmailPlan::Schedule(NewJob::new(
        team.workspace,
        Job::EmailFallback {
            conversation_id: conversation,
        },
        at(ms + 600_000),
    ))
}

/// The conversation's messages waiting for an email, oldest first (none
/// when it is not in the workspace), as the email jobs read them.
pub async fn email_pending(
    store: &dyn Store,
    workspace: WorkspaceId,
    conversation: ConversationId,
) -> Vec<Message> {
    let mut work = store.email_work(workspace, &[conversation]).await.unwrap();
    work.conversations
        .remove(&conversation)
        .map(|c| c.pending)
        .unwrap_or_default()
}

/// A team message whose email waits in a job.
pub fn emailed_message(
    team: &Team,
    conversation: ConversationId,
    body: &str,
    ms: i64,
) -> (Message, EmailPlan) {
    (
        team.says(conversation, body, ms),
        email_plan(team, conversation, ms),
    )
}

/// A new conversation with `contact`, opened by the owner at `ms`.
pub fn opened_by_team(team: &Team, contact: ContactId, ms: i64) -> NewMessage {
    let c = new_conversation(team.workspace, contact, ms);
    let m = team.says(c.id, "Hello", ms);
    opening(c, m)
}

/// A bulk send's message to `contact`, opening its own conversation.
pub fn bulk_message(team: &Team, send: BulkSendId, contact: ContactId, ms: i64) -> NewMessage {
    NewMessage {
        bulk_send: Some(send),
        ..opened_by_team(team, contact, ms)
    }
}

/// A bulk send from the owner to `audience`, made at `ms`, with its job.
pub fn new_bulk_send(team: &Team, audience: Audience, ms: i64) -> NewBulkSend {
    let id = BulkSendId::generate();
    NewBulkSend {
        id,
        workspace_id: team.workspace,
        created_by: team.owner,
        from_agent_id: team.owner,
        body: "Hello {{ user.name | default(\"there\") }}".into(),
        email_fallback: true,
        audience,
        audience_json: json!({"contacts": []}),
        created_at: at(ms),
        job: NewJob::new(team.workspace, Job::BulkSend { bulk_send_id: id }, at(ms)),
    }
}

/// Stores a bulk send to these contacts.
pub async fn bulk_send_to(
    store: &dyn Store,
    team: &Team,
    contacts: &[ContactId],
    ms: i64,
) -> BulkSend {
    store
        .create_bulk_send(new_bulk_send(
            team,
            Audience::Contacts(contacts.to_vec()),
            ms,
        ))
        .await
        .unwrap()
}

/// A filter tree parsed against the workspace's property types, as the API
/// parses one.
pub async fn filter(store: &dyn Store, workspace: WorkspaceId, tree: serde_json::Value) -> Filter {
    let types = store.property_types(workspace).await.unwrap();
    Filter::parse(&tree, &types, at(0)).unwrap()
}

/// A segment to save, made at `ms`.
pub fn segment(workspace: WorkspaceId, name: &str, tree: serde_json::Value, ms: i64) -> Segment {
    Segment {
        id: SegmentId::generate(),
        workspace_id: workspace,
        name: name.into(),
        filter: tree,
        created_at: at(ms),
        updated_at: at(ms),
    }
}

/// The newest `limit` entries of a contact's timeline, of every kind.
pub async fn timeline(
    store: &dyn Store,
    workspace: WorkspaceId,
    contact: ContactId,
    limit: u32,
) -> Vec<ActivityEntry> {
    store
        .timeline(TimelineQuery {
            workspace_id: workspace,
            contact_id: contact,
            before_seq: None,
            kinds: Vec::new(),
            limit,
        })
        .await
        .unwrap()
}

/// The entries' kinds, in their order.
pub fn kinds(entries: &[ActivityEntry]) -> Vec<&'static str> {
    entries.iter().map(|e| e.activity.kind()).collect()
}

/// Whether a result is `NotFound`.
pub fn not_found<T>(result: Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::NotFound))
}

/// Whether a result is `Conflict`.
pub fn conflict<T>(result: Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::Conflict(_)))
}

/// A manually started automation whose flow goes through `nodes` in order,
/// each a one-minute wait leading to the next, the last an end.
pub fn definition(nodes: &[&str], frequency: serde_json::Value) -> Definition {
    let flow: Vec<serde_json::Value> = nodes
        .iter()
        .enumerate()
        .map(|(i, id)| match nodes.get(i + 1) {
            Some(next) => json!({"id": id, "type": "wait", "seconds": 60, "exits": {"next": next}}),
            None => json!({"id": id, "type": "end"}),
        })
        .collect();
    serde_json::from_value(json!({
        "trigger": {"type": "manual"},
        "frequency": frequency,
        "flow": {"start": nodes[0], "nodes": flow},
    }))
    .unwrap()
}

/// An automation named `name` with this draft, made at `ms`.
pub fn new_automation(team: &Team, name: &str, draft: Definition, ms: i64) -> NewAutomation {
    NewAutomation {
        id: AutomationId::generate(),
        workspace_id: team.workspace,
        name: name.into(),
        draft,
        created_at: at(ms),
    }
}

/// Creates an automation through `nodes` and publishes it at `ms`;
/// returns its live version.
pub async fn live_automation(
    store: &dyn Store,
    team: &Team,
    nodes: &[&str],
    frequency: serde_json::Value,
    ms: i64,
) -> Version {
    let new = new_automation(team, "Greeter", definition(nodes, frequency), ms);
    let id = new.id;
    store.create_automation(new).await.unwrap();
    let published = store
        .publish_automation(
            team.workspace,
            id,
            Some(team.owner),
            RunsOnPublish::Finish,
            at(ms),
        )
        .await
        .unwrap();
    store
        .version(team.workspace, id, published.version)
        .await
        .unwrap()
}

/// A run of `version` for `contact`, started at `ms`, waiting until
/// `until_ms` at the flow's start.
pub fn run_of(
    team: &Team,
    version: &Version,
    contact: ContactId,
    conversation: Option<ConversationId>,
    ms: i64,
    until_ms: i64,
) -> NewRun {
    let wait = Wait {
        kind: WaitKind::Time,
        until: at(until_ms),
        since_seq: 0,
    };
    new_run(
        team.workspace,
        version,
        contact,
        conversation,
        RunContext::default(),
        wait,
        at(ms),
    )
}

/// What a step of `run` at `node` tells the log and timeline it came from.
pub fn cause(run: &Run, node: &str) -> Cause {
    Cause {
        automation_id: run.automation_id,
        run_id: run.id,
        node: node.into(),
        depth: 0,
    }
}

/// The step `run` takes from where it is (`run.node`, `run.step`) at `ms`:
/// `effect`, then out by `exit` to wait at `next` for a minute.
pub fn step(run: &Run, effect: Effect, exit: Option<&str>, next: &str, ms: i64) -> RunAdvance {
    RunAdvance {
        workspace_id: run.workspace_id,
        run_id: run.id,
        from_step: run.step,
        effect,
        log: RunLogEntry {
            step: run.step,
            version: run.version,
            node: run.node.clone(),
            kind: "wait".into(),
            exit: exit.map(str::to_owned),
            detail: format!("step {}", run.step),
            data: json!({"step": run.step}),
            at: at(ms),
        },
        next: RunNext {
            node: next.into(),
            status: RunStatus::Waiting,
            wait: Some(Wait {
                kind: WaitKind::Time,
                until: at(ms + 60_000),
                since_seq: 0,
            }),
            conversation_id: run.conversation_id,
            ended_reason: None,
            goal_reached: false,
        },
        timeline: None,
    }
}

/// Counts this test database's sessions waiting for a lock of the given
/// kind (`advisory`, `transactionid`, ...), polling up to five seconds for
/// `want` of them.
pub async fn sessions_waiting(watch: &mut sqlx::PgConnection, event: &str, want: i64) -> i64 {
    let mut seen = 0;
    for _ in 0..100 {
        seen = sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = $1",
        )
        .bind(event)
        .fetch_one(&mut *watch)
        .await
        .unwrap();
        if seen == want {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    seen
}

/// A PostgreSQL test database, its URL (for connections of the test's
/// own, beside the store's) and the store on it; `None` without PostgreSQL.
pub async fn postgres_store() -> Option<(TestDatabase, String, Arc<dyn Store>)> {
    let db = TestDatabase::create(Backend::Postgres).await?;
    let rapport_store::Database::Postgres { url, .. } = &db.database else {
        unreachable!("a PostgreSQL database")
    };
    let url = url.clone();
    let store = db.open().await;
    Some((db, url, store))
}

/// A connection in a transaction that holds the workspace's log lock, as
/// an append does from its log entries to its commit.
pub async fn hold_log_lock(url: &str, workspace: WorkspaceId) -> sqlx::PgConnection {
    hold(
        url,
        "SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))",
        workspace.as_uuid(),
    )
    .await
}

/// A connection of its own in a transaction that has run `sql` (a lock
/// taken, with `id` bound) and holds what it took until it commits.
pub async fn hold(url: &str, sql: &'static str, id: uuid::Uuid) -> sqlx::PgConnection {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::raw_sql("BEGIN").execute(&mut conn).await.unwrap();
    sqlx::query(sql).bind(id).execute(&mut conn).await.unwrap();
    conn
}
