//! Batches of upserts (the import's path) come to what the same upserts do
//! one at a time: the same rows created, updated or refused, the same
//! contacts, the same log entries in the same order. Rows are drawn from a
//! small set of user ids and emails, so they keep matching each other,
//! re-keying leads, moving emails and clashing on property types.

use crate::fixtures::*;
use rapport_core::model::contact::PropOpInput;

rapport_store::both_backends!(
    a_batch_of_upserts_matches_them_one_at_a_time,
    a_batch_refuses_rows_of_another_workspace_or_too_many,
);

/// A small deterministic generator (a linear congruential one).
struct Draw(u64);

impl Draw {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// Row `i` of a run: a mix of user ids, vouched and claimed emails,
/// names, typed and mistyped properties, and tags.
fn row(workspace: WorkspaceId, draw: &mut Draw) -> ContactUpsert {
    let user_id = match draw.below(3) {
        0 => None,
        _ => Some(format!("u{}", draw.below(6))),
    };
    let email = match draw.below(4) {
        0 if user_id.is_some() => None,
        _ => Some(format!("p{}@example.test", draw.below(4))),
    };
    let mut props = std::collections::BTreeMap::new();
    if draw.below(2) == 0 {
        props.insert(
            "plan".to_owned(),
            json!(["free", "pro"][draw.below(2) as usize]),
        );
    }
    match draw.below(8) {
        // `seats` is a number: a text value is refused once it is typed.
        0 => {
            props.insert("seats".to_owned(), json!("many"));
        }
        1 | 2 => {
            props.insert("seats".to_owned(), json!(draw.below(10)));
        }
        3 => {
            props.insert("plan".to_owned(), json!(null));
        }
        _ => {}
    }
    let ops = match draw.below(6) {
        0 => vec![PropOpInput {
            op: "increment".into(),
            prop: "logins".into(),
            value: Some(json!(1)),
        }],
        _ => Vec::new(),
    };
    let mut upsert = ContactUpsert::parse(
        workspace,
        ContactUpsertInput {
            user_id,
            email,
            name: (draw.below(3) == 0).then(|| format!("Name {}", draw.below(3))),
            props,
            ops,
            ..Default::default()
        },
    )
    .unwrap();
    if draw.below(5) == 0 {
        upsert.tags.push(format!("t{}", draw.below(3)));
    }
    // A visitor's claim of an email finds no one.
    if draw.below(6) == 0 {
        upsert.email_verified = false;
    }
    upsert
}

/// Ids that sort alike in both workspaces: run `run`'s `i`th.
fn id(run: u128, i: u128) -> ContactId {
    ContactId::from_uuid(uuid::Uuid::from_u128((run << 64) | i))
}

/// A workspace's contacts and log, with ids reduced to their order.
async fn outcome(
    store: &dyn Store,
    workspace: WorkspaceId,
) -> (Vec<serde_json::Value>, Vec<String>) {
    let log = store
        .activity_after(workspace, Stream::Workspace, 0, 10_000)
        .await
        .unwrap();
    let short = |id: ContactId| id.as_uuid().as_u128() as u64;
    let entries: Vec<String> = log
        .iter()
        .map(|e| {
            format!(
                "{} {} {}",
                short(e.contact_id),
                e.activity.kind(),
                e.activity.data()
            )
        })
        .collect();
    let mut ids: Vec<ContactId> = log.iter().map(|e| e.contact_id).collect();
    ids.sort();
    ids.dedup();
    let contacts = store
        .contacts(workspace, &ids)
        .await
        .unwrap()
        .into_iter()
        .map(|c| {
            json!([
                short(c.id),
                c.user_id,
                c.email.as_ref().map(|e| e.as_str().to_owned()),
                c.email_verified,
                c.name,
                c.props_json(),
                c.tags,
                c.created_at.as_millis(),
                c.updated_at.as_millis()
            ])
        })
        .collect::<Vec<_>>();
    let mut contacts = contacts;
    contacts.sort_by_key(|c| c[0].as_u64());
    (contacts, entries)
}

async fn a_batch_of_upserts_matches_them_one_at_a_time(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    for (seed, batch) in [(1_u64, 37_usize), (2, 500), (3, 1), (4, 120)] {
        let one = team(&*f.store, &format!("one{seed}@acme.test")).await;
        let many = team(&*f.store, &format!("many{seed}@acme.test")).await;
        // Ids are global: each run of each seed has its own.
        let runs = (u128::from(seed) * 2, u128::from(seed) * 2 + 1);
        // The same contacts exist in both beforehand (a refused row is
        // refused in both).
        for (run, ws) in [(runs.0, one.workspace), (runs.1, many.workspace)] {
            let mut draw = Draw(seed + 100);
            for i in 0..8 {
                let upsert = row(ws, &mut draw);
                let done = f
                    .store
                    .upsert_contact(upsert, id(run, 10_000 + i), at(1 + i as i64))
                    .await;
                assert!(matches!(done, Ok(_) | Err(StoreError::Invalid(_))));
            }
        }
        let now = at(100);
        let mut draw = Draw(seed);
        let rows: Vec<ContactUpsert> = (0..600).map(|_| row(one.workspace, &mut draw)).collect();
        let mut singly = Vec::new();
        for (i, upsert) in rows.iter().enumerate() {
            let done = f
                .store
                .upsert_contact(upsert.clone(), id(runs.0, i as u128), now)
                .await;
            singly.push(match done {
                Ok((_, created)) => Ok(created.is_some()),
                Err(StoreError::Invalid(invalid)) => Err(invalid.0),
                Err(other) => panic!("row {i}: {other}"),
            });
        }
        let mut batched = Vec::new();
        let mut last_seq = None;
        let numbered: Vec<(usize, ContactUpsert)> = rows.into_iter().enumerate().collect();
        for chunk in numbered.chunks(batch) {
            let chunk: Vec<(ContactUpsert, ContactId)> = chunk
                .iter()
                .map(|(i, upsert)| {
                    let mut upsert = upsert.clone();
                    upsert.workspace_id = many.workspace;
                    (upsert, id(runs.1, *i as u128))
                })
                .collect();
            let done = f
                .store
                .upsert_contacts(many.workspace, chunk, now)
                .await
                .unwrap();
            last_seq = done.last_seq.or(last_seq);
            batched.extend(done.rows.into_iter().map(|r| r.map_err(|e| e.0)));
        }
        assert_eq!(batched, singly, "seed {seed}, batches of {batch}");
        assert!(singly.iter().any(|r| r.is_err()), "some rows are refused");
        assert!(singly.iter().any(|r| r == &Ok(false)), "some rows update");
        let (contacts, entries) = outcome(&*f.store, many.workspace).await;
        assert_eq!(
            (contacts, entries),
            outcome(&*f.store, one.workspace).await,
            "seed {seed}, batches of {batch}"
        );
        assert_eq!(
            last_seq,
            Some(f.store.activity_head(many.workspace).await.unwrap())
        );
        assert_eq!(
            f.store.property_types(many.workspace).await.unwrap(),
            f.store.property_types(one.workspace).await.unwrap()
        );
    }
}

async fn a_batch_refuses_rows_of_another_workspace_or_too_many(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let other = team(&*f.store, "owner@other.test").await;
    let stray = vec![
        (
            upsert_input(acme.workspace, Some("a"), None),
            ContactId::generate(),
        ),
        (
            upsert_input(other.workspace, Some("b"), None),
            ContactId::generate(),
        ),
    ];
    assert!(
        f.store
            .upsert_contacts(acme.workspace, stray, at(1))
            .await
            .is_err()
    );
    let many: Vec<_> = (0..=MAX_UPSERT_BATCH)
        .map(|i| {
            (
                upsert_input(acme.workspace, Some(&format!("u{i}")), None),
                ContactId::generate(),
            )
        })
        .collect();
    assert!(
        f.store
            .upsert_contacts(acme.workspace, many, at(1))
            .await
            .is_err()
    );
    // Neither wrote anything.
    assert_eq!(f.store.activity_head(acme.workspace).await.unwrap(), 0);
    assert_eq!(f.store.activity_head(other.workspace).await.unwrap(), 0);
}
