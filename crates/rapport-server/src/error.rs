//! The one error type at the HTTP edge. Every error is an RFC 9457
//! `application/problem+json` body with a stable `type`; client errors say
//! what is wrong (and which field), server errors are logged and generic.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rapport_core::model::template::TemplateError;
use rapport_core::model::validation::ValidationError;
use rapport_core::ports::store::StoreError;
use rapport_core::services::SendError;
use serde::Serialize;
use utoipa::ToSchema;

/// What is wrong with one field; `line` and `column` point into a template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldProblem {
    /// The JSON path of the field, e.g. `props.plan`.
    pub field: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl FieldProblem {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            line: None,
            column: None,
        }
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A stable identifier of the kind of problem, e.g. `urn:rapport:problem:validation`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The fields at fault, for validation problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request is malformed: {0}")]
    BadRequest(String),
    #[error("invalid fields")]
    Validation(Vec<FieldProblem>),
    #[error("authentication required")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    /// Nothing with that id in this workspace (whether it exists elsewhere
    /// is never said). The text names what was looked for.
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("the body did not arrive in time")]
    RequestTimeout,
    #[error("send the body as application/json")]
    UnsupportedMediaType,
    #[error("too many requests")]
    TooManyRequests,
    /// Busy for now (a queue is full): try again after `Retry-After`.
    #[error("{0}")]
    Unavailable(String),
    /// A server this one relies on (the mail server) refused or failed.
    #[error("{0}")]
    BadGateway(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn not_found(what: &str) -> Self {
        ApiError::NotFound(format!("no such {what}"))
    }

    pub fn field(field: &str, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldProblem::new(field, message)])
    }

    /// The same error with its fields named under `parent` (a filter's
    /// `filter.and[0]` inside `audience` is `audience.filter.and[0]`).
    pub fn under(self, parent: &str) -> Self {
        match self {
            ApiError::Validation(problems) => ApiError::Validation(
                problems
                    .into_iter()
                    .map(|mut p| {
                        p.field = format!("{parent}.{}", p.field);
                        p
                    })
                    .collect(),
            ),
            other => other,
        }
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ApiError::BadRequest(_) => {
                (StatusCode::BAD_REQUEST, "bad-request", "Malformed request")
            }
            ApiError::Validation(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "Invalid fields",
            ),
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Authentication required",
            ),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Not allowed"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            ApiError::PayloadTooLarge(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Body too large",
            ),
            ApiError::RequestTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                "request-timeout",
                "Request timeout",
            ),
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            ),
            ApiError::TooManyRequests => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many requests",
            ),
            ApiError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Try again later",
            ),
            ApiError::BadGateway(_) => (
                StatusCode::BAD_GATEWAY,
                "bad-gateway",
                "Another server failed",
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
            ),
        }
    }

    pub fn to_problem(&self) -> Problem {
        let (status, slug, title) = self.parts();
        let (detail, errors) = match self {
            ApiError::Validation(fields) => (
                fields
                    .iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect::<Vec<_>>()
                    .join("; "),
                fields.clone(),
            ),
            // Never leak internals; the log has them.
            ApiError::Internal(_) => (
                "something went wrong on our side; it has been logged".to_owned(),
                vec![],
            ),
            other => (other.to_string(), vec![]),
        };
        Problem {
            kind: format!("urn:rapport:problem:{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
            errors,
        }
    }
}

/// Whether a failed body read was the body timeout running out (see
/// `app::read_bodies_in_time`).
pub fn is_body_timeout(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(err) = cause {
        if err.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = err.source();
    }
    false
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(err) = &self {
            tracing::error!(error = format!("{err:#}"), "request failed");
        }
        let problem = self.to_problem();
        let status =
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(problem)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // A queue was full: it drains in seconds.
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

/// `error` answered with `Retry-After: <wait, rounded up, at least 1 s>`.
pub fn with_retry_after(error: ApiError, wait: std::time::Duration) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut response = error.into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    response
}

impl From<crate::credentials::Busy> for ApiError {
    fn from(busy: crate::credentials::Busy) -> Self {
        ApiError::Unavailable(busy.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => ApiError::NotFound("not found".into()),
            StoreError::Conflict(what) => {
                ApiError::Conflict(format!("conflicts with existing data ({what})"))
            }
            StoreError::Invalid(err) => err.into(),
            StoreError::Other(err) => ApiError::Internal(anyhow::anyhow!(err)),
        }
    }
}

impl From<ValidationError> for ApiError {
    fn from(err: ValidationError) -> Self {
        ApiError::Validation(
            err.0
                .into_iter()
                .map(|e| FieldProblem::new(e.field, e.message))
                .collect(),
        )
    }
}

/// A template fault in the request field `field`, with where it is.
pub fn template_problem(field: &str, err: TemplateError) -> ApiError {
    ApiError::Validation(vec![FieldProblem {
        field: field.to_owned(),
        message: err.message,
        line: Some(err.line),
        column: Some(err.column),
    }])
}

impl From<SendError> for ApiError {
    fn from(err: SendError) -> Self {
        match err {
            SendError::Template(err) => template_problem("body", err),
            SendError::Invalid(err) => err.into(),
            SendError::NotFound(field) => {
                ApiError::NotFound(format!("{field}: nothing with that id in this workspace"))
            }
            SendError::Duplicate => ApiError::Conflict("this email was already received".into()),
            SendError::Store(err) => err.into(),
        }
    }
}

/// Maps the store's `NotFound` to a 404 naming `what`; other errors as usual.
pub fn or_not_found(what: &'static str) -> impl FnOnce(StoreError) -> ApiError {
    move |err| match err {
        StoreError::NotFound => ApiError::not_found(what),
        other => other.into(),
    }
}
