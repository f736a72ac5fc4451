//! What the server counts, for Prometheus: `GET /metrics` in the text
//! format, on a listener of its own (`metrics_listen`), never on the
//! public one, so that nobody outside reads it.
//!
//! Counters and histograms are recorded where things happen, through the
//! `metrics` facade (a no-op until [`recorder`] installs Prometheus's):
//! - `rapport_http_requests_total{method, route, status}` and
//!   `rapport_http_request_duration_seconds{method, route}` ([`track_http`]);
//! - `rapport_live_sockets{kind}` (widget, inbox; the hub's guards);
//! - `rapport_messages_total{source}` (team, bulk, automation, bot,
//!   visitor, email; the message services);
//! - `rapport_jobs_run_total{kind, outcome}` (the job runner);
//! - `rapport_emails_total{outcome}` (the email fallback);
//! - `rapport_sqlite_commit_writes` and `rapport_sqlite_commit_seconds`
//!   (the SQLite writer's group commits).
//!
//! Gauges read at each scrape: `rapport_jobs{kind, state}` (waiting, due,
//! failed), `rapport_job_oldest_due_seconds{kind}` (how late the oldest
//! due job is) and `rapport_db_pool_connections{state}` (open, idle, max).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::app::AppState;

/// Latency buckets, in seconds: 1 ms to 10 s.
const SECONDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Writes per group commit.
const WRITES: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder for this process (once; later calls
/// return the same handle).
pub fn recorder() -> anyhow::Result<PrometheusHandle> {
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS)?
        .set_buckets_for_metric(Matcher::Full("rapport_sqlite_commit_writes".into()), WRITES)?
        .install_recorder()?;
    Ok(HANDLE.get_or_init(|| handle).clone())
}

/// Counts each request by its route's template (never the raw path: ids
/// would make a series per contact), method and status, and times it.
pub async fn track_http(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    // Only the methods the API knows: anything else is one series.
    let method = match *request.method() {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    };
    let began = Instant::now();
    let response = next.run(request).await;
    metrics::counter!(
        "rapport_http_requests_total",
        "method" => method,
        "route" => route.clone(),
        "status" => response.status().as_u16().to_string()
    )
    .increment(1);
    metrics::histogram!(
        "rapport_http_request_duration_seconds",
        "method" => method,
        "route" => route
    )
    .record(began.elapsed().as_secs_f64());
    response
}

/// Serves `/metrics` on `listener` until the server stops.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    handle: PrometheusHandle,
) -> std::io::Result<()> {
    // Histograms' old samples are dropped by upkeep, which the exporter's
    // own HTTP listener would run; this one runs it.
    let upkeep = {
        let handle = handle.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(10));
            loop {
                every.tick().await;
                handle.run_upkeep();
            }
        })
    };
    let mut stopping = state.stopping();
    let router = Router::new()
        .route("/metrics", get(render))
        .with_state((state, handle));
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            let _ = stopping.wait_for(|stopping| *stopping).await;
        })
        .await;
    upkeep.abort();
    served
}

async fn render(State((state, handle)): State<(AppState, PrometheusHandle)>) -> Response {
    let now = state.clock.now();
    match state.store.job_counts(now).await {
        Ok(mut counts) => {
            // A kind with no job left reads 0, not its last value.
            for kind in rapport_core::model::job::Job::KINDS {
                if !counts.iter().any(|count| count.kind == kind) {
                    counts.push(rapport_core::ports::store::JobCount {
                        kind: kind.to_owned(),
                        waiting: 0,
                        due: 0,
                        failed: 0,
                        oldest_due_at: None,
                    });
                }
            }
            for count in counts {
                for (name, value) in [
                    ("waiting", count.waiting),
                    ("due", count.due),
                    ("failed", count.failed),
                ] {
                    metrics::gauge!("rapport_jobs", "kind" => count.kind.clone(), "state" => name)
                        .set(value as f64);
                }
                let late = count
                    .oldest_due_at
                    .map_or(0, |due| (now.as_millis() - due.as_millis()).max(0));
                metrics::gauge!("rapport_job_oldest_due_seconds", "kind" => count.kind)
                    .set(late as f64 / 1000.0);
            }
        }
        Err(err) => tracing::warn!(error = %err, "metrics: the jobs could not be counted"),
    }
    let pool = state.store.pool_use();
    for (name, value) in [("open", pool.open), ("idle", pool.idle), ("max", pool.max)] {
        metrics::gauge!("rapport_db_pool_connections", "state" => name).set(f64::from(value));
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response()
}
