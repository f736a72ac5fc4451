//! Contacts and people: upserts, custom property types and settings,
//! tags, visits, event summaries, the people schema and contact search.

use crate::fixtures::*;

rapport_store::both_backends!(
    upserts_match_by_user_id_then_email,
    property_settings_define_types_and_messenger_access,
);

async fn upserts_match_by_user_id_then_email(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let parse = |input: serde_json::Value| {
        let input: serde_json::Map<String, serde_json::Value> =
            serde_json::from_value(input).unwrap();
        ContactUpsert::parse(
            acme.workspace,
            ContactUpsertInput {
                ops: Vec::new(),
                user_id: input
                    .get("user_id")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned),
                email: input
                    .get("email")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned),
                name: input
                    .get("name")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned),
                phone: None,
                props: input
                    .get("props")
                    .map(|p| serde_json::from_value(p.clone()).unwrap())
                    .unwrap_or_default(),
            },
        )
        .unwrap()
    };
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
    let listed = f.store.property_settings(ws).await.unwrap();
    assert_eq!(listed, [plan]);
    let other = team(&*f.store, "owner@other.test").await;
    assert!(
        f.store
            .property_settings(other.workspace)
            .await
            .unwrap()
            .is_empty()
    );
}
