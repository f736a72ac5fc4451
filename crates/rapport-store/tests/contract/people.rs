//! The People list: contact search (counts, sort orders, keyset paging,
//! filters) and what filters can name (property types, the people schema).

use crate::fixtures::*;

rapport_store::both_backends!(
    search_counts_sorts_and_pages_every_order,
    search_walks_past_contacts_outside_the_set,
    search_filters_by_properties_tags_events_and_presence,
    people_schema_lists_types_events_and_tags_of_the_workspace,
);

/// A search of the workspace for `filter`, by name ascending, `limit` long.
fn search(workspace: WorkspaceId, filter: Filter, limit: u32) -> ContactSearch {
    ContactSearch {
        workspace_id: workspace,
        filter,
        online: Vec::new(),
        sort: ContactSort::Name,
        descending: false,
        after: None,
        limit,
        now: Timestamp::from_millis(1_000),
    }
}

/// A sort value as something Rust orders the way the list must: numbers
/// as numbers, text byte by byte.
fn order_key(value: SortValue) -> (i64, String) {
    match value {
        SortValue::Number(n) => (n, String::new()),
        SortValue::Text(t) => (0, t),
    }
}

const SORTS: [ContactSort; 4] = [
    ContactSort::Name,
    ContactSort::Created,
    ContactSort::LastSeen,
    ContactSort::FirstSeen,
];

/// The ids of `contacts` in the order a list sorted by `sort` shows them.
fn in_order(contacts: &[Contact], sort: ContactSort, descending: bool) -> Vec<ContactId> {
    let mut sorted = contacts.to_vec();
    sorted.sort_by_key(|c| (order_key(sort.value_of(c)), c.id));
    if descending {
        sorted.reverse();
    }
    sorted.iter().map(|c| c.id).collect()
}

/// Every page of `query`, `limit` long, each after the last one seen:
/// their contacts in order, each page counting `count` in all.
async fn pages(s: &dyn Store, query: &ContactSearch, limit: u32, count: u64) -> Vec<ContactId> {
    let mut paged = Vec::new();
    let mut after = None;
    // Only the last page may hold fewer than `limit`: a client stops at a
    // short page.
    let mut short = false;
    loop {
        let page = s
            .search_contacts(ContactSearch {
                after: after.clone(),
                limit,
                ..query.clone()
            })
            .await
            .unwrap();
        assert_eq!(page.count, count);
        let Some(last) = page.contacts.last() else {
            return paged;
        };
        assert!(!short, "a short page before the last: {paged:?}");
        short = page.contacts.len() < limit as usize;
        after = Some((query.sort.value_of(last), last.id));
        paged.extend(page.contacts.iter().map(|c| c.id));
    }
}

/// Four contacts of Acme, sorted differently by each order, and one of
/// another workspace.
struct People {
    acme: Team,
    other: Team,
    ada: ContactId,
    bob: ContactId,
    cy: ContactId,
    dee: ContactId,
}

async fn people(s: &dyn Store) -> People {
    let acme = team(s, "owner@acme.test").await;
    let other = team(s, "owner@other.test").await;
    let ws = acme.workspace;
    // Two share a name (ties are broken by id); one has none.
    let ada = person(s, ws, "ada", Some("ada"), json!({"plan": "pro"}), 1).await;
    let bob = person(
        s,
        ws,
        "bob",
        Some("Bob"),
        json!({"plan": "free", "seats": 3}),
        2,
    )
    .await;
    let cy = person(s, ws, "cy", None, json!({}), 3).await;
    let dee = person(
        s,
        ws,
        "dee",
        Some("ada"),
        json!({"plan": "pro", "seats": 12}),
        4,
    )
    .await;
    for (contact, ms) in [(ada, 300), (bob, 100), (dee, 200), (ada, 400)] {
        s.contact_seen(ws, contact, at(ms), None).await.unwrap();
    }
    person(
        s,
        other.workspace,
        "zed",
        Some("Zed"),
        json!({"plan": "pro"}),
        5,
    )
    .await;
    People {
        acme,
        other,
        ada,
        bob,
        cy,
        dee,
    }
}

