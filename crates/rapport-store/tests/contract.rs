//! The store contract: every backend must pass these, one database per test.

use std::sync::Arc;

use rapport_core::Timestamp;
use rapport_core::activity::Activity;
use rapport_core::agent::{Agent, ApiToken, Email, NewAgent, NewToken, Role};
use rapport_core::contact::{
    ContactUpsert, ContactUpsertInput, PropType, WIDGET_SESSION_IDLE_MILLIS,
};
use rapport_core::conversation::{
    AssigneeFilter, Author, Conversation, ConversationChange, ConversationQuery, ConversationSort,
    ConversationStatus, Message, PartKind,
};
use rapport_core::email::{EmailPlan, SkipReason};
use rapport_core::ids::{
    AgentId, ContactId, ConversationId, JobId, MessageId, TokenId, WorkspaceId,
};
use rapport_core::job::{Job, NewJob};
use rapport_core::store::{
    AgentSession, ClaimedJob, EmailSettlement, NewEvent, NewMessage, Store, StoreError, Stream,
    TimelineQuery,
};
use rapport_core::workspace::WorkspaceSettings;
use rapport_core::workspace::{NewWorkspace, Workspace};
use rapport_store::both_backends;
use rapport_store::testing::{Backend, TestDatabase};
use serde_json::json;

const EMAIL_JOB: &str = "email_fallback";

both_backends!(
    jobs_count_failures_in_a_row_and_are_claimed_whatever_their_kind,
    bootstrap_creates_a_workspace_its_owner_and_a_working_token,
    an_email_owns_at_most_one_workspace,
    agents_are_unique_per_workspace_and_invisible_to_others,
    revoked_tokens_stop_working,
    upserts_match_by_user_id_then_email,
    events_land_on_the_timeline_newest_first,
    messages_start_and_continue_conversations,
    conversations_filter_and_page,
    conversation_changes_are_logged_once,
    nothing_crosses_workspaces,
    concurrent_writes_all_commit_and_a_failing_one_changes_nothing,
    acknowledged_writes_survive_reopening,
    streams_resume_after_a_position,
    sessions_leads_and_merges,
    identity_comes_only_from_proof,
    widget_sessions_are_bound_expire_and_end,
    removed_members_and_their_tokens_stop_at_once,
    property_settings_define_types_and_messenger_access,
    reads_move_forward_and_unread_counts_follow,
    lists_show_newest_parts_and_waiting_order,
    email_jobs_are_claimed_once_and_settle_their_burst,
    a_failed_job_keeps_its_reason_and_frees_its_key,
    only_one_first_run_setup_creates_a_workspace,
);

struct Fixture {
    store: Arc<dyn Store>,
    db: TestDatabase,
}

async fn fixture(backend: Backend) -> Option<Fixture> {
    let db = TestDatabase::create(backend).await?;
    Some(Fixture {
        store: db.open().await,
        db,
    })
}

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(1_800_000_000_000 + ms)
}

struct Team {
    workspace: WorkspaceId,
    owner: AgentId,
    secret_hash: [u8; 32],
}

