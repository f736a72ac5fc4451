//! Keeping a panic to the one request it happened in: a handler's panic is
//! a 500 problem+json (never a dropped connection). A job's panic fails
//! that job alone (`jobs::run_contained`), with `panic_message` as its
//! reason.

use std::any::Any;

use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;

use crate::error::ApiError;

/// What a panic said, when it said it with text.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// The router's outermost layer: a panicking handler answers 500 with a
/// generic problem+json, and the panic is logged.
pub fn catch_panics() -> CatchPanicLayer<fn(Box<dyn Any + Send>) -> Response> {
    CatchPanicLayer::custom(panic_response as fn(Box<dyn Any + Send>) -> Response)
}

fn panic_response(payload: Box<dyn Any + Send>) -> Response {
    ApiError::Internal(anyhow::anyhow!(
        "a request handler panicked: {}",
        panic_message(&*payload)
    ))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_panicking_handler_is_a_500_problem() {
        let router: Router = Router::new()
            .route(
                "/boom",
                get(|| async {
                    if true {
                        panic!("boom at the secret place");
                    }
                    "unreachable"
                }),
            )
            .route("/fine", get(|| async { "fine" }))
            .layer(catch_panics());
        let response = router
            .clone()
            .oneshot(Request::get("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let body = axum::body::to_bytes(response.into_body(), 10_000)
            .await
            .unwrap();
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["type"], "urn:rapport:problem:internal");
        // The panic's text stays in the log, never in the answer.
        assert!(!String::from_utf8_lossy(&body).contains("secret"));
        let fine = router
            .oneshot(Request::get("/fine").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(fine.status(), StatusCode::OK);
    }

    #[test]
    fn panic_messages_are_read_from_either_kind_of_payload() {
        let text = std::panic::catch_unwind(|| panic!("plain")).unwrap_err();
        assert_eq!(panic_message(&*text), "plain");
        let formatted = std::panic::catch_unwind(|| panic!("{} {}", "with", 2)).unwrap_err();
        assert_eq!(panic_message(&*formatted), "with 2");
    }
}
