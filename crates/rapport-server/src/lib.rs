//! The `rapport` server: configuration, the CLI, the HTTP API, the widget
//! API, the WebSocket hub and the job runner.
//!
//! Start reading at [`cli::main`] for start-up and [`app::router`] for the
//! routes; handlers live in [`api`], each a thin call into `rapport-core`.

pub mod api;
pub mod app;
pub mod bootstrap;
pub mod cli;
pub mod client_addr;
pub mod config;
pub mod containment;
pub mod credentials;
pub mod email;
pub mod error;
pub mod extract;
pub mod files;
pub mod help_center;
pub mod http_server;
pub mod jobs;
pub mod knowledge;
pub mod limits;
pub mod live;
pub mod llm;
pub mod metrics;
pub mod openapi;
pub mod request_limits;
pub mod sign_in_limits;
pub mod telemetry;
pub mod views;
pub mod web;

use std::future::Future;

pub use app::AppState;

/// Serves the app on an already-bound listener until `shutdown` resolves,
/// within the connection cap and read timeouts of [`http_server`], and
/// runs due jobs meanwhile ([`jobs::Runner`], unless `run_jobs` is off).
/// Stopping takes two steps: live sockets are told goodbye (1001) and the
/// runner claims nothing more, at once; then this returns once the
/// requests and the jobs in flight have finished (a job not yet started is
/// put back, due, for the next start). Tests bind port 0 and call this.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let runner = state
        .run_jobs
        .then(|| tokio::spawn(jobs::Runner::new(state.clone()).run()));
    let router = app::router(state.clone());
    let served = http_server::serve(listener, state, router, shutdown).await;
    if let Some(runner) = runner
        && let Err(err) = runner.await
    {
        tracing::error!(error = %err, "the job runner ended abnormally");
    }
    served
}
