//! Rate limits on the widget's endpoints, which anyone on the internet can
//! call: per client IP for everything under `/widget/v1`, tighter for
//! `boot` (each may create a lead), and per visitor session. Over a limit
//! is a 429 problem with `Retry-After`. Clients are counted by
//! `client_addr::rate_key` (IPv6 by /64), behind a trusted reverse proxy by
//! the address it forwards.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderValue;
use axum::http::header::{AUTHORIZATION, RETRY_AFTER};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::AppState;
use crate::client_addr::{client_ip, rate_key};
use crate::config::Config;
use crate::credentials::hash_token;
use crate::error::ApiError;

/// Requests per second one visitor session may make, and its burst.
const VISITOR_RATE: NonZeroU32 = NonZeroU32::new(10).unwrap();
const VISITOR_BURST: NonZeroU32 = NonZeroU32::new(30).unwrap();

pub struct WidgetLimits {
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    boots_per_ip: DefaultKeyedRateLimiter<IpAddr>,
    per_visitor: DefaultKeyedRateLimiter<[u8; 32]>,
}

impl WidgetLimits {
    /// The limits the configuration asks for; `None` when they are off
    /// (`widget_requests_per_second_per_ip = 0`).
    pub fn from_config(config: &Config) -> Option<Arc<Self>> {
        let per_second = NonZeroU32::new(config.widget_requests_per_second_per_ip)?;
        let boots =
            NonZeroU32::new(config.widget_boots_per_minute_per_ip).unwrap_or(NonZeroU32::MAX);
        let limits = Arc::new(Self {
            // Twice the rate as a burst: a page load fires a few at once.
            per_ip: DefaultKeyedRateLimiter::keyed(Quota::per_second(per_second).allow_burst(
                per_second.saturating_mul(NonZeroU32::new(2).unwrap_or(NonZeroU32::MIN)),
            )),
            boots_per_ip: DefaultKeyedRateLimiter::keyed(Quota::per_minute(boots)),
            per_visitor: DefaultKeyedRateLimiter::keyed(
                Quota::per_second(VISITOR_RATE).allow_burst(VISITOR_BURST),
            ),
        });
        forget_idle_keys(Arc::downgrade(&limits));
        Some(limits)
    }
}

/// Drops the state of keys that have been quiet, so memory stays bounded.
fn forget_idle_keys(limits: Weak<WidgetLimits>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            every.tick().await;
            let Some(limits) = limits.upgrade() else {
                return;
            };
            limits.per_ip.retain_recent();
            limits.boots_per_ip.retain_recent();
            limits.per_visitor.retain_recent();
        }
    });
}

/// Middleware: applies the widget limits to `/widget/v1/*`.
pub async fn limit_widget(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(limits) = state.widget_limits.as_ref() else {
        return next.run(request).await;
    };
    let path = request.uri().path();
    if !path.starts_with("/widget/v1/") {
        return next.run(request).await;
    }
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| {
            rate_key(client_ip(
                request.headers(),
                info.0.ip(),
                &state.trusted_proxies,
            ))
        });
    let over = ip.is_some_and(|ip| {
        limits.per_ip.check_key(&ip).is_err()
            || (path == "/widget/v1/boot" && limits.boots_per_ip.check_key(&ip).is_err())
    }) || request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .is_some_and(|(_, token)| {
            limits
                .per_visitor
                .check_key(&hash_token(token.trim()))
                .is_err()
        });
    if over {
        let mut response = ApiError::TooManyRequests.into_response();
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    }
    next.run(request).await
}
