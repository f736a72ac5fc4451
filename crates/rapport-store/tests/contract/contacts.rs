//! Contacts and people: upserts, custom property types and settings,
//! tags, visits, event summaries, the people schema and contact search.

use crate::fixtures::*;

rapport_store::both_backends!(
    upserts_match_by_user_id_then_email,
    property_settings_define_types_and_messenger_access,
    tags_and_visits_change_their_contact_only,
    event_summaries_count_each_name_most_recent_first,
);

async fn upserts_match_by_user_id_then_email(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let parse = |input| upsert_json(acme.workspace, input);
    // A lead known only by email...
    let (lead, created) = f
        .store
        .upsert_contact(
            parse(json!({"email": "ada@example.com", "props": {"plan": "free"}})),
            ContactId::generate(),
            at(1),
        )
        .await
        .unwrap();
    assert!(created.is_some());
    // ...is matched again by email...
    let (same, created) = f
        .store
        .upsert_contact(
            parse(json!({"email": "ADA@example.com", "name": "Ada"})),
            ContactId::generate(),
            at(2),
        )
        .await
        .unwrap();
    assert_eq!((same.id, created), (lead.id, None));
    // ...and becomes the user when a user_id arrives with that email.
    let (user, created) = f.store.upsert_contact(parse(json!({"user_id": "u-1", "email": "ada@example.com", "props": {"plan": "pro", "seats": 3}})), ContactId::generate(), at(3)).await.unwrap();
    assert_eq!((user.id, created), (lead.id, None));
    let stored = f.store.contact(acme.workspace, lead.id).await.unwrap();
    assert_eq!(stored.user_id.as_deref(), Some("u-1"));
    assert_eq!(stored.name.as_deref(), Some("Ada"));
    assert_eq!(stored.props_json(), json!({"plan": "pro", "seats": 3.0}));
    assert_eq!((stored.created_at, stored.updated_at), (at(1), at(3)));
    // Another user_id with the same email is a different person.
    let (other, created) = f
        .store
        .upsert_contact(
            parse(json!({"user_id": "u-2", "email": "ada@example.com"})),
            ContactId::generate(),
            at(4),
        )
        .await
        .unwrap();
    assert!(created.is_some());
    assert_ne!(other.id, lead.id);
    // Unsetting a property removes it.
    f.store
        .upsert_contact(
            parse(json!({"user_id": "u-1", "props": {"seats": null}})),
            ContactId::generate(),
            at(5),
        )
        .await
        .unwrap();
    assert_eq!(
        f.store
            .contact(acme.workspace, lead.id)
            .await
            .unwrap()
            .props_json(),
        json!({"plan": "pro"})
    );
}

