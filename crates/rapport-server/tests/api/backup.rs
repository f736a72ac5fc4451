//! `rapport admin backup` while the server writes, and `rapport admin
//! restore` into an empty data directory.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rapport_store::Database;
use rapport_store::testing::{Backend, TestDatabase, sqlite_message_bodies};
use serde_json::{Value, json};

use crate::cli::{acme_token, import_people, run, serve_with, terminate};

/// Writers sending messages at once during the backup.
const WRITERS: usize = 4;

/// POSTs `body` as JSON with the token: the reply's JSON.
async fn post(client: &reqwest::Client, url: &str, token: &str, body: Value) -> Value {
    client
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_write_load_restores_every_acknowledged_message() {
    let db = TestDatabase::create(Backend::Sqlite).await.unwrap();
    let token = acme_token(&db.database);
    let client = reqwest::Client::new();
    let (server, base) = serve_with(&db.database, &[], std::process::Stdio::null()).await;
    // Enough rows that the copy takes a while.
    import_people(&client, &base, &token, 5_000).await;
    let mut contacts = Vec::new();
    for i in 0..WRITERS {
        let created = post(
            &client,
            &format!("{base}/api/v1/contacts"),
            &token,
            json!({"user_id": format!("writer-{i}")}),
        )
        .await;
        contacts.push(created["id"].as_str().unwrap().to_owned());
    }

    // Writers send until told to stop, noting when each message was
    // acknowledged (201).
    let acknowledged: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = contacts
        .into_iter()
        .enumerate()
        .map(|(w, contact)| {
            let (client, base, token) = (client.clone(), base.clone(), token.clone());
            let (acknowledged, stop) = (acknowledged.clone(), stop.clone());
            tokio::spawn(async move {
                for n in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let body = format!("w{w}-{n}");
                    let sent = client
                        .post(format!("{base}/api/v1/messages"))
                        .bearer_auth(&token)
                        .json(
                            &json!({"contact_id": contact, "body": body, "email_fallback": false}),
                        )
                        .send()
                        .await
                        .unwrap();
                    if sent.status() == reqwest::StatusCode::CREATED {
                        acknowledged.lock().unwrap().push((body, Instant::now()));
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;

    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("acme.backup");
    let began = Instant::now();
    let output = {
        let (database, backup) = (db.database.clone(), backup.clone());
        tokio::task::spawn_blocking(move || {
            run(&database, &["admin", "backup", backup.to_str().unwrap()])
        })
        .await
        .unwrap()
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.await.unwrap();
    }
    assert!(terminate(server).success());
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["workspaces"], 1, "{summary}");
    assert_eq!(summary["contacts"], 5_000 + WRITERS, "{summary}");

    let acknowledged = acknowledged.lock().unwrap().clone();
    let before: Vec<&str> = acknowledged
        .iter()
        .filter(|(_, at)| *at < began)
        .map(|(body, _)| body.as_str())
        .collect();
    let after = acknowledged.len() - before.len();
    assert!(
        !before.is_empty() && after > 0,
        "{} before, {after} after",
        before.len()
    );

    // A backup never overwrites.
    let again = run(&db.database, &["admin", "backup", backup.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2));

    // Restored into an empty data directory: every message acknowledged
    // before the backup began is there.
    let restored = Database::Sqlite {
        path: dir.path().join("restored").join("rapport.db"),
    };
    let output = run(&restored, &["admin", "restore", backup.to_str().unwrap()]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let Database::Sqlite { path } = &restored else {
        unreachable!()
    };
    let bodies: HashSet<String> = sqlite_message_bodies(path).await.into_iter().collect();
    let missing: Vec<&&str> = before.iter().filter(|b| !bodies.contains(**b)).collect();
    assert!(missing.is_empty(), "{} lost: {missing:?}", missing.len());
    assert_eq!(
        summary["messages"].as_u64().unwrap(),
        bodies.len() as u64,
        "the summary counts what the copy holds"
    );
    // Not into a data directory that has a database.
    let refused = run(&restored, &["admin", "restore", backup.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2));

    // And a server runs on it.
    let (server, base) = serve_with(&restored, &[], std::process::Stdio::null()).await;
    let page = post(
        &client,
        &format!("{base}/api/v1/contacts/search"),
        &token,
        json!({"filter": {"and": []}, "limit": 1}),
    )
    .await;
    assert_eq!(page["count"], 5_000 + WRITERS, "{page}");
    assert!(terminate(server).success());
}

#[tokio::test]
async fn backup_and_restore_refuse_postgresql_and_files_that_are_not_rapport() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database at all").unwrap();
    let restored = Database::Sqlite {
        path: dir.path().join("empty").join("rapport.db"),
    };
    let refused = run(&restored, &["admin", "restore", junk.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(!dir.path().join("empty").join("rapport.db").exists());
    let postgres = Database::Postgres {
        url: "postgres://nobody@127.0.0.1:1/none".into(),
        max_connections: 1,
    };
    let refused = run(&postgres, &["admin", "backup", junk.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("pg_dump"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}