fn new_workspace(owner_email: &str) -> (NewWorkspace, Team) {
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

fn agent(workspace: WorkspaceId, id: AgentId, email: &str, role: Role) -> Agent {
    Agent {
        id,
        workspace_id: workspace,
        email: Email::parse(email).unwrap(),
        name: "Grace".into(),
        role,
        created_at: at(0),
    }
}

fn token(workspace: WorkspaceId, agent: AgentId, secret_hash: [u8; 32]) -> NewToken {
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

async fn team(store: &dyn Store, email: &str) -> Team {
    let (new, team) = new_workspace(email);
    store.bootstrap_workspace(new).await.unwrap();
    team
}

async fn contact(store: &dyn Store, workspace: WorkspaceId, user_id: &str) -> ContactId {
    let upsert = ContactUpsert::parse(
        workspace,
        ContactUpsertInput {
            user_id: Some(user_id.into()),
            ..Default::default()
        },
    )
    .unwrap();
    store
        .upsert_contact(upsert, ContactId::generate(), at(1))
        .await
        .unwrap()
        .0
        .id
}

fn message(
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
    }
}

fn new_conversation(workspace: WorkspaceId, contact: ContactId, ms: i64) -> Conversation {
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

/// Starts a conversation with one agent message at `ms`.
async fn start(store: &dyn Store, team: &Team, contact: ContactId, ms: i64) -> Conversation {
    let c = new_conversation(team.workspace, contact, ms);
    let m = message(team.workspace, c.id, Author::Agent(team.owner), "Hi", ms);
    store
        .append_message(NewMessage {
            contact_id: contact,
            message: m,
            new_conversation: Some(c),
            email: None,
            email_key: None,
            bulk_send: None,
        })
        .await
        .unwrap()
        .conversation
}

async fn bootstrap_creates_a_workspace_its_owner_and_a_working_token(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let team = team(&*f.store, "owner@acme.test").await;
    let ws = f.store.workspace(team.workspace).await.unwrap();
    assert_eq!(
        (ws.name.as_str(), ws.identity_secret.as_str()),
        ("Acme", "secret")
    );
    let principal = f.store.authenticate_token(team.secret_hash).await.unwrap();
    assert_eq!(
        (principal.workspace_id, principal.agent_id, principal.role),
        (team.workspace, team.owner, Role::Owner)
    );
    assert!(matches!(
        f.store.authenticate_token([7; 32]).await,
        Err(StoreError::NotFound)
    ));
    let agents = f.store.list_agents(team.workspace).await.unwrap();
    assert_eq!(agents.len(), 1);
    assert_eq!(agents[0].email.as_str(), "owner@acme.test");
}

async fn an_email_owns_at_most_one_workspace(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    team(&*f.store, "owner@acme.test").await;
    let (again, second) = new_workspace("owner@acme.test");
    assert!(matches!(
        f.store.bootstrap_workspace(again).await,
        Err(StoreError::Conflict(_))
    ));
    // The refused bootstrap left nothing behind.
    assert!(matches!(
        f.store.workspace(second.workspace).await,
        Err(StoreError::NotFound)
    ));
}

async fn agents_are_unique_per_workspace_and_invisible_to_others(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let other = team(&*f.store, "owner@other.test").await;
    let id = AgentId::generate();
    let created = f
        .store
        .create_agent(NewAgent {
            agent: agent(acme.workspace, id, "ada@acme.test", Role::Agent),
            password_hash: "h".into(),
        })
        .await
        .unwrap();
    assert_eq!(created.id, id);
    let dup = NewAgent {
        agent: agent(
            acme.workspace,
            AgentId::generate(),
            "ada@acme.test",
            Role::Admin,
        ),
        password_hash: "h".into(),
    };
    assert!(matches!(
        f.store.create_agent(dup).await,
        Err(StoreError::Conflict(_))
    ));
    // The same email may belong to another workspace's team.
    f.store
        .create_agent(NewAgent {
            agent: agent(
                other.workspace,
                AgentId::generate(),
                "ada@acme.test",
                Role::Agent,
            ),
            password_hash: "h".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        f.store.agent(acme.workspace, id).await.unwrap().role,
        Role::Agent
    );
    assert!(matches!(
        f.store.agent(other.workspace, id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(f.store.list_agents(acme.workspace).await.unwrap().len(), 2);
}

async fn revoked_tokens_stop_working(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let other = team(&*f.store, "owner@other.test").await;
    let second = token(acme.workspace, acme.owner, [9; 32]);
    let id = second.token.id;
    f.store.create_token(second).await.unwrap();
    assert_eq!(f.store.list_tokens(acme.workspace).await.unwrap().len(), 2);
    // A token for another workspace's agent is refused.
    assert!(matches!(
        f.store
            .create_token(token(acme.workspace, other.owner, [8; 32]))
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        f.store.revoke_token(other.workspace, id, at(5)).await,
        Err(StoreError::NotFound)
    ));
    f.store.authenticate_token([9; 32]).await.unwrap();
    let revoked = f
        .store
        .revoke_token(acme.workspace, id, at(5))
        .await
        .unwrap();
    assert_eq!(revoked.revoked_at, Some(at(5)));
    assert!(matches!(
        f.store.authenticate_token([9; 32]).await,
        Err(StoreError::NotFound)
    ));
    // Revoking twice keeps the first time.
    assert_eq!(
        f.store
            .revoke_token(acme.workspace, id, at(9))
            .await
            .unwrap()
            .revoked_at,
        Some(at(5))
    );
}

async fn upserts_match_by_user_id_then_email(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let parse = |input: serde_json::Value| {
        let input: serde_json::Map<String, serde_json::Value> =
            serde_json::from_value(input).unwrap();
        ContactUpsert::parse(
            acme.workspace,
            ContactUpsertInput {
                ops: Vec::new(),
                user_id: input
                    .get("user_id")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned),
                email: input
                    .get("email")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned),
                name: input
                    .get("name")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned),
                phone: None,
                props: input
                    .get("props")
                    .map(|p| serde_json::from_value(p.clone()).unwrap())
                    .unwrap_or_default(),
            },
        )
        .unwrap()
    };
    // A lead known only by email...
    let (lead, created) = f
        .store
        .upsert_contact(
            parse(json!({"email": "ada@example.com", "props": {"plan": "free"}})),
            ContactId::generate(),
            at(1),
        )
        .await
        .unwrap();
    assert!(created.is_some());
    // ...is matched again by email...
    let (same, created) = f
        .store
        .upsert_contact(
            parse(json!({"email": "ADA@example.com", "name": "Ada"})),
            ContactId::generate(),
            at(2),
        )
        .await
        .unwrap();
    assert_eq!((same.id, created), (lead.id, None));
    // ...and becomes the user when a user_id arrives with that email.
    let (user, created) = f.store.upsert_contact(parse(json!({"user_id": "u-1", "email": "ada@example.com", "props": {"plan": "pro", "seats": 3}})), ContactId::generate(), at(3)).await.unwrap();
    assert_eq!((user.id, created), (lead.id, None));
    let stored = f.store.contact(acme.workspace, lead.id).await.unwrap();
    assert_eq!(stored.user_id.as_deref(), Some("u-1"));
    assert_eq!(stored.name.as_deref(), Some("Ada"));
    assert_eq!(stored.props_json(), json!({"plan": "pro", "seats": 3.0}));
    assert_eq!((stored.created_at, stored.updated_at), (at(1), at(3)));
    // Another user_id with the same email is a different person.
    let (other, created) = f
        .store
        .upsert_contact(
            parse(json!({"user_id": "u-2", "email": "ada@example.com"})),
            ContactId::generate(),
            at(4),
        )
        .await
        .unwrap();
    assert!(created.is_some());
    assert_ne!(other.id, lead.id);
    // Unsetting a property removes it.
    f.store
        .upsert_contact(
            parse(json!({"user_id": "u-1", "props": {"seats": null}})),
            ContactId::generate(),
            at(5),
        )
        .await
        .unwrap();
    assert_eq!(
        f.store
            .contact(acme.workspace, lead.id)
            .await
            .unwrap()
            .props_json(),
        json!({"plan": "pro"})
    );
}

async fn events_land_on_the_timeline_newest_first(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let ada = contact(&*f.store, acme.workspace, "ada").await;
    for (i, name) in ["signed_up", "paid", "$page_view"].into_iter().enumerate() {
        f.store
            .record_event(NewEvent {
                workspace_id: acme.workspace,
                contact_id: ada,
                name: name.into(),
                params: json!({"i": i}),
                created_at: at(10 + i as i64),
            })
            .await
            .unwrap();
    }
    let unknown = NewEvent {
        workspace_id: acme.workspace,
        contact_id: ContactId::generate(),
        name: "x".into(),
        params: json!({}),
        created_at: at(20),
    };
    assert!(matches!(
        f.store.record_event(unknown).await,
        Err(StoreError::NotFound)
    ));
    let page = f
        .store
        .timeline(TimelineQuery {
            workspace_id: acme.workspace,
            contact_id: ada,
            before_seq: None,
            kinds: Vec::new(),
            limit: 2,
        })
        .await
        .unwrap();
    let names: Vec<_> = page
        .iter()
        .map(|e| match &e.activity {
            Activity::Event { name, .. } => name.as_str(),
            other => other.kind(),
        })
        .collect();
    assert_eq!(names, ["$page_view", "paid"]);
    let rest = f
        .store
        .timeline(TimelineQuery {
            workspace_id: acme.workspace,
            contact_id: ada,
            before_seq: Some(page[1].seq),
            kinds: Vec::new(),
            limit: 10,
        })
        .await
        .unwrap();
    let kinds: Vec<_> = rest.iter().map(|e| e.activity.kind()).collect();
    assert_eq!(kinds, ["event", "contact_created"]);
}

async fn messages_start_and_continue_conversations(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let ada = contact(&*f.store, acme.workspace, "ada").await;
    let c = new_conversation(acme.workspace, ada, 10);
    let first = message(
        acme.workspace,
        c.id,
        Author::Agent(acme.owner),
        "Hi there",
        10,
    );
    let stored = f
        .store
        .append_message(NewMessage {
            contact_id: ada,
            message: first.clone(),
            new_conversation: Some(c.clone()),
            email: None,
            email_key: None,
            bulk_send: None,
        })
        .await
        .unwrap();
    assert_eq!(
        (stored.conversation.id, stored.message.body.as_str()),
        (c.id, "Hi there")
    );
    let reply = message(acme.workspace, c.id, Author::Contact(ada), "Hello!", 20);
    let stored = f
        .store
        .append_message(NewMessage {
            contact_id: ada,
            message: reply.clone(),
            new_conversation: None,
            email: None,
            email_key: None,
            bulk_send: None,
        })
        .await
        .unwrap();
    assert_eq!(stored.conversation.waiting_since, Some(at(20)));
    let parts = f
        .store
        .conversation_parts(acme.workspace, c.id)
        .await
        .unwrap();
    assert_eq!(parts, vec![first, reply]);
    let conversation = f.store.conversation(acme.workspace, c.id).await.unwrap();
    assert_eq!(
        (conversation.updated_at, conversation.waiting_since),
        (at(20), Some(at(20)))
    );
    let timeline = f
        .store
        .timeline(TimelineQuery {
            workspace_id: acme.workspace,
            contact_id: ada,
            before_seq: None,
            kinds: Vec::new(),
            limit: 10,
        })
        .await
        .unwrap();
    let kinds: Vec<_> = timeline.iter().map(|e| e.activity.kind()).collect();
    assert_eq!(
        kinds,
        [
            "message",
            "message",
            "conversation_started",
            "contact_created"
        ]
    );
    assert!(timeline.windows(2).all(|w| w[0].seq > w[1].seq));
    assert_eq!(timeline[0].conversation_id, Some(c.id));
    // A message into an unknown conversation stores nothing.
    let stray = message(
        acme.workspace,
        ConversationId::generate(),
        Author::Contact(ada),
        "?",
        30,
    );
    assert!(matches!(
        f.store
            .append_message(NewMessage {
                contact_id: ada,
                message: stray,
                new_conversation: None,
                email: None,
                email_key: None,
                bulk_send: None,
            })
            .await,
        Err(StoreError::NotFound)
    ));
    // Nor into another contact's conversation.
    let bob = contact(&*f.store, acme.workspace, "bob").await;
    let misfiled = message(acme.workspace, c.id, Author::Contact(bob), "hi", 40);
    let refused = f
        .store
        .append_message(NewMessage {
            message: misfiled,
            contact_id: bob,
            new_conversation: None,
            email: None,
            email_key: None,
            bulk_send: None,
        })
        .await;
    assert!(matches!(refused, Err(StoreError::NotFound)));
    assert_eq!(
        f.store
            .conversation_parts(acme.workspace, c.id)
            .await
            .unwrap()
            .len(),
        2
    );
}

async fn conversations_filter_and_page(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let ada = contact(&*f.store, acme.workspace, "ada").await;
    let bob = contact(&*f.store, acme.workspace, "bob").await;
    let mut started = Vec::new();
    for i in 0..5 {
        started.push(
            start(
                &*f.store,
                &acme,
                if i % 2 == 0 { ada } else { bob },
                100 + i,
            )
            .await,
        );
    }
    let by = Some(acme.owner);
    f.store
        .change_conversation(
            acme.workspace,
            started[0].id,
            ConversationChange::Close,
            by,
            at(200),
        )
        .await
        .unwrap();
    f.store
        .change_conversation(
            acme.workspace,
            started[1].id,
            ConversationChange::Assign {
                assignee_id: Some(acme.owner),
            },
            by,
            at(201),
        )
        .await
        .unwrap();
    let list = |query: ConversationQuery| {
        f.store
            .list_conversations(acme.workspace, ConversationQuery { limit: 50, ..query })
    };
    let ids = |cs: Vec<Conversation>| cs.into_iter().map(|c| c.id).collect::<Vec<_>>();
    // Newest activity first.
    assert_eq!(
        ids(list(Default::default()).await.unwrap()),
        [1, 0, 4, 3, 2].map(|i| started[i].id)
    );
    assert_eq!(
        ids(list(ConversationQuery {
            status: Some(ConversationStatus::Closed),
            ..Default::default()
        })
        .await
        .unwrap()),
        [started[0].id]
    );
    assert_eq!(
        ids(list(ConversationQuery {
            contact_id: Some(bob),
            ..Default::default()
        })
        .await
        .unwrap()),
        [1, 3].map(|i| started[i].id)
    );
    assert_eq!(
        ids(list(ConversationQuery {
            assignee: Some(AssigneeFilter::Agent(acme.owner)),
            ..Default::default()
        })
        .await
        .unwrap()),
        [started[1].id]
    );
    assert_eq!(
        list(ConversationQuery {
            assignee: Some(AssigneeFilter::Unassigned),
            ..Default::default()
        })
        .await
        .unwrap()
        .len(),
        4
    );
    // Paging with a cursor visits every conversation once.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = f
            .store
            .list_conversations(
                acme.workspace,
                ConversationQuery {
                    after,
                    limit: 2,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Some((last.updated_at, last.id));
        seen.extend(page.into_iter().map(|c| c.id));
    }
    assert_eq!(seen, [1, 0, 4, 3, 2].map(|i| started[i].id));
}

async fn conversation_changes_are_logged_once(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let ada = contact(&*f.store, acme.workspace, "ada").await;
    let c = start(&*f.store, &acme, ada, 10).await;
    let until = at(10_000);
    let (snoozed, seq) = f
        .store
        .change_conversation(
            acme.workspace,
            c.id,
            ConversationChange::Snooze { until },
            Some(acme.owner),
            at(20),
        )
        .await
        .unwrap();
    assert_eq!(
        (snoozed.status, snoozed.snoozed_until, seq.is_some()),
        (ConversationStatus::Snoozed, Some(until), true)
    );
    let (closed, _) = f
        .store
        .change_conversation(
            acme.workspace,
            c.id,
            ConversationChange::Close,
            Some(acme.owner),
            at(30),
        )
        .await
        .unwrap();
    assert_eq!(
        (closed.status, closed.snoozed_until),
        (ConversationStatus::Closed, None)
    );
    let (_, again) = f
        .store
        .change_conversation(
            acme.workspace,
            c.id,
            ConversationChange::Close,
            Some(acme.owner),
            at(40),
        )
        .await
        .unwrap();
    assert_eq!(again, None, "closing a closed conversation logs nothing");
    let timeline = f
        .store
        .timeline(TimelineQuery {
            workspace_id: acme.workspace,
            contact_id: ada,
            before_seq: None,
            kinds: Vec::new(),
            limit: 10,
        })
        .await
        .unwrap();
    let kinds: Vec<_> = timeline.iter().map(|e| e.activity.kind()).collect();
    assert_eq!(
        kinds,
        [
            "status_changed",
            "status_changed",
            "message",
            "conversation_started",
            "contact_created"
        ]
    );
    assert!(
        matches!(&timeline[0].activity, Activity::StatusChanged { status: ConversationStatus::Closed, by: Some(by), .. } if *by == acme.owner)
    );
    // A contact writing again reopens it.
    let back = message(
        acme.workspace,
        c.id,
        Author::Contact(ada),
        "still there?",
        50,
    );
    let stored = f
        .store
        .append_message(NewMessage {
            contact_id: ada,
            message: back,
            new_conversation: None,
            email: None,
            email_key: None,
            bulk_send: None,
        })
        .await
        .unwrap();
    assert_eq!(stored.conversation.status, ConversationStatus::Open);
}

async fn nothing_crosses_workspaces(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let other = team(&*f.store, "owner@other.test").await;
    let ada = contact(&*f.store, acme.workspace, "ada").await;
    let c = start(&*f.store, &acme, ada, 10).await;
    let s = &*f.store;
    assert!(matches!(
        s.contact(other.workspace, ada).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.conversation(other.workspace, c.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.conversation_parts(other.workspace, c.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(
        s.list_conversations(
            other.workspace,
            ConversationQuery {
                limit: 10,
                ..Default::default()
            }
        )
        .await
        .unwrap()
        .is_empty()
    );
    assert!(
        s.timeline(TimelineQuery {
            workspace_id: other.workspace,
            contact_id: ada,
            before_seq: None,
            kinds: Vec::new(),
            limit: 10
        })
        .await
        .unwrap()
        .is_empty()
    );
    assert!(matches!(
        s.change_conversation(
            other.workspace,
            c.id,
            ConversationChange::Close,
            None,
            at(20)
        )
        .await,
        Err(StoreError::NotFound)
    ));
    // Starting a conversation in one workspace with another's contact fails.
    let stray = new_conversation(other.workspace, ada, 30);
    let m = message(
        other.workspace,
        stray.id,
        Author::Agent(other.owner),
        "Hi",
        30,
    );
    assert!(matches!(
        s.append_message(NewMessage {
            contact_id: ada,
            message: m,
            new_conversation: Some(stray),
            email: None,
            email_key: None,
            bulk_send: None,
        })
        .await,
        Err(StoreError::NotFound)
    ));
    // The same user_id in two workspaces is two contacts.
    let twin = contact(s, other.workspace, "ada").await;
    assert_ne!(twin, ada);
}

async fn concurrent_writes_all_commit_and_a_failing_one_changes_nothing(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let ada = contact(&*f.store, acme.workspace, "ada").await;
    let c = start(&*f.store, &acme, ada, 10).await;
    let mut tasks = Vec::new();
    for i in 0..200 {
        let store = f.store.clone();
        let ws = acme.workspace;
        tasks.push(tokio::spawn(async move {
            if i % 50 == 7 {
                // Doomed: the conversation does not exist.
                let m = message(
                    ws,
                    ConversationId::generate(),
                    Author::Contact(ada),
                    "lost",
                    20 + i,
                );
                store
                    .append_message(NewMessage {
                        contact_id: ada,
                        message: m,
                        new_conversation: None,
                        email: None,
                        email_key: None,
                        bulk_send: None,
                    })
                    .await
                    .is_err()
            } else {
                let m = message(ws, c.id, Author::Contact(ada), &format!("m{i}"), 20 + i);
                store
                    .append_message(NewMessage {
                        contact_id: ada,
                        message: m,
                        new_conversation: None,
                        email: None,
                        email_key: None,
                        bulk_send: None,
                    })
                    .await
                    .is_ok()
            }
        }));
    }
    // Writes that fail after writing part of their rows, in the same burst:
    // a second workspace for an email that already owns one inserts the
    // workspace, then fails on its owner.
    let mut half_done = Vec::new();
    for _ in 0..4 {
        let store = f.store.clone();
        let (again, team) = new_workspace("owner@acme.test");
        half_done.push(tokio::spawn(async move {
            let refused = matches!(
                store.bootstrap_workspace(again).await,
                Err(StoreError::Conflict(_))
            );
            refused
                && matches!(
                    store.workspace(team.workspace).await,
                    Err(StoreError::NotFound)
                )
        }));
    }
    for task in tasks.into_iter().chain(half_done) {
        assert!(task.await.unwrap());
    }
    let parts = f
        .store
        .conversation_parts(acme.workspace, c.id)
        .await
        .unwrap();
    assert_eq!(parts.len(), 1 + 196);
    assert!(parts.iter().all(|p| p.body != "lost"));
}

async fn acknowledged_writes_survive_reopening(backend: Backend) {
    let Some(db) = TestDatabase::create(backend).await else {
        return;
    };
    let (workspace, ada) = {
        let store = db.open().await;
        let acme = team(&*store, "owner@acme.test").await;
        (
            acme.workspace,
            contact(&*store, acme.workspace, "ada").await,
        )
    };
    let store = db.open().await;
    assert_eq!(
        store
            .contact(workspace, ada)
            .await
            .unwrap()
            .user_id
            .as_deref(),
        Some("ada")
    );
}

async fn streams_resume_after_a_position(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let other = team(&*f.store, "owner@other.test").await;
    let ada = contact(&*f.store, acme.workspace, "ada").await;
    let bob = contact(&*f.store, acme.workspace, "bob").await;
    contact(&*f.store, other.workspace, "eve").await;
    start(&*f.store, &acme, ada, 10).await;
    start(&*f.store, &acme, bob, 20).await;
    let all = f
        .store
        .activity_after(acme.workspace, Stream::Workspace, 0, 100)
        .await
        .unwrap();
    let kinds: Vec<_> = all.iter().map(|e| e.activity.kind()).collect();
    assert_eq!(
        kinds,
        [
            "contact_created",
            "contact_created",
            "conversation_started",
            "message",
            "conversation_started",
            "message"
        ]
    );
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq), "oldest first");
    assert!(all.iter().all(|e| e.workspace_id == acme.workspace));
    // Resuming after a position returns exactly what came after it.
    let rest = f
        .store
        .activity_after(acme.workspace, Stream::Workspace, all[2].seq, 100)
        .await
        .unwrap();
    assert_eq!(rest, all[3..].to_vec());
    let page = f
        .store
        .activity_after(acme.workspace, Stream::Workspace, 0, 2)
        .await
        .unwrap();
    assert_eq!(page, all[..2].to_vec());
    // A contact's stream is theirs alone.
    let bobs = f
        .store
        .activity_after(acme.workspace, Stream::Contact(bob), 0, 100)
        .await
        .unwrap();
    assert_eq!(bobs.len(), 3);
    assert!(bobs.iter().all(|e| e.contact_id == bob));
    let none = f
        .store
        .activity_after(other.workspace, Stream::Contact(bob), 0, 100)
        .await
        .unwrap();
    assert!(none.is_empty());
}

/// On PostgreSQL, positions are handed out at insert: appends to one
/// workspace's log must commit in position order, or a stream could pass an
/// entry that becomes visible later. A write that has appended but not yet
/// committed makes the next append wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_log_appends_commit_in_position_order() {
    use sqlx::Connection;
    let Some(db) = TestDatabase::create(Backend::Postgres).await else {
        return;
    };
    let rapport_store::Database::Postgres { url, .. } = &db.database else {
        unreachable!("a PostgreSQL database")
    };
    let store = db.open().await;
    let acme = team(&*store, "owner@acme.test").await;
    let ada = contact(&*store, acme.workspace, "ada").await;
    let before = store
        .activity_after(acme.workspace, Stream::Workspace, 0, 100)
        .await
        .unwrap()
        .len();
    // A slow writer appends the way the store does, and does not commit yet.
    let mut slow = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::raw_sql("BEGIN").execute(&mut slow).await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))")
        .bind(acme.workspace.as_uuid())
        .execute(&mut slow)
        .await
        .unwrap();
    sqlx::query("INSERT INTO activity (workspace_id, contact_id, kind, data, created_at) VALUES ($1, $2, 'event', '{\"name\": \"slow\", \"params\": {}}', 0)")
        .bind(acme.workspace.as_uuid())
        .bind(ada.as_uuid())
        .execute(&mut slow)
        .await
        .unwrap();
    // A later write in the same workspace waits for it...
    let later = {
        let store = store.clone();
        let team = Team {
            workspace: acme.workspace,
            owner: acme.owner,
            secret_hash: acme.secret_hash,
        };
        tokio::spawn(async move { start(&*store, &team, ada, 10).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !later.is_finished(),
        "the later append must wait for the earlier one"
    );
    assert_eq!(
        store
            .activity_after(acme.workspace, Stream::Workspace, 0, 100)
            .await
            .unwrap()
            .len(),
        before
    );
    // ...while another workspace's does not.
    let other = team(&*store, "owner@other.test").await;
    contact(&*store, other.workspace, "eve").await;
    sqlx::raw_sql("COMMIT").execute(&mut slow).await.unwrap();
    later.await.unwrap();
    let after = store
        .activity_after(acme.workspace, Stream::Workspace, 0, 100)
        .await
        .unwrap();
    let kinds: Vec<_> = after[before..].iter().map(|e| e.activity.kind()).collect();
    assert_eq!(kinds, ["event", "conversation_started", "message"]);
}

async fn sessions_leads_and_merges(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let other = team(&*f.store, "owner@other.test").await;
    // Inbox sessions expire and can be ended.
    let session = AgentSession {
        secret_hash: [1; 32],
        workspace_id: acme.workspace,
        agent_id: acme.owner,
        created_at: at(0),
        expires_at: at(100),
    };
    f.store.create_agent_session(session).await.unwrap();
    assert_eq!(
        f.store
            .agent_session([1; 32], at(50))
            .await
            .unwrap()
            .agent_id,
        acme.owner
    );
    assert!(matches!(
        f.store.agent_session([1; 32], at(100)).await,
        Err(StoreError::NotFound)
    ));
    f.store.delete_agent_session([1; 32]).await.unwrap();
    assert!(matches!(
        f.store.agent_session([1; 32], at(50)).await,
        Err(StoreError::NotFound)
    ));
    let foreign = AgentSession {
        secret_hash: [2; 32],
        workspace_id: acme.workspace,
        agent_id: other.owner,
        created_at: at(0),
        expires_at: at(100),
    };
    assert!(matches!(
        f.store.create_agent_session(foreign).await,
        Err(StoreError::NotFound)
    ));
    let candidates = f.store.login_candidates("owner@acme.test").await.unwrap();
    assert_eq!(
        (candidates.len(), candidates[0].1.as_str()),
        (1, "$argon2id$x")
    );
    // A lead with a widget session and a conversation merges into a user.
    let (lead, _) = f
        .store
        .create_lead(acme.workspace, ContactId::generate(), at(1))
        .await
        .unwrap();
    assert_eq!((lead.user_id.as_ref(), lead.email.as_ref()), (None, None));
    f.store
        .create_widget_session([3; 32], acme.workspace, lead.id, at(1))
        .await
        .unwrap();
    assert_eq!(
        f.store.widget_session([3; 32], at(2)).await.unwrap(),
        (acme.workspace, lead.id)
    );
    assert!(matches!(
        f.store
            .create_widget_session([4; 32], other.workspace, lead.id, at(1))
            .await,
        Err(StoreError::NotFound)
    ));
    let conversation = start(&*f.store, &acme, lead.id, 10).await;
    let user = contact(&*f.store, acme.workspace, "ada").await;
    // Only a lead merges, only within its workspace.
    assert!(matches!(
        f.store.merge_lead(other.workspace, lead.id, user).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        f.store.merge_lead(acme.workspace, user, lead.id).await,
        Err(StoreError::NotFound)
    ));
    f.store
        .merge_lead(acme.workspace, lead.id, user)
        .await
        .unwrap();
    assert_eq!(
        f.store
            .conversation(acme.workspace, conversation.id)
            .await
            .unwrap()
            .contact_id,
        user
    );
    // The lead's session ended with the lead: the browser that proved who
    // it is gets a new one, bound to the user.
    assert!(matches!(
        f.store.widget_session([3; 32], at(2)).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        f.store.contact(acme.workspace, lead.id).await,
        Err(StoreError::NotFound)
    ));
    let timeline = f
        .store
        .timeline(TimelineQuery {
            workspace_id: acme.workspace,
            contact_id: user,
            before_seq: None,
            kinds: Vec::new(),
            limit: 20,
        })
        .await
        .unwrap();
    assert!(timeline.iter().any(|e| e.activity.kind() == "message"));
    // Workspace settings change only what they name.
    let changed = f
        .store
        .update_workspace(
            acme.workspace,
            WorkspaceSettings {
                identity_verification: Some(true),
                allowed_origins: Some(vec!["https://shop.example".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (changed.name.as_str(), changed.identity_verification),
        ("Acme", true)
    );
    let by_app = f.store.workspace_by_app_id(&changed.app_id).await.unwrap();
    assert_eq!(by_app.allowed_origins, ["https://shop.example"]);
    assert_eq!(f.store.workspace_count().await.unwrap(), 2);
}

async fn reads_move_forward_and_unread_counts_follow(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let ada = contact(&*f.store, acme.workspace, "ada").await;
    let bob = contact(&*f.store, acme.workspace, "bob").await;
    let c = start(&*f.store, &acme, ada, 10).await;
    for (ms, author, kind) in [
        (20, Author::Agent(acme.owner), PartKind::Comment),
        (30, Author::Agent(acme.owner), PartKind::Note),
        (40, Author::Contact(ada), PartKind::Comment),
    ] {
        let m = Message {
            kind,
            ..message(acme.workspace, c.id, author, "x", ms)
        };
        f.store
            .append_message(NewMessage {
                message: m,
                contact_id: ada,
                new_conversation: None,
                email: None,
                email_key: None,
                bulk_send: None,
            })
            .await
            .unwrap();
    }
    // Two team comments; notes and the contact's own words do not count.
    assert_eq!(
        f.store.unread_counts(acme.workspace, ada).await.unwrap(),
        vec![(c.id, 2)]
    );
    assert!(
        f.store
            .mark_read(acme.workspace, c.id, ada, at(15))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        f.store.unread_counts(acme.workspace, ada).await.unwrap(),
        vec![(c.id, 1)]
    );
    assert!(
        f.store
            .mark_read(acme.workspace, c.id, ada, at(50))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        f.store
            .unread_counts(acme.workspace, ada)
            .await
            .unwrap()
            .is_empty()
    );
    // Reading again, or reading backwards, changes and logs nothing.
    assert_eq!(
        f.store
            .mark_read(acme.workspace, c.id, ada, at(20))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        f.store
            .conversation(acme.workspace, c.id)
            .await
            .unwrap()
            .contact_read_at,
        Some(at(50))
    );
    // Only the conversation's own contact reads it.
    assert!(matches!(
        f.store.mark_read(acme.workspace, c.id, bob, at(60)).await,
        Err(StoreError::NotFound)
    ));
}

async fn lists_show_newest_parts_and_waiting_order(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let ada = contact(&*f.store, acme.workspace, "ada").await;
    let bob = contact(&*f.store, acme.workspace, "bob").await;
    let first = start(&*f.store, &acme, ada, 10).await;
    let second = start(&*f.store, &acme, bob, 20).await;
    let note = Message {
        kind: PartKind::Note,
        ..message(
            acme.workspace,
            first.id,
            Author::Agent(acme.owner),
            "note",
            30,
        )
    };
    f.store
        .append_message(NewMessage {
            message: note,
            contact_id: ada,
            new_conversation: None,
            email: None,
            email_key: None,
            bulk_send: None,
        })
        .await
        .unwrap();
    let ids = [first.id, second.id];
    let mut any = f
        .store
        .last_parts(acme.workspace, &ids, false)
        .await
        .unwrap();
    any.sort_by_key(|m| m.created_at);
    assert_eq!(
        any.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        ["Hi", "note"]
    );
    let visible = f
        .store
        .last_parts(acme.workspace, &[first.id], true)
        .await
        .unwrap();
    assert_eq!(visible[0].body, "Hi");
    assert!(
        f.store
            .last_parts(acme.workspace, &[], false)
            .await
            .unwrap()
            .is_empty()
    );
    // Waiting: whoever wrote first and has no answer comes first.
    for (c, contact_id, ms) in [(second.id, bob, 40), (first.id, ada, 50)] {
        let m = message(acme.workspace, c, Author::Contact(contact_id), "help", ms);
        f.store
            .append_message(NewMessage {
                message: m,
                contact_id,
                new_conversation: None,
                email: None,
                email_key: None,
                bulk_send: None,
            })
            .await
            .unwrap();
    }
    let waiting = f
        .store
        .list_conversations(
            acme.workspace,
            ConversationQuery {
                sort: ConversationSort::Waiting,
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        waiting.iter().map(|c| c.id).collect::<Vec<_>>(),
        [second.id, first.id]
    );
    let rest = f
        .store
        .list_conversations(
            acme.workspace,
            ConversationQuery {
                sort: ConversationSort::Waiting,
                after: Some((at(40), second.id)),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.iter().map(|c| c.id).collect::<Vec<_>>(), [first.id]);
    let contacts = f
        .store
        .contacts(acme.workspace, &[ada, bob, ContactId::generate()])
        .await
        .unwrap();
    assert_eq!(contacts.len(), 2);
}

/// A team message whose email waits in a job, as `send_chat_message` plans it.
fn emailed_message(
    team: &Team,
    conversation: ConversationId,
    body: &str,
    ms: i64,
) -> (Message, EmailPlan) {
    let m = message(
        team.workspace,
        conversation,
        Author::Agent(team.owner),
        body,
        ms,
    );
    let job = NewJob::new(
        team.workspace,
        Job::EmailFallback {
            conversation_id: conversation,
        },
        at(ms + 600_000),
    );
    (m, EmailPlan::Schedule(job))
}

async fn email_jobs_are_claimed_once_and_settle_their_burst(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let team = team(&*f.store, "owner@acme.test").await;
    let ann = contact(&*f.store, team.workspace, "ann").await;
    let c = new_conversation(team.workspace, ann, 0);
    let mut sent = Vec::new();
    for (i, body) in ["one", "two"].iter().enumerate() {
        let (m, plan) = emailed_message(&team, c.id, body, i as i64);
        sent.push(m.id);
        f.store
            .append_message(NewMessage {
                contact_id: ann,
                message: m,
                new_conversation: (i == 0).then(|| c.clone()),
                email: Some(plan),
                email_key: None,
                bulk_send: None,
            })
            .await
            .unwrap();
    }
    // A note and a message with the fallback off wait for nothing.
    let (off, _) = emailed_message(&team, c.id, "quiet", 2);
    let off_id = off.id;
    f.store
        .append_message(NewMessage {
            contact_id: ann,
            message: off,
            new_conversation: None,
            email: Some(EmailPlan::Skip(SkipReason::FallbackOff)),
            email_key: None,
            bulk_send: None,
        })
        .await
        .unwrap();
    let pending = f.store.email_pending(team.workspace, c.id).await.unwrap();
    assert_eq!(pending.iter().map(|m| m.id).collect::<Vec<_>>(), sent);
    let timeline = f
        .store
        .timeline(TimelineQuery {
            workspace_id: team.workspace,
            contact_id: ann,
            before_seq: None,
            kinds: Vec::new(),
            limit: 1,
        })
        .await
        .unwrap();
    assert_eq!(
        timeline[0].activity,
        Activity::NotEmailed {
            reason: SkipReason::FallbackOff,
            message_ids: vec![off_id],
            error: None
        }
    );

    // One job for the conversation, due with the first message.
    let lease = |ms: i64| at(ms + 300_000);
    assert!(
        f.store
            .claim_jobs(&[EMAIL_JOB], at(599_999), lease(599_999), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let (a, b) = tokio::join!(
        f.store
            .claim_jobs(&[EMAIL_JOB], at(600_000), lease(600_000), 10),
        f.store
            .claim_jobs(&[EMAIL_JOB], at(600_000), lease(600_000), 10),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.len() + b.len(), 1, "claimed by exactly one: {a:?} {b:?}");
    let first_claim = a.into_iter().chain(b).next().unwrap();
    assert_eq!(first_claim.due_at, at(600_000));
    assert_eq!(first_claim.attempts, 1);
    // Held until the claim runs out, then claimed again; the first holder
    // can no longer settle it.
    assert!(
        f.store
            .claim_jobs(&[EMAIL_JOB], at(700_000), lease(700_000), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let claim = f
        .store
        .claim_jobs(&[EMAIL_JOB], at(900_000), lease(900_000), 10)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(claim.attempts, 2);
    assert!(matches!(
        f.store.finish_job(&first_claim).await,
        Err(StoreError::Conflict(_))
    ));

    // A message arriving while the job runs joins the next burst.
    let (late, plan) = emailed_message(&team, c.id, "three", 900_001);
    let late_id = late.id;
    f.store
        .append_message(NewMessage {
            contact_id: ann,
            message: late,
            new_conversation: None,
            email: Some(plan),
            email_key: None,
            bulk_send: None,
        })
        .await
        .unwrap();
    let settle = |job: ClaimedJob, emailed: Vec<MessageId>, ms: i64| EmailSettlement {
        job,
        workspace_id: team.workspace,
        conversation_id: c.id,
        contact_id: ann,
        activities: vec![Activity::Emailed {
            to: "ann@example.com".into(),
            message_ids: emailed.clone(),
        }],
        emailed,
        skipped: Vec::new(),
        at: at(ms),
        delay_millis: 600_000,
    };
    // Settled in one batch: the stale holder is refused, the live one not.
    let results = f
        .store
        .settle_emails(vec![
            settle(first_claim.clone(), sent.clone(), 900_002),
            settle(claim, sent.clone(), 900_002),
        ])
        .await
        .unwrap();
    assert!(matches!(results[0], Err(StoreError::Conflict(_))));
    assert!(matches!(results[1], Ok(Some(_))));
    let pending = f.store.email_pending(team.workspace, c.id).await.unwrap();
    assert_eq!(
        pending.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![late_id]
    );
    // The job stays, due with the late message.
    assert!(
        f.store
            .claim_jobs(&[EMAIL_JOB], at(1_500_000), lease(1_500_000), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let next = f
        .store
        .claim_jobs(&[EMAIL_JOB], at(1_500_001), lease(1_500_001), 10)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(next.id, first_claim.id);
    let results = f
        .store
        .settle_emails(vec![settle(next, vec![late_id], 1_500_002)])
        .await
        .unwrap();
    assert!(matches!(results[0], Ok(Some(_))));
    assert!(
        f.store
            .email_pending(team.workspace, c.id)
            .await
            .unwrap()
            .is_empty()
    );
    // Done: the job is gone.
    assert!(
        f.store
            .claim_jobs(&[EMAIL_JOB], at(99_000_000), lease(99_000_000), 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Retrying moves the due time and keeps the job.
    let other = contact(&*f.store, team.workspace, "bo").await;
    let c2 = new_conversation(team.workspace, other, 0);
    let (m, plan) = emailed_message(&team, c2.id, "hi", 0);
    f.store
        .append_message(NewMessage {
            contact_id: other,
            message: m,
            new_conversation: Some(c2),
            email: Some(plan),
            email_key: None,
            bulk_send: None,
        })
        .await
        .unwrap();
    let job = f
        .store
        .claim_jobs(&[EMAIL_JOB], at(600_000), lease(600_000), 10)
        .await
        .unwrap()
        .pop()
        .unwrap();
    f.store
        .retry_job(&job, at(630_000), "connection refused")
        .await
        .unwrap();
    assert!(
        f.store
            .claim_jobs(&[EMAIL_JOB], at(629_999), lease(629_999), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        f.store
            .claim_jobs(&[EMAIL_JOB], at(630_000), lease(630_000), 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

fn upsert_input(
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

async fn identity_comes_only_from_proof(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let ws = acme.workspace;
    // A lead claims someone's email in the widget...
    let (lead, _) = f
        .store
        .create_lead(ws, ContactId::generate(), at(1))
        .await
        .unwrap();
    let claim = ContactUpsert::parse_changes(
        ws,
        ContactUpsertInput {
            email: Some("victim@x.test".into()),
            ..Default::default()
        },
    )
    .unwrap()
    .claimed_by_visitor();
    let lead = f.store.update_contact(lead.id, claim, at(2)).await.unwrap();
    assert!(!lead.email_verified);
    // ...and neither the business's upsert by that email nor one with a
    // user_id and that email finds the lead: each makes its own contact.
    let (by_email, created) = f
        .store
        .upsert_contact(
            upsert_input(ws, None, Some("victim@x.test")),
            ContactId::generate(),
            at(3),
        )
        .await
        .unwrap();
    assert!(created.is_some());
    assert_ne!(by_email.id, lead.id);
    assert!(by_email.email_verified);
    let (user, _) = f
        .store
        .upsert_contact(
            upsert_input(ws, Some("u42"), Some("victim@x.test")),
            ContactId::generate(),
            at(4),
        )
        .await
        .unwrap();
    assert_ne!(user.id, lead.id);
    let lead_now = f.store.contact(ws, lead.id).await.unwrap();
    assert_eq!(lead_now.user_id, None, "the lead was not re-keyed");
    // The business's own email contact does become the user (both sides
    // are the business's word).
    assert_eq!(user.id, by_email.id);
    // A claimed email with a user_id (a verified boot) finds nobody by
    // email either.
    let (attacker, created) = f
        .store
        .upsert_contact(
            upsert_input(ws, Some("att-1"), Some("victim@x.test")).claimed_by_visitor(),
            ContactId::generate(),
            at(5),
        )
        .await
        .unwrap();
    assert!(created.is_some());
    assert_ne!(attacker.id, user.id);
    assert!(!attacker.email_verified);
}

async fn widget_sessions_are_bound_expire_and_end(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let ws = acme.workspace;
    let (lead, _) = f
        .store
        .create_lead(ws, ContactId::generate(), at(1))
        .await
        .unwrap();
    f.store
        .create_widget_session([5; 32], ws, lead.id, at(1))
        .await
        .unwrap();
    f.store
        .create_widget_session([6; 32], ws, lead.id, at(1))
        .await
        .unwrap();
    // Unused for 90 days, it stops working; a boot that resumes it in time
    // keeps it going.
    let idle = WIDGET_SESSION_IDLE_MILLIS;
    assert!(f.store.widget_session([5; 32], at(idle)).await.is_ok());
    assert!(matches!(
        f.store.widget_session([5; 32], at(idle + 2)).await,
        Err(StoreError::NotFound)
    ));
    f.store
        .touch_widget_session([6; 32], at(idle - 10))
        .await
        .unwrap();
    assert!(f.store.widget_session([6; 32], at(idle + 2)).await.is_ok());
    // The visitor shuts the messenger down: that session ends.
    f.store.delete_widget_session([6; 32]).await.unwrap();
    assert!(matches!(
        f.store.widget_session([6; 32], at(2)).await,
        Err(StoreError::NotFound)
    ));
    // A session issued to a lead stops when the business gives the contact
    // an identity.
    f.store
        .create_widget_session([7; 32], ws, lead.id, at(3))
        .await
        .unwrap();
    let identify = ContactUpsert::parse_changes(
        ws,
        ContactUpsertInput {
            user_id: Some("u7".into()),
            ..Default::default()
        },
    )
    .unwrap();
    f.store
        .update_contact(lead.id, identify, at(4))
        .await
        .unwrap();
    assert!(matches!(
        f.store.widget_session([7; 32], at(5)).await,
        Err(StoreError::NotFound)
    ));
    // One issued to the user now works, and stops if the id changes again.
    f.store
        .create_widget_session([8; 32], ws, lead.id, at(5))
        .await
        .unwrap();
    assert_eq!(
        f.store.widget_session([8; 32], at(6)).await.unwrap().1,
        lead.id
    );
    let rekey = ContactUpsert::parse_changes(
        ws,
        ContactUpsertInput {
            user_id: Some("u8".into()),
            ..Default::default()
        },
    )
    .unwrap();
    f.store.update_contact(lead.id, rekey, at(7)).await.unwrap();
    assert!(matches!(
        f.store.widget_session([8; 32], at(8)).await,
        Err(StoreError::NotFound)
    ));
    // Rotating the identity secret keeps the old one for the grace period.
    let before = f.store.workspace(ws).await.unwrap();
    let rotated = f
        .store
        .rotate_identity_secret(ws, "new-secret".into(), at(100))
        .await
        .unwrap();
    assert_eq!(rotated.identity_secret, "new-secret");
    let secrets: Vec<&str> = rotated.identity_secrets(at(99)).collect();
    assert_eq!(secrets, ["new-secret", before.identity_secret.as_str()]);
    assert_eq!(rotated.identity_secrets(at(100)).count(), 1);
    assert_eq!(f.store.workspace(ws).await.unwrap(), rotated);
}

async fn removed_members_and_their_tokens_stop_at_once(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let ws = acme.workspace;
    let ann = AgentId::generate();
    f.store
        .create_agent(NewAgent {
            agent: agent(ws, ann, "ann@acme.test", Role::Agent),
            password_hash: "$argon2id$ann".into(),
        })
        .await
        .unwrap();
    // Ann makes a token acting as the owner (the API refuses this; the
    // store still caps it at Ann's role).
    let mut minted = token(ws, acme.owner, [9; 32]);
    minted.token.created_by = ann;
    f.store.create_token(minted).await.unwrap();
    assert_eq!(
        f.store.authenticate_token([9; 32]).await.unwrap().role,
        Role::Agent
    );
    f.store
        .create_token(token(ws, ann, [10; 32]))
        .await
        .unwrap();
    f.store
        .create_agent_session(AgentSession {
            secret_hash: [11; 32],
            workspace_id: ws,
            agent_id: ann,
            created_at: at(0),
            expires_at: at(1_000),
        })
        .await
        .unwrap();
    // The owner is never removed.
    assert!(matches!(
        f.store.remove_agent(ws, acme.owner, at(1)).await,
        Err(StoreError::Conflict(_))
    ));
    f.store.remove_agent(ws, ann, at(2)).await.unwrap();
    for hash in [[9; 32], [10; 32]] {
        assert!(matches!(
            f.store.authenticate_token(hash).await,
            Err(StoreError::NotFound)
        ));
    }
    assert!(matches!(
        f.store.agent_session([11; 32], at(3)).await,
        Err(StoreError::NotFound)
    ));
    assert!(
        f.store
            .login_candidates("ann@acme.test")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        f.store
            .list_agents(ws)
            .await
            .unwrap()
            .iter()
            .all(|a| a.id != ann)
    );
    // Her email is free to be invited again; removing twice is NotFound.
    f.store
        .create_agent(NewAgent {
            agent: agent(ws, AgentId::generate(), "ann@acme.test", Role::Agent),
            password_hash: "$argon2id$ann2".into(),
        })
        .await
        .unwrap();
    assert!(matches!(
        f.store.remove_agent(ws, ann, at(3)).await,
        Err(StoreError::NotFound)
    ));
    // A password change ends every other session of that member.
    for (hash, _) in [([12; 32], 0), ([13; 32], 1)] {
        f.store
            .create_agent_session(AgentSession {
                secret_hash: hash,
                workspace_id: ws,
                agent_id: acme.owner,
                created_at: at(0),
                expires_at: at(1_000),
            })
            .await
            .unwrap();
    }
    f.store
        .set_password_hash(ws, acme.owner, "$argon2id$new".into(), Some([12; 32]))
        .await
        .unwrap();
    assert!(f.store.agent_session([12; 32], at(4)).await.is_ok());
    assert!(matches!(
        f.store.agent_session([13; 32], at(4)).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        f.store.password_hash(ws, acme.owner).await.unwrap(),
        "$argon2id$new"
    );
}

async fn property_settings_define_types_and_messenger_access(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let ws = acme.workspace;
    // A new name needs a type, and starts closed to the messenger.
    assert!(matches!(
        f.store
            .save_property_setting(ws, "plan".into(), None, Some(true), at(1))
            .await,
        Err(StoreError::Invalid(_))
    ));
    let plan = f
        .store
        .save_property_setting(ws, "plan".into(), Some(PropType::String), None, at(1))
        .await
        .unwrap();
    assert!(!plan.messenger_writable);
    let plan = f
        .store
        .save_property_setting(ws, "plan".into(), None, Some(true), at(2))
        .await
        .unwrap();
    assert!(plan.messenger_writable);
    // Its type stays.
    assert!(matches!(
        f.store
            .save_property_setting(
                ws,
                "plan".into(),
                Some(PropType::Number),
                Some(false),
                at(3)
            )
            .await,
        Err(StoreError::Invalid(_))
    ));
    let listed = f.store.property_settings(ws).await.unwrap();
    assert_eq!(listed, [plan]);
    let other = team(&*f.store, "owner@other.test").await;
    assert!(
        f.store
            .property_settings(other.workspace)
            .await
            .unwrap()
            .is_empty()
    );
}

/// One text column of the job's row, read past the store.
async fn job_error(db: &TestDatabase, job: JobId) -> (Option<String>, Option<i64>) {
    let sql = "SELECT last_error, failed_at FROM jobs WHERE id = $1";
    match &db.database {
        rapport_store::Database::Sqlite { path } => {
            let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!(
                "sqlite://{}",
                path.display()
            ))
            .await
            .unwrap();
            sqlx::query_as(sql)
                .bind(job.as_uuid())
                .fetch_one(&mut conn)
                .await
                .unwrap()
        }
        rapport_store::Database::Postgres { url, .. } => {
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(url)
                .await
                .unwrap();
            sqlx::query_as(sql)
                .bind(job.as_uuid())
                .fetch_one(&mut conn)
                .await
                .unwrap()
        }
    }
}

async fn a_failed_job_keeps_its_reason_and_frees_its_key(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let team = team(&*f.store, "owner@acme.test").await;
    let ann = contact(&*f.store, team.workspace, "ann").await;
    let c = new_conversation(team.workspace, ann, 0);
    let send = |body: &str, ms: i64, new: bool| {
        let (m, plan) = emailed_message(&team, c.id, body, ms);
        NewMessage {
            contact_id: ann,
            message: m,
            new_conversation: new.then(|| c.clone()),
            email: Some(plan),
            email_key: None,
            bulk_send: None,
        }
    };
    f.store.append_message(send("one", 0, true)).await.unwrap();
    let lease = |ms: i64| at(ms + 300_000);
    let job = f
        .store
        .claim_jobs(&[EMAIL_JOB], at(600_000), lease(600_000), 10)
        .await
        .unwrap()
        .pop()
        .unwrap();
    f.store
        .fail_job(&job, at(600_001), "the worker panicked: boom")
        .await
        .unwrap();
    // Kept with its reason, and never claimed again.
    let (error, failed_at) = job_error(&f.db, job.id).await;
    assert_eq!(error.as_deref(), Some("the worker panicked: boom"));
    assert_eq!(failed_at, Some(at(600_001).as_millis()));
    assert!(
        f.store
            .claim_jobs(&[EMAIL_JOB], at(99_000_000), lease(99_000_000), 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Its key is free: the conversation's next message gets a job again.
    f.store
        .append_message(send("two", 700_000, false))
        .await
        .unwrap();
    let next = f
        .store
        .claim_jobs(&[EMAIL_JOB], at(99_000_000), lease(99_000_000), 10)
        .await
        .unwrap();
    assert_eq!(next.len(), 1);
    assert_ne!(next[0].id, job.id);
}

async fn only_one_first_run_setup_creates_a_workspace(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let setups: Vec<_> = (0..8)
        .map(|i| {
            let store = f.store.clone();
            let (new, _) = new_workspace(&format!("owner{i}@acme.test"));
            tokio::spawn(async move { store.set_up_first_workspace(new).await })
        })
        .collect();
    let mut created = 0;
    for setup in setups {
        match setup.await.unwrap() {
            Ok(()) => created += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(f.store.workspace_count().await.unwrap(), 1);
    // The CLI may add more; the setup page never again.
    team(&*f.store, "second@acme.test").await;
    let (late, _) = new_workspace("late@acme.test");
    assert!(matches!(
        f.store.set_up_first_workspace(late).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(f.store.workspace_count().await.unwrap(), 2);
}

async fn jobs_count_failures_in_a_row_and_are_claimed_whatever_their_kind(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let team = team(&*f.store, "owner@acme.test").await;
    let lease = |ms: i64| at(ms + 300_000);
    let send = rapport_core::ids::BulkSendId::generate();
    let known =
        f.db.insert_raw_job(
            team.workspace,
            "bulk_send",
            json!({"bulk_send_id": send}),
            at(0),
        )
        .await;
    let unknown =
        f.db.insert_raw_job(team.workspace, "resume_run", json!({"run": 1}), at(1))
            .await;
    // Due and unclaimed: both, oldest first; no kinds claims every kind.
    let due = f.store.due_jobs(at(1), 10).await.unwrap();
    assert_eq!(
        due.iter().map(|j| j.id).collect::<Vec<_>>(),
        [known, unknown]
    );
    let claimed = f.store.claim_jobs(&[], at(1), lease(1), 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    assert_eq!(claimed[0].job, Ok(Job::BulkSend { bulk_send_id: send }));
    assert_eq!(
        claimed[1].job,
        Err(rapport_core::job::JobParseError::UnknownKind(
            "resume_run".into()
        ))
    );
    assert!(f.store.due_jobs(at(1), 10).await.unwrap().is_empty());
    // A retry counts a failure; a release (progress) restarts the count.
    f.store
        .retry_job(&claimed[1], at(10), "no handler")
        .await
        .unwrap();
    let again = f
        .store
        .claim_jobs(&[], at(10), lease(10), 10)
        .await
        .unwrap();
    assert_eq!((again[0].id, again[0].failures), (unknown, 1));
    f.store
        .retry_job(&again[0], at(20), "no handler")
        .await
        .unwrap();
    let again = f
        .store
        .claim_jobs(&[], at(20), lease(20), 10)
        .await
        .unwrap();
    assert_eq!(again[0].failures, 2);
    f.store.release_job(&again[0], at(30)).await.unwrap();
    let again = f
        .store
        .claim_jobs(&[], at(30), lease(30), 10)
        .await
        .unwrap();
    assert_eq!((again[0].failures, again[0].attempts), (0, 4));
    // Failed for good: never due or claimed again.
    f.store
        .fail_job(&again[0], at(30), "gave up")
        .await
        .unwrap();
    assert_eq!(
        f.db.job_state(unknown).await,
        Some((0, true, Some("gave up".into())))
    );
    assert!(
        f.store
            .due_jobs(at(99_000_000), 10)
            .await
            .unwrap()
            .iter()
            .all(|j| j.id != unknown)
    );
}
