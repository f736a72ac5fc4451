//! Webhook endpoints and deliveries: the fan-out's cursor (each stretch
//! queued once, whichever server reads it), only subscribed types and
//! entries after the endpoint was made, a day of failures disabling it,
//! the cap on endpoints (also against creates at once), and nothing
//! crossing workspaces.

use crate::fixtures::*;
use rapport_core::model::ids::WebhookId;
use rapport_core::model::webhook::{
    DISABLE_AFTER_MILLIS, DeliveryStatus, EndpointSettings, EventType, MAX_ENDPOINTS, event_of,
};

rapport_store::both_backends!(
    each_stretch_is_queued_once_to_the_endpoints_subscribed_to_it,
    a_day_of_failures_disables_an_endpoint_and_a_success_clears_it,
    entries_read_before_an_erasure_are_not_sent_after_it,
    creates_at_once_never_pass_the_cap,
);

fn settings(events: &[&str]) -> EndpointSettings {
    let events: Vec<String> = events.iter().map(|e| (*e).to_owned()).collect();
    EndpointSettings::new("https://hooks.example/r", None, &events, true, false).unwrap()
}

/// Makes `MAX_ENDPOINTS - from` endpoints in the workspace at `ms`: with
/// `from` already there, the workspace is then at the cap.
async fn fill_to(s: &dyn Store, workspace: WorkspaceId, from: usize, ms: i64) {
    for i in from..MAX_ENDPOINTS {
        s.create_webhook(
            workspace,
            WebhookId::generate(),
            settings(&["contact.created"]),
            format!("k{i}"),
            at(ms),
        )
        .await
        .unwrap();
    }
}

fn conflict<T: std::fmt::Debug>(result: Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::Conflict(_)))
}

