//! Several `rapport serve` processes on one PostgreSQL database: live
//! delivery across them, shared presence, jobs run once, and a server
//! dying under a widget.

use std::process::Child;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use rapport_core::model::ids::{BulkSendId, WorkspaceId};
use rapport_core::ports::store::TimelineQuery;
use rapport_store::Database;
use rapport_store::testing::{Backend, TestDatabase};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::cli::{bootstrap_acme, contact_ids, import_people, kill_hard, serve_with, terminate};
use crate::helpers::user_hash;
use crate::live::{Socket, next_within};
use crate::smtp::SmtpSink;

/// Feeds poll the log every five seconds without a notice: what arrives
/// sooner than this came through the other server's notice.
const SOONER_THAN_A_POLL: Duration = Duration::from_secs(4);

/// One `rapport serve` of the cluster; killed when dropped, so a failing
/// test leaves no server behind.
struct Server {
    child: Option<Child>,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Server {
    /// Starts a server on `db` at a free port, emailing `sink`, running
    /// jobs or not; returns once it answers.
    async fn start(db: &Database, sink: &SmtpSink, run_jobs: bool) -> Self {
        // Its log, for a failure's post-mortem.
        let log = tempfile::Builder::new()
            .prefix("rapport-cluster-")
            .suffix(".log")
            .tempfile()
            .unwrap()
            .keep()
            .unwrap()
            .0;
        let settings = [
            ("RAPPORT_SMTP_URL", sink.url()),
            ("RAPPORT_RUN_JOBS", run_jobs.to_string()),
        ];
        let (child, base) = serve_with(db, &settings, log).await;
        Self {
            child: Some(child),
            base,
        }
    }

    /// SIGTERM: whether it then exited cleanly.
    fn stop(mut self) -> bool {
        terminate(self.child.take().unwrap()).success()
    }

    /// Sends a signal (`STOP`, `CONT`) to the process.
    fn signal(&self, name: &str) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        let sent = std::process::Command::new("kill")
            .args([format!("-{name}"), pid])
            .status()
            .unwrap();
        assert!(sent.success());
    }

    /// SIGKILL.
    fn kill(mut self) {
        assert!(!kill_hard(self.child.take().unwrap()).success());
    }

    fn ws(&self, path: &str) -> String {
        format!("{}{path}", self.base.replacen("http", "ws", 1))
    }
}

struct Cluster {
    client: reqwest::Client,
    token: String,
    app_id: String,
    secret: String,
}

impl Cluster {
    async fn call(
        &self,
        server: &Server,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        self.call_as(server, &self.token, method, path, body).await
    }

    async fn call_as(
        &self,
        server: &Server,
        bearer: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let mut request = self
            .client
            .request(method, format!("{}{path}", server.base))
            .bearer_auth(bearer);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    /// An identified visitor with an email address booted on `server`,
    /// with a conversation they started: (session, contact id,
    /// conversation id).
    async fn visitor(&self, server: &Server, user: &str) -> (String, String, String) {
        let booted = self
            .client
            .post(format!("{}/widget/v1/boot", server.base))
            .json(&json!({
                "app_id": self.app_id,
                "user_id": user,
                "user_hash": user_hash(&self.secret, user),
                "email": format!("{user}@example.test"),
                "name": user,
            }))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
        let session = booted["session"].as_str().expect("a session").to_owned();
        let contact = booted["contact"]["id"].as_str().unwrap().to_owned();
        let started = self
            .call_as(
                server,
                &session,
                reqwest::Method::POST,
                "/widget/v1/conversations",
                Some(json!({"body": "hello?"})),
            )
            .await;
        let conversation = started["conversation"]["id"].as_str().unwrap().to_owned();
        (session, contact, conversation)
    }

    async fn reply(&self, server: &Server, conversation: &str, body: &str) {
        self.call(
            server,
            reqwest::Method::POST,
            &format!("/api/v1/conversations/{conversation}/reply"),
            Some(json!({"body": body})),
        )
        .await;
    }

    /// Whether `server` says the contact is online.
    async fn online(&self, server: &Server, contact: &str) -> bool {
        self.call(
            server,
            reqwest::Method::GET,
            &format!("/api/v1/contacts/{contact}"),
            None,
        )
        .await["online"]
            .as_bool()
            .unwrap()
    }

    /// The contact's timeline entries of `kind` as `server` reads them.
    async fn timeline(&self, server: &Server, contact: &str, kind: &str) -> Vec<Value> {
        self.call(
            server,
            reqwest::Method::GET,
            &format!("/api/v1/contacts/{contact}/timeline?kinds={kind}"),
            None,
        )
        .await["data"]
            .as_array()
            .unwrap()
            .clone()
    }
}

/// Opens a live socket at `path` on `server` and says `hello`: the socket
/// and the position it starts from.
async fn open_live(server: &Server, path: &str, hello: Value) -> (Socket, i64) {
    let (mut socket, _) = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async(server.ws(path)),
    )
    .await
    .expect("the socket opened in time")
    .unwrap();
    socket
        .send(Message::Text(hello.to_string().into()))
        .await
        .unwrap();
    let ready = next_within(&mut socket, Duration::from_secs(10))
        .await
        .expect("a ready frame");
    assert_eq!(ready["type"], "ready", "{ready}");
    let seq = ready["seq"].as_i64().unwrap();
    (socket, seq)
}

