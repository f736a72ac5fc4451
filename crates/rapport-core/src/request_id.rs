//! The id of the HTTP request being served, carried into the jobs it
//! causes so that one id finds, in the logs, a request and everything done
//! later because of it. The server's middleware sets it for the request's
//! task ([`scope`]); a job enqueued meanwhile keeps it (`NewJob::new`, and
//! the store for the jobs it makes itself); the runner sets it again while
//! it runs the job, so jobs enqueued by a job keep it too.

use std::future::Future;

tokio::task_local! {
    static REQUEST_ID: Option<String>;
}

/// The id of the request (or job) the current task works for, if any.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok().flatten()
}

/// Runs `work` as part of the request (or job) `id`.
pub async fn scope<F: Future>(id: Option<String>, work: F) -> F::Output {
    REQUEST_ID.scope(id, work).await
}

/// Whether a caller's `X-Request-Id` may be kept as it is: 1 to 64
/// letters, digits, `-`, `_` or `.` (nothing that could forge a log line).
pub fn is_acceptable(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_id_is_the_scope_s_and_none_outside() {
        assert_eq!(current(), None);
        let inside = scope(Some("req-1".into()), async { current() }).await;
        assert_eq!(inside.as_deref(), Some("req-1"));
        assert_eq!(current(), None);
    }

    #[test]
    fn only_short_plain_ids_are_kept() {
        assert!(is_acceptable("0193a9e2-7c1d-7000-8000-1234abcd.x_y"));
        assert!(!is_acceptable(""));
        assert!(!is_acceptable(&"a".repeat(65)));
        assert!(!is_acceptable("a b"));
        assert!(!is_acceptable("a\nb"));
    }
}
