//! The application state and the router: every route, its OpenAPI
//! description, and the layers around them.

use rapport_core::ports::knowledge::Knowledge;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use rapport_core::ports::bus::Bus;
use rapport_core::ports::clock::Clock;
use rapport_core::ports::store::Store;
use rapport_core::services::Deps;
use tokio::sync::watch;
use tower_http::timeout::{DeadlineBody, TimeoutBody};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::api;
use crate::client_addr::{ClientCounts, TrustedProxies};
use crate::config::Config;
use crate::credentials::PasswordHashing;
use crate::email::EmailService;
use crate::error::ApiError;
use crate::http_server::HttpLimits;
use crate::limits::{WidgetLimits, limit_widget};
use crate::live::{self, Hub, LocalBus};
use crate::openapi::{self, ApiDoc};
use crate::sign_in_limits::SignInLimits;

/// Everything a handler needs, passed explicitly.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// Attachments' bytes.
    pub files: crate::files::Files,
    /// The largest attachment taken.
    pub attachment_max_bytes: u64,
    /// The knowledge base's search (the help center, the bot).
    pub knowledge: Arc<dyn Knowledge>,
    /// Writes the bot's answers, when a language model is configured.
    pub writer: Option<Arc<dyn rapport_core::ports::writer::AnswerWriter>>,
    pub bus: Arc<dyn Bus>,
    pub clock: Arc<dyn Clock>,
    pub hub: Hub,
    pub widget_limits: Option<Arc<WidgetLimits>>,
    /// Whose `X-Forwarded-For` is believed (see `client_addr`).
    pub trusted_proxies: Arc<TrustedProxies>,
    pub json_body_limit: usize,
    /// The largest CSV a contact import reads.
    pub import_body_limit: usize,
    /// The largest raw email taken over HTTP (and SMTP).
    pub inbound_email_limit: usize,
    /// The HTTP listener's connection cap and read timeouts.
    pub http: HttpLimits,
    /// How long a new live socket may take to say hello.
    pub hello_timeout: Duration,
    /// Live sockets upgraded but not yet identified, per client, and the
    /// most one client may hold.
    pub unidentified_sockets: Arc<ClientCounts>,
    pub max_unidentified_sockets_per_ip: usize,
    pub email: Arc<EmailService>,
    /// Argon2 runs for requests, bounded.
    pub passwords: Arc<PasswordHashing>,
    pub sign_in_limits: Arc<SignInLimits>,
    /// Whether `serve` runs the job runner (`run_jobs`).
    pub run_jobs: bool,
    pub automation_limits: rapport_core::services::automations::Limits,
    /// Whether webhook steps may call private addresses (see
    /// `jobs::webhooks`).
    pub automation_webhooks_allow_private: bool,
    /// Rings when the activity log grows: the automations' dispatcher
    /// listens, to start runs without waiting for its next poll.
    pub log_grew: LocalBus,
    /// Rings when a bulk send is created: the bulk lane starts it without
    /// waiting for its next poll.
    pub bulk_created: Arc<tokio::sync::Notify>,
    /// Whether the job runner is running (for `/readyz`).
    pub jobs_running: Arc<std::sync::atomic::AtomicBool>,
    stop: Arc<watch::Sender<bool>>,
}

impl AppState {
    /// Wires the ports together and starts the live hub on `bus`. Fails
    /// on an unusable `smtp_url`.
    pub fn new(
        store: Arc<dyn Store>,
        bus: LocalBus,
        clock: Arc<dyn Clock>,
        config: &Config,
    ) -> anyhow::Result<Self> {
        let email = Arc::new(EmailService::from_config(config)?);
        let hub = Hub::start(store.clone(), clock.clone(), &bus, config.max_connections);
        let knowledge: Arc<dyn Knowledge> = Arc::new(rapport_kb::Library::new(
            store.clone(),
            crate::knowledge::load_model(config.embedding_model.as_deref()),
        ));
        let writer = crate::llm::ChatWriter::from_config(config)?
            .map(|w| Arc::new(w) as Arc<dyn rapport_core::ports::writer::AnswerWriter>);
        let files = crate::files::Files::from_config(config)?;
        Ok(Self {
            store,
            files,
            attachment_max_bytes: config.attachment_max_bytes,
            knowledge,
            writer,
            bus: Arc::new(bus.clone()),
            log_grew: bus,
            bulk_created: Arc::new(tokio::sync::Notify::new()),
            clock,
            hub,
            widget_limits: WidgetLimits::from_config(config),
            trusted_proxies: Arc::new(config.trusted_proxies.clone()),
            json_body_limit: config.json_body_limit,
            import_body_limit: config.import_body_limit,
            inbound_email_limit: config.inbound_email_limit,
            http: HttpLimits::from_config(config),
            hello_timeout: Duration::from_secs(config.live_hello_timeout_seconds.max(1)),
            unidentified_sockets: Arc::new(ClientCounts::default()),
            max_unidentified_sockets_per_ip: config.max_unauthenticated_sockets_per_ip.max(1),
            email,
            passwords: Arc::new(PasswordHashing::new(
                config.password_hash_concurrency,
                Duration::from_secs(config.password_hash_wait_secs),
            )),
            sign_in_limits: SignInLimits::from_config(config),
            run_jobs: config.run_jobs,
            automation_limits: crate::jobs::automation_limits(config.automation_overdue_minutes),
            automation_webhooks_allow_private: config.automation_webhooks_allow_private,
            jobs_running: Arc::default(),
            stop: Arc::new(watch::channel(false).0),
        })
    }