async fn search_counts_sorts_and_pages_every_order(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let p = people(s).await;
    let ws = p.acme.workspace;
    // Only the count.
    let counted = s
        .search_contacts(search(ws, Filter::everyone(), 0))
        .await
        .unwrap();
    assert_eq!((counted.count, counted.contacts.len()), (4, 0));
    // Everyone, and everyone again as an id set (all four did `visit`):
    // both pages of a set (read by id, or by walking the order) keep the
    // order and the cursor.
    for (contact, ms) in [(p.ada, 1), (p.bob, 2), (p.cy, 3), (p.dee, 4)] {
        s.record_event(event(ws, contact, "visit", ms))
            .await
            .unwrap();
    }
    let everyone = s.contacts(ws, &[p.ada, p.bob, p.cy, p.dee]).await.unwrap();
    let visited = Filter::Event {
        name: "visit".into(),
        test: rapport_core::model::filter::EventTest::Performed,
    };
    for (sort, all) in SORTS
        .into_iter()
        .flat_map(|sort| [(sort, Filter::everyone()), (sort, visited.clone())])
    {
        for descending in [false, true] {
            let expected = in_order(&everyone, sort, descending);
            let query = ContactSearch {
                sort,
                descending,
                ..search(ws, all.clone(), 10)
            };
            let whole = s.search_contacts(query.clone()).await.unwrap();
            let ids: Vec<ContactId> = whole.contacts.iter().map(|c| c.id).collect();
            assert_eq!(ids, expected, "{sort:?}, descending: {descending}, {all:?}");
            // Page by page after the last one seen: the same order, each
            // once, and the count of them all on every page.
            for limit in [1, 3] {
                let paged = pages(s, &query, limit, 4).await;
                assert_eq!(
                    paged, expected,
                    "paged by {limit}: {sort:?}, descending: {descending}, {all:?}"
                );
            }
        }
    }
    // Names sort byte by byte, as the sort value says, on every backend.
    let by_name = s
        .search_contacts(search(ws, Filter::everyone(), 10))
        .await
        .unwrap();
    let names: Vec<_> = by_name
        .contacts
        .iter()
        .map(|c| c.name.as_deref().unwrap_or(""))
        .collect();
    assert_eq!(names, ["", "Bob", "ada", "ada"]);
    // Another workspace's list holds only its own.
    let theirs = s
        .search_contacts(search(p.other.workspace, Filter::everyone(), 10))
        .await
        .unwrap();
    assert_eq!(theirs.count, 1);
    assert_eq!(theirs.contacts[0].user_id.as_deref(), Some("zed"));
}

async fn search_walks_past_contacts_outside_the_set(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let ws = acme.workspace;
    // Sixteen contacts in runs of equal sort values (names, creation and
    // last-seen times shared, or none), five of them in the set: a search
    // of the set walks the order (tests read two at most by id) past
    // stretches without members, some ending inside a run of one value,
    // and through stretches holding two members (13 and 14 are next to
    // each other in some orders).
    let names = [
        Some("same"),
        Some("same"),
        None,
        Some("a"),
        Some("same"),
        Some("z"),
    ];
    let mut contacts = Vec::new();
    for i in 0..16_i64 {
        let name = names[usize::try_from(i).unwrap() % names.len()];
        let contact = person(s, ws, &format!("u{i}"), name, json!({}), i / 3).await;
        if i % 3 != 0 {
            s.contact_seen(ws, contact, at(100 + (i % 4) * 10), None)
                .await
                .unwrap();
        }
        contacts.push(contact);
    }
    let chosen = [
        contacts[4],
        contacts[9],
        contacts[13],
        contacts[14],
        contacts[15],
    ];
    for (n, contact) in chosen.iter().enumerate() {
        let ms = i64::try_from(n).unwrap();
        s.record_event(event(ws, *contact, "deep", ms))
            .await
            .unwrap();
    }
    let chosen = s.contacts(ws, &chosen).await.unwrap();
    let deep = Filter::Event {
        name: "deep".into(),
        test: rapport_core::model::filter::EventTest::Performed,
    };
    for sort in SORTS {
        for descending in [false, true] {
            let expected = in_order(&chosen, sort, descending);
            let query = ContactSearch {
                sort,
                descending,
                ..search(ws, deep.clone(), 10)
            };
            for limit in [1, 2, 10] {
                let paged = pages(s, &query, limit, 5).await;
                assert_eq!(
                    paged, expected,
                    "by {limit}: {sort:?}, descending: {descending}"
                );
            }
        }
    }
}