async fn each_stretch_is_queued_once_to_the_endpoints_subscribed_to_it(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let other = team(s, "owner@other.test").await;
    let ada = contact(s, acme.workspace, "ada").await;
    s.record_event(event(acme.workspace, ada, "before", 5))
        .await
        .unwrap();
    let tracked = s
        .create_webhook(
            acme.workspace,
            WebhookId::generate(),
            settings(&["event.tracked"]),
            "k1".into(),
            at(6),
        )
        .await
        .unwrap();
    let created_only = s
        .create_webhook(
            acme.workspace,
            WebhookId::generate(),
            settings(&["contact.created"]),
            "k2".into(),
            at(6),
        )
        .await
        .unwrap();
    let mine = |work: Vec<WebhookWork>| -> Vec<WebhookWork> {
        work.into_iter()
            .filter(|w| w.workspace_id == acme.workspace)
            .collect()
    };
    assert!(
        mine(s.webhook_work().await.unwrap()).is_empty(),
        "what was logged before is not theirs"
    );
    let head = s.activity_head(acme.workspace).await.unwrap();
    s.record_event(event(acme.workspace, ada, "after", 20))
        .await
        .unwrap();
    let to = s.activity_head(acme.workspace).await.unwrap();
    assert_eq!(
        mine(s.webhook_work().await.unwrap()),
        vec![WebhookWork {
            workspace_id: acme.workspace,
            cursor: head
        }]
    );
    let entries = s
        .activity_after(acme.workspace, Stream::Workspace, head, 100)
        .await
        .unwrap();
    let events: Vec<_> = entries
        .iter()
        .filter_map(|e| event_of(e).map(|ev| (e.seq, ev)))
        .collect();
    assert_eq!(events.len(), 1);
    let queued = s
        .fan_out_webhooks(acme.workspace, head, to, events.clone(), at(21))
        .await
        .unwrap();
    assert_eq!(
        queued, 1,
        "to the endpoint subscribed to event.tracked only"
    );
    // A second server with the same stretch: refused, nothing queued twice.
    assert!(conflict(
        s.fan_out_webhooks(acme.workspace, head, to, events, at(21))
            .await
    ));
    assert!(mine(s.webhook_work().await.unwrap()).is_empty());

    let deliveries = s
        .webhook_deliveries(acme.workspace, tracked.id, None, 10)
        .await
        .unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].event_type, EventType::EventTracked);
    assert_eq!(deliveries[0].status, DeliveryStatus::Pending);
    assert_eq!(deliveries[0].payload["data"]["name"], "after");
    assert!(
        s.webhook_deliveries(acme.workspace, created_only.id, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let jobs = s
        .claim_jobs(&["webhook_delivery"], at(22), at(60_000), 10)
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        jobs[0].job,
        Ok(Job::WebhookDelivery {
            delivery_id: deliveries[0].id
        })
    );

    // Nothing crosses workspaces.
    assert!(matches!(
        s.webhook(other.workspace, tracked.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.delete_webhook(other.workspace, tracked.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.webhook_delivery(other.workspace, deliveries[0].id).await,
        Err(StoreError::NotFound)
    ));
    assert!(s.webhooks(other.workspace).await.unwrap().is_empty());

    // At most MAX_ENDPOINTS.
    fill_to(s, acme.workspace, 2, 30).await;
    assert!(conflict(
        s.create_webhook(
            acme.workspace,
            WebhookId::generate(),
            settings(&["contact.created"]),
            "k".into(),
            at(30)
        )
        .await
    ));
    s.delete_webhook(acme.workspace, tracked.id).await.unwrap();
    assert!(matches!(
        s.webhook_delivery(acme.workspace, deliveries[0].id).await,
        Err(StoreError::NotFound)
    ));
}

async fn a_day_of_failures_disables_an_endpoint_and_a_success_clears_it(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let endpoint = s
        .create_webhook(
            acme.workspace,
            WebhookId::generate(),
            settings(&["contact.created"]),
            "k".into(),
            at(1_000),
        )
        .await
        .unwrap();
    let test = |n: i64| rapport_core::model::webhook::NewEvent {
        event_type: EventType::Test,
        event_id: format!("test-{n}"),
        created_at: at(1_000 + n),
        data: json!({}),
    };
    let attempt = |ms: i64, error: Option<&str>, next: Option<i64>| DeliveryAttempt {
        at: at(ms),
        response_status: Some(if error.is_some() { 500 } else { 200 }),
        response_body: Some("answer".into()),
        latency_ms: Some(12),
        error: error.map(str::to_owned),
        next_attempt_at: next.map(at),
    };
    let first = s
        .queue_webhook_test(acme.workspace, endpoint.id, test(1))
        .await
        .unwrap();
    let recorded = s
        .record_webhook_attempt(
            acme.workspace,
            first.id,
            attempt(2_000, Some("answered 500"), Some(12_000)),
        )
        .await
        .unwrap();
    assert!(!recorded.disabled_now);
    let stored = s.webhook_delivery(acme.workspace, first.id).await.unwrap();
    assert_eq!(
        (stored.status, stored.attempts, stored.response_status),
        (DeliveryStatus::Pending, 1, Some(500))
    );
    assert_eq!(stored.next_attempt_at, Some(at(12_000)));
    assert_eq!(
        s.webhook(acme.workspace, endpoint.id)
            .await
            .unwrap()
            .failing_since,
        Some(at(2_000))
    );

    // A success clears the failing streak.
    s.record_webhook_attempt(acme.workspace, first.id, attempt(3_000, None, None))
        .await
        .unwrap();
    let stored = s.webhook_delivery(acme.workspace, first.id).await.unwrap();
    assert_eq!(
        (stored.status, stored.attempts),
        (DeliveryStatus::Delivered, 2)
    );
    assert_eq!(
        s.webhook(acme.workspace, endpoint.id)
            .await
            .unwrap()
            .failing_since,
        None
    );

    // Failing from 4 s on: not yet disabled just before a day, then disabled.
    let second = s
        .queue_webhook_test(acme.workspace, endpoint.id, test(2))
        .await
        .unwrap();
    s.record_webhook_attempt(
        acme.workspace,
        second.id,
        attempt(4_000, Some("down"), Some(5_000)),
    )
    .await
    .unwrap();
    let almost = s
        .record_webhook_attempt(
            acme.workspace,
            second.id,
            attempt(4_000 + DISABLE_AFTER_MILLIS - 1, Some("down"), Some(1)),
        )
        .await
        .unwrap();
    assert!(!almost.disabled_now);
    let day = s
        .record_webhook_attempt(
            acme.workspace,
            second.id,
            attempt(4_000 + DISABLE_AFTER_MILLIS, Some("down"), None),
        )
        .await
        .unwrap();
    assert!(day.disabled_now);
    let off = s.webhook(acme.workspace, endpoint.id).await.unwrap();
    assert!(!off.enabled);
    assert!(off.disabled_reason.unwrap().contains("down"));
    assert_eq!(
        s.webhook_delivery(acme.workspace, second.id)
            .await
            .unwrap()
            .status,
        DeliveryStatus::Failed
    );
    // Told once: a later failure does not disable it again.
    let later = s
        .record_webhook_attempt(
            acme.workspace,
            second.id,
            attempt(4_000 + DISABLE_AFTER_MILLIS + 5, Some("down"), None),
        )
        .await
        .unwrap();
    assert!(!later.disabled_now);

    // Enabled again: a clean slate, from the log's end.
    let on = s
        .update_webhook(
            acme.workspace,
            endpoint.id,
            settings(&["contact.created"]),
            Some("new".into()),
            at(9_000_000_000),
        )
        .await
        .unwrap();
    assert!(on.enabled);
    assert_eq!((on.disabled_reason, on.failing_since), (None, None));
    assert_eq!(on.secret, "new");
}

async fn entries_read_before_an_erasure_are_not_sent_after_it(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let endpoint = s
        .create_webhook(
            acme.workspace,
            WebhookId::generate(),
            settings(&["event.tracked"]),
            "k".into(),
            at(1),
        )
        .await
        .unwrap();
    let head = s.activity_head(acme.workspace).await.unwrap();
    let ada = contact(s, acme.workspace, "ada").await;
    s.record_event(event(acme.workspace, ada, "secret_plan", 10))
        .await
        .unwrap();
    let entries = s
        .activity_after(acme.workspace, Stream::Workspace, head, 100)
        .await
        .unwrap();
    let to = entries.last().unwrap().seq;
    let events: Vec<_> = entries
        .iter()
        .filter_map(|e| event_of(e).map(|ev| (e.seq, ev)))
        .collect();
    assert!(
        events
            .iter()
            .any(|(_, e)| e.event_type == EventType::EventTracked)
    );
    // Ada is erased between the read and the fan-out.
    let erasure = s
        .request_erasure(acme.workspace, ada, None, at(20))
        .await
        .unwrap();
    s.erase_contact(acme.workspace, erasure.id, at(21))
        .await
        .unwrap();
    let queued = s
        .fan_out_webhooks(acme.workspace, head, to, events, at(22))
        .await
        .unwrap();
    assert_eq!(queued, 0, "nothing of an erased contact is sent");
    assert!(
        s.webhook_deliveries(acme.workspace, endpoint.id, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Creates racing for the last endpoint the cap allows: one wins, the
/// rest are refused, and the workspace ends at the cap.
async fn creates_at_once_never_pass_the_cap(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    fill_to(s, acme.workspace, 1, 1).await;
    let racing = (0..8).map(|i| {
        s.create_webhook(
            acme.workspace,
            WebhookId::generate(),
            settings(&["contact.created"]),
            format!("racer{i}"),
            at(2),
        )
    });
    let results = futures::future::join_all(racing).await;
    let created = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(created, 1, "{results:?}");
    assert!(results.into_iter().filter(|r| r.is_err()).all(conflict));
    assert_eq!(
        s.webhooks(acme.workspace).await.unwrap().len(),
        MAX_ENDPOINTS
    );
}