/// Opens the messenger's socket on `server` after `after`.
async fn widget(server: &Server, session: &str, after: Option<i64>) -> (Socket, i64) {
    let hello = json!({"type": "hello", "session": session, "after": after});
    open_live(server, "/widget/v1/live", hello).await
}

/// Opens an Inbox socket on `server` with an API token.
async fn inbox(server: &Server, token: &str) -> Socket {
    let hello = json!({"type": "hello", "token": token});
    open_live(server, "/api/v1/live", hello).await.0
}

/// The next message's body the widget receives within `wait`.
async fn next_message(socket: &mut Socket, wait: Duration) -> Option<(i64, String)> {
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        let frame = next_within(socket, left).await?;
        if frame["type"] == "activity" && frame["kind"] == "message" {
            return Some((
                frame["seq"].as_i64().unwrap(),
                frame["data"]["body"].as_str().unwrap().to_owned(),
            ));
        }
    }
}

/// Waits up to `wait` for an Inbox to be told that `agent` is `status`.
async fn told_agent_is(socket: &mut Socket, agent: &str, status: &str, wait: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let Ok(Some(Ok(Message::Text(text)))) =
            tokio::time::timeout_at(deadline, socket.next()).await
        else {
            return false;
        };
        let frame: Value = serde_json::from_str(&text).unwrap();
        if frame["type"] == "agent_presence"
            && frame["agent_id"] == agent
            && frame["status"] == status
        {
            return true;
        }
    }
}

