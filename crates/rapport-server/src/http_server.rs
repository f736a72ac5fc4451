//! The HTTP listener: accepts connections within a cap, serves each with
//! hyper (HTTP/1.1, WebSocket upgrades included) under a header read
//! timeout, and stops in two steps. Body read timeouts are a layer of the
//! router (`app::read_bodies_in_time`), since only a handler knows when it
//! reads.
//!
//! A slow client holds a connection for at most the header timeout before
//! it sends a request, and a request for at most the body timeout while it
//! sends the body; beyond `max_connections` open connections the listener
//! stops accepting, so new ones wait in the kernel's listen backlog (and
//! are served as others end) rather than being refused.

use std::convert::Infallible;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use crate::AppState;
use crate::config::Config;

/// The listener's bounds (the `max_http_connections` and `http_*` settings).
#[derive(Clone, Copy, Debug)]
pub struct HttpLimits {
    /// Open HTTP connections at most. A connection upgraded to a WebSocket
    /// leaves this count for the hub's (`max_connections`).
    pub max_connections: usize,
    /// The most a client may take to send a request's headers, and may
    /// keep a connection idle between requests.
    pub header_timeout: Duration,
    /// The most a client may take to send a body.
    pub body_timeout: Duration,
}

impl HttpLimits {
    pub fn from_config(config: &Config) -> Self {
        Self {
            max_connections: config.max_http_connections.max(1),
            header_timeout: Duration::from_secs(config.http_header_timeout_seconds.max(1)),
            body_timeout: Duration::from_secs(config.http_body_timeout_seconds.max(1)),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves; then live
/// sockets are told goodbye (`state.begin_shutdown`), connections stop
/// taking new requests, and this returns once the requests in flight have
/// been answered.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.http;
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    // Sent once to every connection when the server stops; closed once the
    // last connection has ended.
    let (stop, _) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        // Over the cap, stop accepting: the kernel keeps the rest waiting.
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = connections.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors, most likely: wait, not spin.
                    tracing::warn!(error = %err, "the HTTP listener could not accept");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let router = router.clone();
        // Handlers find the peer as axum's `ConnectInfo` (see `client_addr`).
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let mut request = request.map(Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            let router = router.clone();
            async move {
                Ok::<_, Infallible>(
                    tower::ServiceExt::oneshot(router, request)
                        .await
                        .unwrap_or_else(|never| match never {}),
                )
            }
        });
        let mut stopping = stop.subscribe();
        tokio::spawn(async move {
            let _permit = permit;
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout);
            let mut connection = pin!(
                builder
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades()
            );
            loop {
                tokio::select! {
                    ended = connection.as_mut() => {
                        if let Err(err) = ended {
                            tracing::debug!(error = %err, %peer, "HTTP connection ended");
                        }
                        break;
                    }
                    _ = stopping.changed() => connection.as_mut().graceful_shutdown(),
                }
            }
            drop(stopping);
        });
    }
    drop(listener);
    state.begin_shutdown();
    let _ = stop.send(());
    stop.closed().await;
    Ok(())
}