async fn property_settings_define_types_and_messenger_access(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let ws = acme.workspace;
    // A new name needs a type, and starts closed to the messenger.
    assert!(matches!(
        f.store
            .save_property_setting(ws, "plan".into(), None, Some(true), at(1))
            .await,
        Err(StoreError::Invalid(_))
    ));
    let plan = f
        .store
        .save_property_setting(ws, "plan".into(), Some(PropType::String), None, at(1))
        .await
        .unwrap();
    assert!(!plan.messenger_writable);
    let plan = f
        .store
        .save_property_setting(ws, "plan".into(), None, Some(true), at(2))
        .await
        .unwrap();
    assert!(plan.messenger_writable);
    // Its type stays.
    assert!(matches!(
        f.store
            .save_property_setting(
                ws,
                "plan".into(),
                Some(PropType::Number),
                Some(false),
                at(3)
            )
            .await,
        Err(StoreError::Invalid(_))
    ));
    let zone = f
        .store
        .save_property_setting(ws, "Zone".into(), Some(PropType::String), None, at(4))
        .await
        .unwrap();
    // By name, byte by byte on every backend.
    let listed = f.store.property_settings(ws).await.unwrap();
    assert_eq!(listed, [zone, plan]);
    let other = team(&*f.store, "owner@other.test").await;
    assert!(
        f.store
            .property_settings(other.workspace)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn tags_and_visits_change_their_contact_only(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let other = team(s, "owner@other.test").await;
    let ws = acme.workspace;
    let ada = contact(s, ws, "ada").await;
    let bob = contact(s, ws, "bob").await;
    // Tags are kept once each, in order.
    for tag in ["vip", "beta", "vip"] {
        s.tag_contact(ws, ada, tag, true, at(10)).await.unwrap();
    }
    let tagged = s.tag_contact(ws, ada, "beta", false, at(11)).await.unwrap();
    assert_eq!(
        (tagged.tags.as_slice(), tagged.updated_at),
        (["vip".to_owned()].as_slice(), at(11))
    );
    let untouched = s
        .tag_contact(ws, ada, "absent", false, at(12))
        .await
        .unwrap();
    assert_eq!(untouched.tags, ["vip"]);
    s.tag_contact(ws, ada, "alpha", true, at(13)).await.unwrap();
    assert_eq!(s.contact(ws, ada).await.unwrap().tags, ["alpha", "vip"]);
    assert!(s.contact(ws, bob).await.unwrap().tags.is_empty());

    // Visits: the first sets first and last seen; one within 30 minutes
    // of the last is the same session; the page is kept until another.
    let seen = s
        .contact_seen(ws, ada, at(1_000), Some("/pricing".into()))
        .await
        .unwrap();
    assert_eq!(
        (
            seen.system.first_seen_at,
            seen.system.last_seen_at,
            seen.system.sessions
        ),
        (Some(at(1_000)), Some(at(1_000)), 1)
    );
    let again = s.contact_seen(ws, ada, at(61_000), None).await.unwrap();
    assert_eq!(
        (
            again.system.last_seen_at,
            again.system.sessions,
            again.system.last_page.as_deref()
        ),
        (Some(at(61_000)), 1, Some("/pricing"))
    );
    let later = s
        .contact_seen(ws, ada, at(61_000 + 30 * 60_000), Some("/docs".into()))
        .await
        .unwrap();
    assert_eq!(
        (
            later.system.first_seen_at,
            later.system.sessions,
            later.system.last_page.as_deref()
        ),
        (Some(at(1_000)), 2, Some("/docs"))
    );
    assert_eq!(s.contact(ws, ada).await.unwrap(), later);
    assert_eq!(s.contact(ws, bob).await.unwrap().system.sessions, 0);

    // Another workspace changes nothing here.
    assert!(not_found(
        s.tag_contact(other.workspace, ada, "x", true, at(20)).await
    ));
    assert!(not_found(
        s.contact_seen(other.workspace, ada, at(20), None).await
    ));
    assert_eq!(s.contact(ws, ada).await.unwrap(), later);
}

async fn event_summaries_count_each_name_most_recent_first(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let other = team(s, "owner@other.test").await;
    let ws = acme.workspace;
    let ada = contact(s, ws, "ada").await;
    let bob = contact(s, ws, "bob").await;
    for (contact, name, ms) in [
        (ada, "paid", 10),
        (ada, "signed_up", 20),
        (ada, "Visit", 30),
        (ada, "paid", 30),
        (bob, "paid", 40),
    ] {
        s.record_event(event(ws, contact, name, ms)).await.unwrap();
    }
    let summaries = s.event_summaries(ws, ada).await.unwrap();
    let rows: Vec<_> = summaries
        .iter()
        .map(|e| (e.name.as_str(), e.count, e.first_at, e.last_at))
        .collect();
    // Most recent first; at the same time, by name, byte by byte.
    assert_eq!(
        rows,
        [
            ("Visit", 1, at(30), at(30)),
            ("paid", 2, at(10), at(30)),
            ("signed_up", 1, at(20), at(20)),
        ]
    );
    assert_eq!(s.event_summaries(ws, bob).await.unwrap().len(), 1);
    assert!(
        s.event_summaries(other.workspace, ada)
            .await
            .unwrap()
            .is_empty()
    );
}