/// Waits up to `wait` for `check` to hold.
async fn eventually<F, Fut>(wait: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database_share_live_delivery_presence_and_jobs() {
    let Some(db) = TestDatabase::create(Backend::Postgres).await else {
        return;
    };
    let printed = bootstrap_acme(&db.database);
    let workspace: WorkspaceId = serde_json::from_value(printed["workspace_id"].clone()).unwrap();
    let cluster = Cluster {
        // A request that hangs fails the test rather than stalling it.
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        token: printed["api_token"].as_str().unwrap().to_owned(),
        app_id: printed["app_id"].as_str().unwrap().to_owned(),
        secret: printed["identity_secret"].as_str().unwrap().to_owned(),
    };
    let sink = SmtpSink::start();
    // A runs the jobs; B only answers, so every job below runs on A.
    let a = Server::start(&db.database, &sink, true).await;
    let b = Server::start(&db.database, &sink, false).await;

    // A widget on A hears an agent who answers through B, live.
    let (ada_session, _, ada_chat) = cluster.visitor(&a, "ada").await;
    let (mut ada, _) = widget(&a, &ada_session, None).await;
    cluster.reply(&b, &ada_chat, "Answered from B").await;
    let (first_seq, body) = next_message(&mut ada, SOONER_THAN_A_POLL)
        .await
        .expect("the reply sent through B reached the widget on A live");
    assert_eq!(body, "Answered from B");

    // A contact with a widget open on B is online for A too, and a job run
    // on A does not email them; one with no widget open is emailed.
    let (grace_session, grace, grace_chat) = cluster.visitor(&b, "grace").await;
    let (_grace_widget, _) = widget(&b, &grace_session, None).await;
    let (_, linus, linus_chat) = cluster.visitor(&a, "linus").await;
    assert!(
        eventually(Duration::from_secs(10), || cluster.online(&a, &grace)).await,
        "A learns that Grace is online on B"
    );
    assert!(!cluster.online(&a, &linus).await);
    cluster.reply(&a, &grace_chat, "For Grace").await;
    cluster.reply(&a, &linus_chat, "For Linus").await;
    // Ada's, Grace's and Linus's conversations each wait to be emailed.
    assert_eq!(db.bring_jobs_due("email_fallback").await, 3);
    assert!(
        eventually(Duration::from_secs(20), || async {
            !cluster.timeline(&a, &grace, "not_emailed").await.is_empty()
                && sink.emails().len() == 1
        })
        .await,
        "the jobs ran: {:?} {:?}",
        cluster.timeline(&a, &grace, "not_emailed").await,
        sink.emails().len()
    );
    let skipped = cluster.timeline(&a, &grace, "not_emailed").await;
    assert_eq!(skipped[0]["data"]["reason"], "online", "{skipped:?}");
    let emails = sink.emails();
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].envelope_to, vec!["linus@example.test".to_owned()]);

    // With both running jobs, a bulk send started on A reaches every
    // contact once.
    let c = Server::start(&db.database, &sink, true).await;
    let people = 1_500_u64;
    import_people(&cluster.client, &a.base, &cluster.token, people).await;
    let created = cluster
        .call(
            &a,
            reqwest::Method::POST,
            "/api/v1/bulk-sends",
            Some(json!({
                "audience": {"filter": {"and": []}},
                "body": "Hi {{ user.name }}",
                "email_fallback": false
            })),
        )
        .await;
    // The people imported, and Ada, Grace and Linus.
    let everyone = people + 3;
    assert_eq!(created["total"], everyone, "{created}");
    let id: BulkSendId = serde_json::from_value(created["id"].clone()).unwrap();
    assert!(
        eventually(Duration::from_secs(120), || async {
            cluster
                .call(
                    &c,
                    reqwest::Method::GET,
                    &format!("/api/v1/bulk-sends/{id}"),
                    None,
                )
                .await["status"]
                == "done"
        })
        .await,
        "the bulk send finished"
    );
    let store = db.open().await;
    let done = store.bulk_send(workspace, id).await.unwrap();
    assert_eq!((done.sent, done.failed, done.pending), (everyone, 0, 0));
    let mut reached = 0;
    for contact in contact_ids(&cluster.client, &c.base, &cluster.token).await {
        let received = store
            .timeline(TimelineQuery {
                workspace_id: workspace,
                contact_id: contact,
                before_seq: None,
                kinds: vec!["bulk_send_received".into()],
                limit: 10,
            })
            .await
            .unwrap();
        assert!(received.len() <= 1, "{contact} got the bulk send twice");
        reached += received.len() as u64;
    }
    assert_eq!(reached, everyone);
    drop(store);

    // A member's Inbox is open on A only; the owner's, on B, is told when
    // A stops answering (paused: its sockets count as closed once it is
    // silent) that she is offline, and that she is online once A is back.
    let member = cluster
        .call(
            &b,
            reqwest::Method::POST,
            "/api/v1/agents",
            Some(json!({"email": "ada@acme.test", "name": "Ada", "role": "agent", "password": "long enough"})),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let member_token = cluster
        .call(
            &b,
            reqwest::Method::POST,
            "/api/v1/tokens",
            Some(json!({"name": "ada", "agent_id": member})),
        )
        .await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut owner_on_b = inbox(&b, &cluster.token).await;
    let _member_on_a = inbox(&a, &member_token).await;
    assert!(
        told_agent_is(&mut owner_on_b, &member, "online", Duration::from_secs(5)).await,
        "B's Inbox hears that the member came online on A"
    );
    let presence_on_b = || async {
        cluster
            .call(&b, reqwest::Method::GET, "/api/v1/agents", None)
            .await
            .as_array()
            .unwrap()
            .iter()
            .find(|agent| agent["id"] == member.as_str())
            .map(|agent| agent["presence"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert!(
        eventually(Duration::from_secs(5), || async {
            presence_on_b().await == "online"
        })
        .await,
        "B reads her socket on A from the shared presence"
    );
    a.signal("STOP");
    assert!(
        told_agent_is(&mut owner_on_b, &member, "offline", Duration::from_secs(15)).await,
        "B's Inbox is told the member went offline with A"
    );
    assert_eq!(presence_on_b().await, "offline");
    a.signal("CONT");
    assert!(
        told_agent_is(&mut owner_on_b, &member, "online", Duration::from_secs(10)).await,
        "B's Inbox is told she is back when A is"
    );

    // A dies: B keeps serving, and Ada's widget, reconnecting to B from
    // the last position it saw, gets what it missed, then what is new.
    a.kill();
    cluster.reply(&b, &ada_chat, "While you were away").await;
    let (mut ada, _) = widget(&b, &ada_session, Some(first_seq)).await;
    // The bulk send's message, then the reply: every message since the
    // last one it saw, in order, once.
    let mut replayed = Vec::new();
    let mut last_seq = first_seq;
    while replayed.len() < 2 {
        let (seq, body) = next_message(&mut ada, Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("missed messages replayed: {replayed:?}"));
        assert!(seq > last_seq, "in order, after {last_seq}: {seq}");
        last_seq = seq;
        replayed.push(body);
    }
    assert_eq!(replayed, ["Hi ada", "While you were away"]);
    cluster.reply(&c, &ada_chat, "Live again").await;
    let (_, live) = next_message(&mut ada, SOONER_THAN_A_POLL)
        .await
        .expect("a reply sent through C reached the widget now on B");
    assert_eq!(live, "Live again");

    assert!(b.stop());
    assert!(c.stop());
}
