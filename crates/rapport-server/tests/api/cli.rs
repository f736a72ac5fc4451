//! The `rapport` binary itself: bootstrap, migrate, serve, help.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use rapport_core::model::ids::{BulkSendId, ContactId, WorkspaceId};
use rapport_core::ports::store::TimelineQuery;
use rapport_store::Database;
use rapport_store::both_backends;
use rapport_store::testing::{Backend, TestDatabase};

both_backends!(
    bootstrap_prints_the_workspace_and_refuses_a_second_for_the_same_email,
    migrate_then_serve_answers_health,
    kill_9_during_automation_waits_loses_no_run_and_doubles_no_message
);

/// A `rapport serve` on `db` at a free port, once it answers; and its base URL.
async fn serve(db: &Database) -> (std::process::Child, String) {
    serve_with(db, &[], Stdio::null()).await
}

/// The same with more settings (`RAPPORT_*` variables), its standard error
/// going to `stderr`.
pub(crate) async fn serve_with(
    db: &Database,
    settings: &[(&str, String)],
    stderr: impl Into<Stdio>,
) -> (std::process::Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = rapport(db, &["serve"])
        .env("RAPPORT_LISTEN", format!("127.0.0.1:{port}"))
        .envs(settings.iter().map(|(key, value)| (key, value)))
        .stderr(stderr)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if reqwest::get(format!("{base}/healthz")).await.is_ok() {
            return (server, base);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = terminate(server);
    panic!("rapport serve did not answer ({status:?})");
}

/// SIGTERM, then the exit status.
pub(crate) fn terminate(mut server: std::process::Child) -> std::process::ExitStatus {
    Command::new("kill")
        .arg(server.id().to_string())
        .status()
        .unwrap();
    server.wait().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_bulk_send_drains_and_a_restart_finishes_it_once() {
    let db = TestDatabase::create(Backend::Sqlite).await.unwrap();
    let printed = bootstrap_acme(&db.database);
    let token = printed["api_token"].as_str().unwrap().to_owned();
    let workspace: WorkspaceId = serde_json::from_value(printed["workspace_id"].clone()).unwrap();
    let client = reqwest::Client::new();

    let (server, base) = serve(&db.database).await;
    let people = 4_000_u64;
    import_people(&client, &base, &token, people).await;
    let created: serde_json::Value = client
        .post(format!("{base}/api/v1/bulk-sends"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"audience": {"filter": {"and": []}}, "body": "Hi {{ user.name }}", "email_fallback": false}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created["total"], people, "{created}");
    let id: BulkSendId = serde_json::from_value(created["id"].clone()).unwrap();
    let progress = |base: String| {
        let (client, token) = (client.clone(), token.clone());
        async move {
            let send: serde_json::Value = client
                .get(format!("{base}/api/v1/bulk-sends/{id}"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            (
                send["status"].as_str().unwrap().to_owned(),
                send["sent"].as_u64().unwrap(),
            )
        }
    };
    // Stopped mid-send: the process drains its runner and exits cleanly.
    while progress(base.clone()).await.1 == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let status = terminate(server);
    assert!(status.success(), "{status:?}");
    let store = db.open().await;
    let stopped = store.bulk_send(workspace, id).await.unwrap();
    assert!(
        stopped.sent > 0 && stopped.sent < people,
        "stopped at {} of {people}",
        stopped.sent
    );
    drop(store);

    // Restarted on the same data: it resumes at once and finishes.
    let (server, base) = serve(&db.database).await;
    let mut finished = false;
    for _ in 0..1_200 {
        if progress(base.clone()).await.0 == "done" {
            finished = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let contacts = contact_ids(&client, &base, &token).await;
    let status = terminate(server);
    assert!(finished, "the send did not finish after the restart");
    assert!(status.success(), "{status:?}");

    // Every contact got the message exactly once.
    let store = db.open().await;
    let done = store.bulk_send(workspace, id).await.unwrap();
    assert_eq!((done.sent, done.failed, done.pending), (people, 0, 0));
    assert_eq!(contacts.len() as u64, people);
    for contact in contacts {
        for kind in ["message", "bulk_send_received"] {
            let entries = store
                .timeline(TimelineQuery {
                    workspace_id: workspace,
                    contact_id: contact,
                    before_seq: None,
                    kinds: vec![kind.into()],
                    limit: 10,
                })
                .await
                .unwrap();
            assert_eq!(entries.len(), 1, "{contact}: {kind} {entries:?}");
        }
    }
}

/// Imports `people` contacts (`u0`, `Person 0`, ...) by CSV.
pub(crate) async fn import_people(client: &reqwest::Client, base: &str, token: &str, people: u64) {
    let mut csv = String::from("user_id,name\n");
    for i in 0..people {
        csv.push_str(&format!("u{i},Person {i}\n"));
    }
    let imported = client
        .post(format!("{base}/api/v1/contacts/import"))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(imported.status(), reqwest::StatusCode::OK);
    imported.text().await.unwrap();
}

/// Every contact's id, page by page.
pub(crate) async fn contact_ids(
    client: &reqwest::Client,
    base: &str,
    token: &str,
) -> Vec<ContactId> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut body = serde_json::json!({"filter": {"and": []}, "limit": 100});
        if let Some(cursor) = &cursor {
            body["cursor"] = serde_json::json!(cursor);
        }
        let page: serde_json::Value = client
            .post(format!("{base}/api/v1/contacts/search"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for contact in page["data"].as_array().unwrap() {
            ids.push(serde_json::from_value(contact["id"].clone()).unwrap());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return ids,
        }
    }
}

pub(crate) fn rapport(db: &Database, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rapport"));
    command
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("RAPPORT_CONFIG")
        .stdin(Stdio::null());
    match db {
        Database::Sqlite { path } => command.env("RAPPORT_DATA_DIR", path.parent().unwrap()),
        Database::Postgres { url, .. } => command.env("DATABASE_URL", url),
    };
    command
}

/// `rapport admin bootstrap` of workspace Acme: its owner's API token.
pub(crate) fn acme_token(db: &Database) -> String {
    bootstrap_acme(db)["api_token"].as_str().unwrap().to_owned()
}

/// `rapport admin bootstrap` of workspace Acme: what it printed.
pub(crate) fn bootstrap_acme(db: &Database) -> serde_json::Value {
    let printed = run(
        db,
        &[
            "admin",
            "bootstrap",
            "--workspace",
            "Acme",
            "--email",
            "owner@acme.test",
            "--password",
            "correct horse",
        ],
    );
    assert!(
        printed.status.success(),
        "{}",
        String::from_utf8_lossy(&printed.stderr)
    );
    serde_json::from_slice(&printed.stdout).unwrap()
}

pub(crate) fn run(db: &Database, args: &[&str]) -> Output {
    rapport(db, args).output().unwrap()
}

async fn bootstrap_prints_the_workspace_and_refuses_a_second_for_the_same_email(backend: Backend) {
    let Some(db) = TestDatabase::create(backend).await else {
        return;
    };
    let args = [
        "admin",
        "bootstrap",
        "--workspace",
        "Acme",
        "--email",
        "owner@acme.test",
        "--password",
        "correct horse",
    ];
    let first = run(&db.database, &args);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    for key in ["workspace_id", "app_id", "api_token", "identity_secret"] {
        assert!(
            printed[key].as_str().is_some_and(|v| !v.is_empty()),
            "{key} missing in {printed}"
        );
    }
    let again = run(&db.database, &args);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already owns a workspace"));
    let weak = run(
        &db.database,
        &[
            "admin",
            "bootstrap",
            "--workspace",
            "B",
            "--email",
            "b@b.test",
            "--password",
            "short",
        ],
    );
    assert_eq!(weak.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&weak.stderr).contains("--password"));
    // The printed token works against a server on that database.
    let store = db.open().await;
    let token = printed["api_token"].as_str().unwrap();
    let principal = store
        .authenticate_token(rapport_server::credentials::hash_token(token))
        .await
        .unwrap();
    assert_eq!(
        principal.workspace_id.to_string(),
        printed["workspace_id"].as_str().unwrap()
    );
}

async fn migrate_then_serve_answers_health(backend: Backend) {
    let Some(db) = TestDatabase::create(backend).await else {
        return;
    };
    let migrated = run(&db.database, &["migrate"]);
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = rapport(&db.database, &["serve"])
        .env("RAPPORT_LISTEN", format!("127.0.0.1:{port}"))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let mut healthy = false;
    for _ in 0..100 {
        if let Ok(reply) = client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
        {
            healthy = reply.status() == reqwest::StatusCode::OK;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // SIGTERM: a clean shutdown exits 0.
    Command::new("kill")
        .arg(server.id().to_string())
        .status()
        .unwrap();
    let status = server.wait().unwrap();
    assert!(healthy, "the server did not answer /healthz");
    assert!(status.success(), "{status:?}");
}

#[test]
fn help_explains_every_subcommand() {
    let output = Command::new(env!("CARGO_BIN_EXE_rapport"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    for subcommand in ["serve", "migrate", "admin"] {
        assert!(
            help.contains(subcommand),
            "{subcommand} missing from:\n{help}"
        );
    }
    let admin = Command::new(env!("CARGO_BIN_EXE_rapport"))
        .args(["admin", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&admin.stdout).contains("bootstrap"));
}

/// `kill -9`, then the exit status.
pub(crate) fn kill_hard(mut server: std::process::Child) -> std::process::ExitStatus {
    server.kill().unwrap();
    server.wait().unwrap()
}

/// The bodies of the contact's messages, oldest first.
async fn bodies(client: &reqwest::Client, base: &str, token: &str, contact: &str) -> Vec<String> {
    let page: serde_json::Value = client
        .get(format!(
            "{base}/api/v1/contacts/{contact}/timeline?kinds=message&limit=100"
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut found: Vec<String> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["data"]["body"].as_str().unwrap().to_owned())
        .collect();
    found.reverse();
    found
}

async fn kill_9_during_automation_waits_loses_no_run_and_doubles_no_message(backend: Backend) {
    let Some(db) = TestDatabase::create(backend).await else {
        return;
    };
    let token = acme_token(&db.database);
    let client = reqwest::Client::new();
    let (server, base) = serve(&db.database).await;
    let post = |path: String, body: serde_json::Value| {
        let request = client
            .post(format!("{base}{path}"))
            .bearer_auth(&token)
            .json(&body);
        async move {
            let reply = request.send().await.unwrap();
            assert!(reply.status().is_success(), "{}", reply.status());
            reply.json::<serde_json::Value>().await.unwrap()
        }
    };
    let created = post(
        "/api/v1/automations".into(),
        serde_json::json!({"name": "Three", "draft": {
            "trigger": {"type": "manual"},
            "frequency": {"type": "every_time"},
            "flow": {"start": "a", "nodes": [
                {"id": "a", "type": "send_message", "from": "bot", "body": "First", "exits": {"next": "w1"}},
                {"id": "w1", "type": "wait", "seconds": 3, "exits": {"next": "b"}},
                {"id": "b", "type": "send_message", "from": "bot", "body": "Second", "exits": {"next": "w2"}},
                {"id": "w2", "type": "wait", "seconds": 2, "exits": {"next": "c"}},
                {"id": "c", "type": "send_message", "from": "bot", "body": "Third"}
            ]}
        }}),
    )
    .await;
    let automation = created["id"].as_str().unwrap().to_owned();
    post(
        format!("/api/v1/automations/{automation}/publish"),
        serde_json::json!({}),
    )
    .await;
    let mut contacts = Vec::new();
    for i in 0..20 {
        let contact = post(
            "/api/v1/contacts".into(),
            serde_json::json!({"user_id": format!("u{i}")}),
        )
        .await;
        let id = contact["id"].as_str().unwrap().to_owned();
        post(
            format!("/api/v1/automations/{automation}/runs"),
            serde_json::json!({"contact_id": id}),
        )
        .await;
        contacts.push(id);
    }
    // Every run has sent its first message and waits: kill -9.
    for _ in 0..100 {
        let mut all = true;
        for contact in &contacts {
            all &= !bodies(&client, &base, &token, contact).await.is_empty();
        }
        if all {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = kill_hard(server);
    assert!(!status.success());
    // Restarted, the runs go on from where they were: at once for those
    // waiting, within a claim (a minute) for any whose job the dead
    // process held.
    let (server, base) = serve(&db.database).await;
    let mut finished = Vec::new();
    for _ in 0..450 {
        finished.clear();
        for contact in &contacts {
            finished.push(bodies(&client, &base, &token, contact).await);
        }
        if finished.iter().all(|b| b.len() >= 3) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    terminate(server);
    for said in finished {
        assert_eq!(said, ["First", "Second", "Third"]);
    }
}