async fn search_filters_by_properties_tags_events_and_presence(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let p = people(s).await;
    let (acme, ws) = (p.acme, p.acme.workspace);
    s.tag_contact(ws, p.ada, "vip", true, at(10)).await.unwrap();
    for (contact, name, ms) in [
        (p.ada, "paid", 11),
        (p.ada, "paid", 12),
        (p.bob, "paid", 13),
    ] {
        s.record_event(event(ws, contact, name, ms)).await.unwrap();
    }
    start(s, &acme, p.dee, 20).await;
    let matching = |tree: serde_json::Value, online: Vec<ContactId>| async move {
        let query = ContactSearch {
            online,
            ..search(ws, filter(s, ws, tree).await, 10)
        };
        let page = s.search_contacts(query).await.unwrap();
        let mut ids: Vec<ContactId> = page.contacts.iter().map(|c| c.id).collect();
        assert_eq!(page.count, ids.len() as u64);
        ids.sort();
        ids
    };
    let set = |mut ids: Vec<ContactId>| {
        ids.sort();
        ids
    };
    let cases = |p: &People| {
        vec![
            (
                json!({"prop": "plan", "op": "eq", "value": "pro"}),
                vec![p.ada, p.dee],
            ),
            // `ne` also matches contacts without the property.
            (
                json!({"prop": "plan", "op": "ne", "value": "pro"}),
                vec![p.bob, p.cy],
            ),
            (
                json!({"prop": "seats", "op": "gt", "value": 5}),
                vec![p.dee],
            ),
            (
                json!({"prop": "seats", "op": "between", "value": [1, 12]}),
                vec![p.bob, p.dee],
            ),
            // ASCII case is ignored in text.
            (
                json!({"prop": "name", "op": "contains", "value": "AD"}),
                vec![p.ada, p.dee],
            ),
            (
                json!({"prop": "name", "op": "starts_with", "value": "b"}),
                vec![p.bob],
            ),
            (json!({"prop": "name", "op": "not_set"}), vec![p.cy]),
            (
                json!({"prop": "last_seen_at", "op": "is_set"}),
                vec![p.ada, p.bob, p.dee],
            ),
            (json!({"tag": "vip", "op": "has"}), vec![p.ada]),
            (
                json!({"tag": "vip", "op": "has_not"}),
                vec![p.bob, p.cy, p.dee],
            ),
            (
                json!({"event": "paid", "op": "performed"}),
                vec![p.ada, p.bob],
            ),
            (
                json!({"event": "paid", "op": "count_at_least", "value": 2}),
                vec![p.ada],
            ),
            (
                json!({"event": "paid", "op": "not_performed"}),
                vec![p.cy, p.dee],
            ),
            (json!({"open_conversation": true}), vec![p.dee]),
            (
                json!({"or": [{"tag": "vip", "op": "has"}, {"prop": "plan", "op": "eq", "value": "free"}]}),
                vec![p.ada, p.bob],
            ),
            (
                json!({"and": [{"prop": "plan", "op": "eq", "value": "pro"}, {"event": "paid", "op": "not_performed"}]}),
                vec![p.dee],
            ),
        ]
    };
    for (tree, expected) in cases(&p) {
        assert_eq!(
            matching(tree.clone(), Vec::new()).await,
            set(expected),
            "{tree}"
        );
    }
    // Those searches asked for the properties they compared to be indexed:
    // a job for each, and each index built a chunk at a time.
    let now = Timestamp::from_millis(1_000);
    let queued = s
        .claim_jobs(&["index_property"], now, at(60_000), 10)
        .await
        .unwrap();
    let mut names: Vec<String> = queued
        .iter()
        .map(|job| match &job.job {
            Ok(Job::IndexProperty { workspace_id, name }) => {
                assert_eq!(*workspace_id, ws);
                name.clone()
            }
            other => panic!("{other:?}"),
        })
        .collect();
    names.sort();
    assert_eq!(names, ["plan", "seats"]);
    for name in &names {
        assert!(!s.index_property_chunk(ws, name.clone()).await.unwrap());
        assert!(s.index_property_chunk(ws, name.clone()).await.unwrap());
    }
    // From the index (sets), the same contacts.
    for (tree, expected) in cases(&p) {
        assert_eq!(
            matching(tree.clone(), Vec::new()).await,
            set(expected),
            "from the index: {tree}"
        );
    }
    // A text too long for PostgreSQL's index (2,000 characters of 3 bytes,
    // varied so that compression cannot shrink it) is written all the same,
    // and found: comparing with it runs the general way, comparing with a
    // short text needs none of it.
    let long: String = (0..2_000_u32)
        .filter_map(|i| char::from_u32(0x4e00 + (i * 7_919 + i * i) % 20_000))
        .collect();
    person(s, ws, "bob", Some("Bob"), json!({"plan": long}), 5).await;
    assert_eq!(
        matching(
            json!({"prop": "plan", "op": "eq", "value": long}),
            Vec::new()
        )
        .await,
        [p.bob]
    );
    assert_eq!(
        matching(
            json!({"prop": "plan", "op": "ne", "value": "pro"}),
            Vec::new()
        )
        .await,
        set(vec![p.bob, p.cy])
    );
    person(s, ws, "bob", Some("Bob"), json!({"plan": "free"}), 5).await;
    // Writes after it keep it current: a changed value, a new one.
    person(s, ws, "ada", Some("ada"), json!({"plan": "free"}), 6).await;
    person(s, ws, "cy", None, json!({"seats": 7}), 7).await;
    for (tree, expected) in [
        (
            json!({"prop": "plan", "op": "eq", "value": "pro"}),
            vec![p.dee],
        ),
        (
            json!({"prop": "plan", "op": "ne", "value": "pro"}),
            vec![p.ada, p.bob, p.cy],
        ),
        (
            json!({"prop": "plan", "op": "in", "value": ["free", "team"]}),
            vec![p.ada, p.bob],
        ),
        (
            json!({"and": [{"prop": "seats", "op": "gt", "value": 5}, {"event": "paid", "op": "not_performed"}]}),
            vec![p.cy, p.dee],
        ),
    ] {
        assert_eq!(
            matching(tree.clone(), Vec::new()).await,
            set(expected),
            "after writes: {tree}"
        );
    }
    // Presence comes from the caller; another workspace's contact listed
    // as online is not one of these.
    let zed = s
        .search_contacts(search(p.other.workspace, Filter::everyone(), 1))
        .await
        .unwrap()
        .contacts[0]
        .id;
    assert_eq!(
        matching(json!({"online": true}), vec![p.bob, zed]).await,
        [p.bob]
    );
    assert!(
        matching(json!({"online": true}), Vec::new())
            .await
            .is_empty()
    );
    assert_eq!(
        matching(json!({"online": false}), vec![p.bob]).await,
        set(vec![p.ada, p.cy, p.dee])
    );
}

