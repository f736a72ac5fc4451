//! `TestApp`: a server on port 0 with a fresh database and a bootstrapped
//! workspace, plus a client that speaks to it.
//!
//! The server runs no job runner: a test runs due jobs when it wants
//! (`run_jobs`), and fails if it ends with due jobs left unprocessed,
//! unless it says that is its point (`allow_pending_jobs`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rapport_core::ports::clock::{Clock, SystemClock};
use rapport_core::ports::store::Store;
use rapport_server::bootstrap::{BootstrapRequest, Bootstrapped, bootstrap_workspace};
use rapport_server::config::Config;
use rapport_server::jobs::{Round, Runner};
use rapport_server::live::LocalBus;
use rapport_server::{AppState, serve};
use rapport_store::testing::{Backend, TestDatabase};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// `hex(HMAC-SHA256(secret, subject))`: the `user_hash` a business's server
/// computes for a `user_id` (or an email).
pub fn user_hash(secret: &str, subject: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(subject.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    /// The bootstrapped workspace, its owner and the owner's token.
    pub owner: Bootstrapped,
    pub store: Arc<dyn Store>,
    pub bus: LocalBus,
    /// The running server's state, for driving its workers in tests.
    pub state: AppState,
    pending_jobs_allowed: AtomicBool,
    _shutdown: oneshot::Sender<()>,
    pub db: TestDatabase,
    /// The data directory (attachments' files), removed with the app.
    pub data_dir: tempfile::TempDir,
}

/// A response: status, headers and parsed JSON body (`Null` if none).
pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The `field`s of a problem+json's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        assert_eq!(
            self.content_type, "application/problem+json",
            "{:?}",
            self.body
        );
        self.body["errors"]
            .as_array()
            .map_or_else(Vec::new, |errors| {
                errors
                    .iter()
                    .map(|e| e["field"].as_str().unwrap().to_owned())
                    .collect()
            })
    }

    pub fn id(&self) -> String {
        self.body["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no id in {}", self.body))
            .to_owned()
    }
}

impl TestApp {
    /// `None` when the backend is unavailable here (see `TestDatabase`).
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::start(backend, true, Arc::new(SystemClock), Config::default()).await
    }

    /// A fresh install: no workspace yet (`owner` is a placeholder).
    pub async fn spawn_empty(backend: Backend) -> Option<TestApp> {
        Self::start(backend, false, Arc::new(SystemClock), Config::default()).await
    }

    /// A bootstrapped workspace on a server with this clock and config.
    pub async fn spawn_with(
        backend: Backend,
        clock: Arc<dyn Clock>,
        config: Config,
    ) -> Option<TestApp> {
        Self::start(backend, true, clock, config).await
    }

    async fn start(
        backend: Backend,
        bootstrap: bool,
        clock: Arc<dyn Clock>,
        config: Config,
    ) -> Option<TestApp> {
        let db = TestDatabase::create(backend).await?;
        let store = db.open().await;
        let bus = LocalBus::default();
        let data_dir = tempfile::tempdir().unwrap();
        let config = Config {
            run_jobs: false,
            data_dir: data_dir.path().to_owned(),
            ..config
        };
        let state = AppState::new(store.clone(), bus.clone(), clock, &config).unwrap();
        let request = BootstrapRequest {
            workspace: "Acme".into(),
            email: "owner@acme.test".into(),
            password: "correct horse".into(),
            name: Some("Grace Hopper".into()),
        };
        let owner = if bootstrap {
            bootstrap_workspace(&*store, &SystemClock, request)
                .await
                .unwrap()
        } else {
            Bootstrapped {
                workspace_id: rapport_core::model::ids::WorkspaceId::generate(),
                app_id: String::new(),
                api_token: String::new(),
                identity_secret: String::new(),
                owner_id: rapport_core::model::ids::AgentId::generate(),
                owner_email: String::new(),
            }
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, stop) = oneshot::channel::<()>();
        tokio::spawn(serve(listener, state.clone(), async {
            let _ = stop.await;
        }));
        Some(TestApp {
            base,
            client: reqwest::Client::new(),
            owner,
            store,
            bus,
            state,
            pending_jobs_allowed: AtomicBool::new(false),
            _shutdown: shutdown,
            db,
            data_dir,
        })
    }

    /// Runs one round of the jobs due now, as the server's runner does.
    /// The configuration of another server beside this one (same files).
    pub fn config(&self) -> Config {
        Config {
            data_dir: self.data_dir.path().to_owned(),
            ..Config::default()
        }
    }

    pub async fn run_jobs(&self) -> Round {
        Runner::new(self.state.clone()).run_due().await.unwrap()
    }

    /// This test may end with due jobs left (not running them is its point).
    pub fn allow_pending_jobs(&self) {
        self.pending_jobs_allowed.store(true, Ordering::Relaxed);
    }

    /// A new member with the role `agent` (named Ada) and an API token of
    /// theirs: the token.
    pub async fn agent_token(&self, email: &str) -> String {
        let agent = self
            .post("/api/v1/agents", serde_json::json!({"email": email, "name": "Ada", "role": "agent", "password": "long enough"}))
            .await
            .id();
        self.post(
            "/api/v1/tokens",
            serde_json::json!({"name": email, "agent_id": agent}),
        )
        .await
        .body["secret"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Another workspace on the same server, for isolation tests.
    pub async fn other_workspace(&self) -> Bootstrapped {
        bootstrap_workspace(
            &*self.store,
            &SystemClock,
            BootstrapRequest {
                workspace: "Other".into(),
                email: "owner@other.test".into(),
                password: "correct horse".into(),
                name: None,
            },
        )
        .await
        .unwrap()
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        into_reply(request.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.request(Method::GET, path, Some(&self.owner.api_token), None)
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.request(Method::POST, path, Some(&self.owner.api_token), Some(body))
            .await
    }

    /// Sends raw bytes with a content type, for malformed-input tests.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Reply {
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.owner.api_token)
            .header("content-type", content_type)
            .body(body);
        into_reply(request.send().await.unwrap()).await
    }

    /// Creates a contact and returns its id.
    pub async fn contact(&self, body: Value) -> String {
        let reply = self.post("/api/v1/contacts", body).await;
        assert!(reply.status.is_success(), "{}", reply.body);
        reply.id()
    }

    /// Sends a chat message to a contact and returns the 201 reply.
    pub async fn message(&self, contact_id: &str, body: &str) -> Reply {
        let reply = self
            .post(
                "/api/v1/messages",
                json!({"contact_id": contact_id, "body": body}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply
    }

    pub async fn timeline(&self, contact_id: &str) -> Vec<Value> {
        let reply = self
            .get(&format!("/api/v1/contacts/{contact_id}/timeline?limit=100"))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body["data"].as_array().unwrap().clone()
    }
}

/// A test that leaves due jobs unprocessed fails: they are work a server
/// would do that the test never looked at.
impl Drop for TestApp {
    fn drop(&mut self) {
        if std::thread::panicking() || self.pending_jobs_allowed.load(Ordering::Relaxed) {
            return;
        }
        let (store, now) = (self.store.clone(), self.state.clock.now());
        // Tests run on a multi-threaded runtime (`both_backends!`).
        let due = tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(store.due_jobs(now, 10))
        })
        .expect("the due jobs can be read");
        assert!(
            due.is_empty(),
            "the test left due jobs unprocessed (run them with `run_jobs`, or call \
             `allow_pending_jobs` if that is the point): {:?}",
            due.iter().map(|j| (&j.kind, &j.job)).collect::<Vec<_>>()
        );
    }
}

async fn into_reply(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = response.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        content_type,
        headers,
        body,
    }
}
