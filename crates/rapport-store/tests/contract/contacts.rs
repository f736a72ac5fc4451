//! Contacts and people: upserts, custom property types and settings,
//! tags, visits, event summaries, the people schema and contact search;
//! the log entries every change and every new session leaves.

use crate::fixtures::*;

rapport_store::both_backends!(
    upserts_match_by_user_id_then_email,
    property_settings_define_types_and_messenger_access,
    tags_and_visits_change_their_contact_only,
    event_summaries_count_each_name_most_recent_first,
    every_contact_change_is_logged_as_such,
    a_visit_that_starts_a_session_logs_it,
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

/// The `contact_updated` entries of a contact, oldest first.
async fn updates(store: &dyn Store, team: &Team, contact: ContactId) -> Vec<Activity> {
    let mut entries: Vec<Activity> = timeline(store, team.workspace, contact, 100)
        .await
        .into_iter()
        .map(|e| e.activity)
        .filter(|a| matches!(a, Activity::ContactUpdated { .. }))
        .collect();
    entries.reverse();
    entries
}

fn updated(properties: &[&str], added: &[&str], removed: &[&str]) -> Activity {
    let names = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect();
    Activity::ContactUpdated {
        properties: names(properties),
        tags_added: names(added),
        tags_removed: names(removed),
        cause: None,
    }
}

async fn every_contact_change_is_logged_as_such(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    // Creating is not updating.
    let ada = person(
        s,
        acme.workspace,
        "ada",
        Some("Ada"),
        json!({"plan": "free"}),
        1,
    )
    .await;
    assert!(updates(s, &acme, ada).await.is_empty());

    // The API's update, by id.
    let change = |input| ContactUpsert::parse_changes(acme.workspace, input).unwrap();
    let renamed = ContactUpsertInput {
        name: Some("Ada L.".into()),
        props: serde_json::from_value(json!({"plan": "pro", "seats": 2})).unwrap(),
        ..Default::default()
    };
    s.update_contact(ada, change(renamed.clone()), at(2))
        .await
        .unwrap();
    // The same again changes nothing.
    s.update_contact(ada, change(renamed), at(3)).await.unwrap();
    // An upsert that finds the contact.
    let upsert = upsert_json(
        acme.workspace,
        json!({"user_id": "ada", "email": "ada@example.com", "props": {"seats": null}}),
    );
    s.upsert_contact(upsert, ContactId::generate(), at(4))
        .await
        .unwrap();
    // Tags, by hand.
    for (tag, present, ms) in [("vip", true, 5), ("vip", true, 6), ("vip", false, 7)] {
        s.tag_contact(acme.workspace, ada, tag, present, at(ms))
            .await
            .unwrap();
    }
    assert_eq!(
        updates(s, &acme, ada).await,
        vec![
            updated(&["name", "plan", "seats"], &[], &[]),
            updated(&["email", "seats"], &[], &[]),
            updated(&[], &["vip"], &[]),
            updated(&[], &[], &["vip"]),
        ]
    );

    // The widget: a returning lead's own changes are updates; a new
    // lead's first properties are part of its creation.
    let boot = |identity, previous, ms| VisitorBoot {
        workspace_id: acme.workspace,
        identity,
        previous,
        session: None,
        new_session: [ms as u8; 32],
        new_contact_id: ContactId::generate(),
        now: at(ms),
    };
    let named = |name: &str| VisitorIdentity::Anonymous {
        changes: change(ContactUpsertInput {
            name: Some(name.into()),
            ..Default::default()
        }),
    };
    let lead = s.boot_visitor(boot(named("Bo"), None, 10)).await.unwrap();
    assert!(updates(s, &acme, lead.contact.id).await.is_empty());
    assert_eq!(lead.contact.name.as_deref(), Some("Bo"));
    let again = s
        .boot_visitor(boot(named("Bob"), Some(lead.contact.clone()), 11))
        .await
        .unwrap();
    assert_eq!(
        updates(s, &acme, lead.contact.id).await,
        vec![updated(&["name"], &[], &[])]
    );
    let head = s.activity_head(acme.workspace).await.unwrap();
    assert_eq!(
        again.seqs.iter().max(),
        Some(&head),
        "the boot names its entries"
    );
}

async fn a_visit_that_starts_a_session_logs_it(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let ada = contact(s, acme.workspace, "ada").await;
    let minute = 60_000;
    let starts = || async {
        timeline(s, acme.workspace, ada, 100)
            .await
            .into_iter()
            .filter(|e| {
                matches!(&e.activity, Activity::Event { name, params }
                    if name == SESSION_START && *params == json!({}))
            })
            .map(|e| e.created_at)
            .collect::<Vec<_>>()
    };
    for ms in [10, 10 + 20 * minute, 10 + 49 * minute] {
        s.contact_seen(acme.workspace, ada, at(ms), Some("/a".into()))
            .await
            .unwrap();
    }
    // The third visit came 29 minutes after the second: the same session.
    assert_eq!(starts().await, [at(10)]);
    let seen = s
        .contact_seen(acme.workspace, ada, at(10 + 80 * minute), None)
        .await
        .unwrap();
    assert_eq!(seen.system.sessions, 2);
    assert_eq!(starts().await, [at(10 + 80 * minute), at(10)]);
    // A page view after a long while starts one too, logged before it.
    let view = NewEvent {
        params: json!({"url": "https://acme.test/"}),
        ..event(acme.workspace, ada, PAGE_VIEW, 10 + 200 * minute)
    };
    let entry = s.record_event(view).await.unwrap();
    let newest = timeline(s, acme.workspace, ada, 2).await;
    assert_eq!(newest[0].seq, entry.seq);
    assert_eq!(starts().await.len(), 3);
    assert!(matches!(&newest[1].activity, Activity::Event { name, .. } if name == SESSION_START));
    // Other events do not count as visits.
    s.record_event(event(acme.workspace, ada, "paid", 10 + 400 * minute))
        .await
        .unwrap();
    assert_eq!(starts().await.len(), 3);
}