async fn people_schema_lists_types_events_and_tags_of_the_workspace(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let p = people(s).await;
    let ws = p.acme.workspace;
    let types = s.property_types(ws).await.unwrap();
    assert_eq!(
        types.into_iter().collect::<Vec<_>>(),
        [
            ("plan".to_owned(), PropType::String),
            ("seats".to_owned(), PropType::Number)
        ]
    );
    for (contact, tag) in [(p.ada, "VIP"), (p.bob, "VIP"), (p.bob, "beta")] {
        s.tag_contact(ws, contact, tag, true, at(10)).await.unwrap();
    }
    for (contact, name) in [
        (p.ada, "Signed up"),
        (p.bob, "Signed up"),
        (p.bob, "paid"),
        (p.bob, "paid"),
    ] {
        s.record_event(event(ws, contact, name, 20)).await.unwrap();
    }
    let schema = s.people_schema(ws).await.unwrap();
    assert_eq!(schema.custom, s.property_types(ws).await.unwrap());
    // By name, byte by byte on every backend, each with how many contacts.
    assert_eq!(
        schema.events,
        [("Signed up".to_owned(), 2), ("paid".to_owned(), 1)]
    );
    assert_eq!(schema.tags, [("VIP".to_owned(), 2), ("beta".to_owned(), 1)]);
    // Another workspace's schema holds only its own.
    let theirs = s.people_schema(p.other.workspace).await.unwrap();
    assert_eq!(
        theirs.custom.into_iter().collect::<Vec<_>>(),
        [("plan".to_owned(), PropType::String)]
    );
    assert!(theirs.events.is_empty() && theirs.tags.is_empty());
}
