//! The browser apps' files: the Inbox at `/`, the widget loader at
//! `/widget.js`, one app's messenger page at `/messenger?app_id=..`, the
//! demo page with an app's widget on it at `/try?app_id=..`, and
//! their modules under `/assets/{inbox,widget,shared}/`. Release builds embed `web/`; debug
//! builds read it from disk at each request, so a reload shows an edit.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rapport_core::ports::store::StoreError;
use rust_embed::RustEmbed;
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;

#[derive(RustEmbed)]
#[folder = "../../web/"]
#[exclude = "*.test.mjs"]
#[exclude = "*/demo.html"]
struct Files;

/// The folders under `web/` that are served.
const APPS: [&str; 3] = ["inbox", "widget", "shared"];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(inbox))
        .route("/widget.js", get(loader))
        .route("/messenger", get(messenger))
        .route("/try", get(try_page))
        .route("/assets/{app}/{*path}", get(asset))
}

/// The Inbox may not be framed, and runs only its own scripts.
const INBOX_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

async fn inbox() -> Response {
    file("inbox/index.html", Some(INBOX_POLICY.to_owned()))
}

async fn loader() -> Response {
    file("widget/loader.js", None)
}

#[derive(Deserialize)]
struct MessengerQuery {
    app_id: Option<String>,
}

/// The messenger page of one app, framable only by its workspace's allowed
/// origins (any origin when it has none). Without a known `app_id` there is
/// nothing to serve: a bare messenger could be framed anywhere and then
/// booted into any workspace, bypassing `allowed_origins`.
async fn messenger(State(state): State<AppState>, Query(query): Query<MessengerQuery>) -> Response {
    let Some(app_id) = query.app_id.filter(|id| !id.is_empty()) else {
        return ApiError::not_found("app").into_response();
    };
    let allowed = match state.store.workspace_by_app_id(&app_id).await {
        Ok(workspace) => workspace.allowed_origins,
        Err(StoreError::NotFound) => return ApiError::not_found("app").into_response(),
        Err(err) => return ApiError::from(err).into_response(),
    };
    // This server's own demo page (`/try`) may always show it. Images of
    // attachments are fetched with the visitor's session and shown from
    // `blob:` addresses.
    let ancestors = if allowed.is_empty() {
        "*".to_owned()
    } else {
        format!("'self' {}", allowed.join(" "))
    };
    let policy = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
         connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors {ancestors}"
    );
    file("widget/messenger.html", Some(policy))
}

/// The demo page: Rapport's own page with the widget of the app its
/// address names (`try.js` boots it), framing only this server's messenger.
async fn try_page() -> Response {
    // The widget's loader adds its launcher's style element, as on any site.
    const POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; connect-src 'self'; frame-src 'self'; frame-ancestors 'none'; \
         base-uri 'none'; form-action 'self'";
    file("widget/try.html", Some(POLICY.to_owned()))
}

async fn asset(Path((app, path)): Path<(String, String)>) -> Response {
    if !APPS.contains(&app.as_str()) || path.split('/').any(|part| part == "..") {
        return ApiError::NotFound("no such file".into()).into_response();
    }
    file(&format!("{app}/{path}"), None)
}

fn file(path: &str, policy: Option<String>) -> Response {
    let Some(found) = Files::get(path) else {
        return ApiError::NotFound("no such file".into()).into_response();
    };
    let mut headers = HeaderMap::new();
    let mime = found.metadata.mimetype();
    let mime = if mime.starts_with("text/") && !mime.contains("charset") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    };
    if let Ok(value) = HeaderValue::from_str(&mime) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Files change with each release; revalidate rather than trust a cache.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Some(policy) = policy.and_then(|p| HeaderValue::from_str(&p).ok()) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    (headers, found.data.into_owned()).into_response()
}
