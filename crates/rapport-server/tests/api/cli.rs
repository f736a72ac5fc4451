//! The `rapport` binary itself: bootstrap, migrate, serve, help.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use rapport_store::Database;
use rapport_store::both_backends;
use rapport_store::testing::{Backend, TestDatabase};

both_backends!(
    bootstrap_prints_the_workspace_and_refuses_a_second_for_the_same_email,
    migrate_then_serve_answers_health
);

fn rapport(db: &Database, args: &[&str]) -> Command {
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

fn run(db: &Database, args: &[&str]) -> Output {
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