    /// Becomes `true` when the server starts stopping: long-lived
    /// connections say goodbye and end, and the job runner drains.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Tells long-lived connections to end.
    pub fn begin_shutdown(&self) {
        self.stop.send_replace(true);
    }

    /// The ports, as the domain's services take them.
    pub fn deps(&self) -> Deps<'_> {
        Deps {
            store: &*self.store,
            bus: &*self.bus,
            clock: &*self.clock,
        }
    }
}

/// The OpenAPI document of every route, generated from the handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    openapi::finish(
        OpenApiRouter::<AppState>::with_openapi(ApiDoc::openapi())
            .nest("/api/v1", api::routes())
            .nest("/widget/v1", api::widget_routes())
            .into_openapi(),
    )
}

pub fn router(state: AppState) -> Router {
    let (api, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", api::routes())
        .nest("/widget/v1", api::widget_routes())
        .split_for_parts();
    let doc = Arc::new(openapi::with_limits(
        openapi::finish(doc),
        state.attachment_max_bytes,
    ));
    let body_limit = state.json_body_limit;
    api.route(
        "/api/openapi.json",
        get(move || async move { axum::Json(doc.as_ref().clone()) }),
    )
    .route("/api/v1/live", get(live::socket::inbox_live))
    .route("/widget/v1/live", get(live::socket::widget_live))
    .route(
        "/files/{workspace}/{id}/{token}",
        get(api::attachments::emailed_file),
    )
    .merge(crate::web::routes())
    .merge(crate::help_center::routes())
    .merge(api::email::public_routes())
    .route("/healthz", get(healthz))
    .route("/readyz", get(readyz))
    .fallback(|| async { ApiError::NotFound("no such route".into()) })
    .layer(DefaultBodyLimit::max(body_limit))
    .layer(axum::middleware::from_fn_with_state(
        state.clone(),
        read_bodies_in_time,
    ))
    .layer(axum::middleware::from_fn_with_state(
        state.clone(),
        limit_widget,
    ))
    .layer(
        TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let route = request
                .extensions()
                .get::<MatchedPath>()
                .map_or("unmatched", MatchedPath::as_str);
            let id = request
                .extensions()
                .get::<RequestId>()
                .map_or("-", |id| id.0.as_str());
            tracing::info_span!("request", method = %request.method(), route, request_id = id)
        }),
    )
    .layer(crate::containment::catch_panics())
    // Outside the panic catcher, so a request that panicked is counted
    // (as the 500 it became) and its answer names its id.
    .layer(axum::middleware::from_fn(crate::metrics::track_http))
    .layer(axum::middleware::from_fn(request_ids))
    .with_state(state)
}

/// The id of a request: the caller's `X-Request-Id` when it is a plain
/// short one (a load balancer's), else a new UUIDv7.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

const X_REQUEST_ID: &str = "x-request-id";

/// Gives every request an id: in its log span, in the answer's
/// `X-Request-Id`, and in the jobs it enqueues (`rapport_core::request_id`),
/// whose log lines carry it too.
async fn request_ids(
    mut request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let id = request
        .headers()
        .get(X_REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| rapport_core::request_id::is_acceptable(id))
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned);
    request.extensions_mut().insert(RequestId(id.clone()));
    let mut response = rapport_core::request_id::scope(Some(id.clone()), next.run(request)).await;
    if let Ok(value) = axum::http::HeaderValue::from_str(&id) {
        response.headers_mut().insert(X_REQUEST_ID, value);
    }
    response
}

/// Bodies arrive in time (`http_body_timeout_seconds`): a whole body
/// within the timeout, except the contact import's, which is read only as
/// fast as its rows are stored and so may only pause that long between
/// parts. A late body fails its read, which handlers answer with 408.
/// After a 408 or 413 the rest of the body is not read, so the connection
/// closes, and says so first (clients then do not reuse it).
async fn read_bodies_in_time(
    State(state): State<AppState>,
    request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let timeout = state.http.body_timeout;
    let streamed = request
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|path| path.as_str() == api::import::IMPORT_PATH);
    let request = request.map(|body| {
        if streamed {
            Body::new(TimeoutBody::new(timeout, body))
        } else {
            Body::new(DeadlineBody::new(timeout, body))
        }
    });
    let mut response = next.run(request).await;
    if matches!(
        response.status(),
        StatusCode::REQUEST_TIMEOUT | StatusCode::PAYLOAD_TOO_LARGE
    ) {
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    response
}

/// 200 when the database answers, 503 when it does not.
async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(err) => {
            tracing::warn!(error = %err, "health check: the database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

/// Whether this server should get traffic: 200 when the database answers
/// (its migrations were applied when the server started) and the job
/// runner runs (or is off by configuration), else 503; the body says which.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let database = state.store.ping().await.is_ok();
    let jobs = if !state.run_jobs {
        "off"
    } else if state
        .jobs_running
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        "running"
    } else {
        "stopped"
    };
    let ready = database && jobs != "stopped";
    (
        if ready {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        axum::Json(serde_json::json!({
            "ready": ready,
            "database": if database { "ok" } else { "unreachable" },
            "migrations": "applied",
            "jobs": jobs,
        })),
    )
}
