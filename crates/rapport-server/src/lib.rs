//! The `rapport` server: configuration, the CLI, the HTTP API and (as they
//! arrive) the widget API, WebSocket hub and workers.
//!
//! Start reading at [`cli::main`] for start-up and [`app::router`] for the
//! routes; handlers live in [`api`], each a thin call into `rapport-core`.

pub mod api;
pub mod app;
pub mod bootstrap;
pub mod bulk;
pub mod cli;
pub mod client_addr;
pub mod config;
pub mod containment;
pub mod credentials;
pub mod email;
pub mod error;
pub mod extract;
pub mod http_server;
pub mod limits;
pub mod live;
pub mod openapi;
pub mod request_limits;
pub mod sign_in_limits;
pub mod telemetry;
pub mod views;
pub mod web;

use std::future::Future;

pub use app::AppState;

/// Serves the app on an already-bound listener until `shutdown` resolves,
/// within the connection cap and read timeouts of [`http_server`].
/// Stopping takes two steps: live sockets are told goodbye (1001) at once,
/// then the requests in flight finish. Tests bind port 0 and call this.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = app::router(state.clone());
    http_server::serve(listener, state, router, shutdown).await
}
