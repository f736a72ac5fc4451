//! Sessions and identity: Inbox sign-in sessions, widget sessions and
//! leads, merging a lead into a user, and identity that comes only from
//! proof.

use crate::fixtures::*;

rapport_store::both_backends!(
    sessions_leads_and_merges,
    identity_comes_only_from_proof,
    widget_sessions_are_bound_expire_and_end,
    a_boot_writes_the_contact_the_merge_the_visit_and_the_session_at_once,
);

async fn sessions_leads_and_merges(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let other = team(&*f.store, "owner@other.test").await;
    // Inbox sessions expire and can be ended.
    f.store
        .create_agent_session(agent_session([1; 32], acme.workspace, acme.owner, 100))
        .await
        .unwrap();
    assert_eq!(
        f.store
            .agent_session([1; 32], at(50))
            .await
            .unwrap()
            .agent_id,
        acme.owner
    );
    assert!(not_found(f.store.agent_session([1; 32], at(100)).await));
    f.store.delete_agent_session([1; 32]).await.unwrap();
    assert!(not_found(f.store.agent_session([1; 32], at(50)).await));
    let foreign = agent_session([2; 32], acme.workspace, other.owner, 100);
    assert!(not_found(f.store.create_agent_session(foreign).await));
    let candidates = f.store.login_candidates("owner@acme.test").await.unwrap();
    assert_eq!(
        (candidates.len(), candidates[0].1.as_str()),
        (1, "$argon2id$x")
    );
    // A lead with a widget session and a conversation merges into a user.
    let (lead, _) = f
        .store
        .create_lead(acme.workspace, ContactId::generate(), at(1))
        .await
        .unwrap();
    assert_eq!((lead.user_id.as_ref(), lead.email.as_ref()), (None, None));
    f.store
        .create_widget_session([3; 32], acme.workspace, lead.id, at(1))
        .await
        .unwrap();
    assert_eq!(
        f.store.widget_session([3; 32], at(2)).await.unwrap(),
        (acme.workspace, lead.id)
    );
    assert!(not_found(
        f.store
            .create_widget_session([4; 32], other.workspace, lead.id, at(1))
            .await
    ));
    let conversation = start(&*f.store, &acme, lead.id, 10).await;
    let user = contact(&*f.store, acme.workspace, "ada").await;
    // Only a lead merges, only within its workspace.
    assert!(not_found(
        f.store.merge_lead(other.workspace, lead.id, user).await
    ));
    assert!(not_found(
        f.store.merge_lead(acme.workspace, user, lead.id).await
    ));
    f.store
        .merge_lead(acme.workspace, lead.id, user)
        .await
        .unwrap();
    assert_eq!(
        f.store
            .conversation(acme.workspace, conversation.id)
            .await
            .unwrap()
            .contact_id,
        user
    );
    // The lead's session ended with the lead: the browser that proved who
    // it is gets a new one, bound to the user.
    assert!(not_found(f.store.widget_session([3; 32], at(2)).await));
    assert!(not_found(f.store.contact(acme.workspace, lead.id).await));
    let timeline = timeline(&*f.store, acme.workspace, user, 20).await;
    assert!(timeline.iter().any(|e| e.activity.kind() == "message"));
    // Workspace settings change only what they name.
    let changed = f
        .store
        .update_workspace(
            acme.workspace,
            WorkspaceSettings {
                identity_verification: Some(true),
                allowed_origins: Some(vec!["https://shop.example".into()]),
                ..Default::default()
            },
            at(0),
        )
        .await
        .unwrap();
    assert_eq!(
        (changed.name.as_str(), changed.identity_verification),
        ("Acme", true)
    );
    let by_app = f.store.workspace_by_app_id(&changed.app_id).await.unwrap();
    assert_eq!(by_app.allowed_origins, ["https://shop.example"]);
    assert_eq!(f.store.workspace_count().await.unwrap(), 2);
}

async fn identity_comes_only_from_proof(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let ws = acme.workspace;
    // A lead claims someone's email in the widget...
    let (lead, _) = f
        .store
        .create_lead(ws, ContactId::generate(), at(1))
        .await
        .unwrap();
    let claim = changes(ws, None, Some("victim@x.test")).claimed_by_visitor();
    let lead = f.store.update_contact(lead.id, claim, at(2)).await.unwrap();
    assert!(!lead.email_verified);
    // ...and neither the business's upsert by that email nor one with a
    // user_id and that email finds the lead: each makes its own contact.
    let (by_email, created) = f
        .store
        .upsert_contact(
            upsert_input(ws, None, Some("victim@x.test")),
            ContactId::generate(),
            at(3),
        )
        .await
        .unwrap();
    assert!(created.is_some());
    assert_ne!(by_email.id, lead.id);
    assert!(by_email.email_verified);
    let (user, _) = f
        .store
        .upsert_contact(
            upsert_input(ws, Some("u42"), Some("victim@x.test")),
            ContactId::generate(),
            at(4),
        )
        .await
        .unwrap();
    assert_ne!(user.id, lead.id);
    let lead_now = f.store.contact(ws, lead.id).await.unwrap();
    assert_eq!(lead_now.user_id, None, "the lead was not re-keyed");
    // The business's own email contact does become the user (both sides
    // are the business's word).
    assert_eq!(user.id, by_email.id);
    // A claimed email with a user_id (a verified boot) finds nobody by
    // email either.
    let (attacker, created) = f
        .store
        .upsert_contact(
            upsert_input(ws, Some("att-1"), Some("victim@x.test")).claimed_by_visitor(),
            ContactId::generate(),
            at(5),
        )
        .await
        .unwrap();
    assert!(created.is_some());
    assert_ne!(attacker.id, user.id);
    assert!(!attacker.email_verified);
}

async fn widget_sessions_are_bound_expire_and_end(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let ws = acme.workspace;
    let (lead, _) = f
        .store
        .create_lead(ws, ContactId::generate(), at(1))
        .await
        .unwrap();
    f.store
        .create_widget_session([5; 32], ws, lead.id, at(1))
        .await
        .unwrap();
    f.store
        .create_widget_session([6; 32], ws, lead.id, at(1))
        .await
        .unwrap();
    // Unused for 90 days, it stops working; a boot that resumes it in time
    // keeps it going.
    let idle = WIDGET_SESSION_IDLE_MILLIS;
    assert!(f.store.widget_session([5; 32], at(idle)).await.is_ok());
    assert!(not_found(
        f.store.widget_session([5; 32], at(idle + 2)).await
    ));
    f.store
        .touch_widget_session([6; 32], at(idle - 10))
        .await
        .unwrap();
    assert!(f.store.widget_session([6; 32], at(idle + 2)).await.is_ok());
    // The visitor shuts the messenger down: that session ends.
    f.store.delete_widget_session([6; 32]).await.unwrap();
    assert!(not_found(f.store.widget_session([6; 32], at(2)).await));
    // A session issued to a lead stops when the business gives the contact
    // an identity.
    f.store
        .create_widget_session([7; 32], ws, lead.id, at(3))
        .await
        .unwrap();
    let identify = changes(ws, Some("u7"), None);
    f.store
        .update_contact(lead.id, identify, at(4))
        .await
        .unwrap();
    assert!(not_found(f.store.widget_session([7; 32], at(5)).await));
    // One issued to the user now works, and stops if the id changes again.
    f.store
        .create_widget_session([8; 32], ws, lead.id, at(5))
        .await
        .unwrap();
    assert_eq!(
        f.store.widget_session([8; 32], at(6)).await.unwrap().1,
        lead.id
    );
    let rekey = changes(ws, Some("u8"), None);
    f.store.update_contact(lead.id, rekey, at(7)).await.unwrap();
    assert!(not_found(f.store.widget_session([8; 32], at(8)).await));
    // Rotating the identity secret keeps the old one for the grace period.
    let before = f.store.workspace(ws).await.unwrap();
    let rotated = f
        .store
        .rotate_identity_secret(ws, "new-secret".into(), at(100))
        .await
        .unwrap();
    assert_eq!(rotated.identity_secret, "new-secret");
    let secrets: Vec<&str> = rotated.identity_secrets(at(99)).collect();
    assert_eq!(secrets, ["new-secret", before.identity_secret.as_str()]);
    assert_eq!(rotated.identity_secrets(at(100)).count(), 1);
    assert_eq!(f.store.workspace(ws).await.unwrap(), rotated);
}

async fn a_boot_writes_the_contact_the_merge_the_visit_and_the_session_at_once(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let ws = acme.workspace;
    let boot = |identity: VisitorIdentity,
                previous: Option<Contact>,
                session: Option<[u8; 32]>,
                new_session: u8,
                ms: i64| VisitorBoot {
        workspace_id: ws,
        identity,
        previous,
        session,
        new_session: [new_session; 32],
        new_contact_id: ContactId::generate(),
        now: at(ms),
    };
    let anonymous = || VisitorIdentity::Anonymous {
        changes: changes(ws, None, None),
    };

    // A new browser: a lead, seen now, with a new session bound to it.
    let first = s
        .boot_visitor(boot(anonymous(), None, None, 1, 10))
        .await
        .unwrap();
    let lead = first.contact.clone();
    assert!(!first.kept_session);
    assert_eq!(lead.user_id, None);
    assert_eq!(lead.system.last_seen_at, Some(at(10)));
    assert_eq!(
        first.seqs.len(),
        2,
        "the lead's contact_created entry and its $session_start"
    );
    assert_eq!(
        s.widget_session([1; 32], at(11)).await.unwrap(),
        (ws, lead.id)
    );

    // The same browser again: the same lead, the same session.
    let again = s
        .boot_visitor(boot(anonymous(), Some(lead.clone()), Some([1; 32]), 2, 20))
        .await
        .unwrap();
    assert!(again.kept_session);
    assert_eq!(again.contact.id, lead.id);
    assert_eq!(again.contact.system.last_seen_at, Some(at(20)));
    assert!(
        not_found(s.widget_session([2; 32], at(21)).await),
        "no new session"
    );

    // A proved user from that browser: the lead merges into the user and
    // the browser gets a session bound to the user.
    let user = VisitorIdentity::Known {
        upsert: upsert_input(ws, Some("u-1"), None).claimed_by_visitor(),
        verified: true,
    };
    let proved = s
        .boot_visitor(boot(user, Some(lead.clone()), Some([1; 32]), 3, 30))
        .await
        .unwrap();
    assert!(!proved.kept_session);
    assert_eq!(proved.contact.user_id.as_deref(), Some("u-1"));
    assert!(
        not_found(s.contact(ws, lead.id).await),
        "the lead was merged"
    );
    assert_eq!(
        s.widget_session([3; 32], at(31)).await.unwrap(),
        (ws, proved.contact.id)
    );
    assert!(not_found(s.widget_session([1; 32], at(31)).await));

    // An unproved user from another lead's browser: nothing merges.
    let other = s
        .boot_visitor(boot(anonymous(), None, None, 4, 40))
        .await
        .unwrap();
    let unproved = VisitorIdentity::Known {
        upsert: upsert_input(ws, Some("u-2"), None).claimed_by_visitor(),
        verified: false,
    };
    let claimed = s
        .boot_visitor(boot(
            unproved,
            Some(other.contact.clone()),
            Some([4; 32]),
            5,
            50,
        ))
        .await
        .unwrap();
    assert!(!claimed.kept_session);
    assert_ne!(claimed.contact.id, other.contact.id);
    assert_eq!(
        s.contact(ws, other.contact.id).await.unwrap().id,
        other.contact.id
    );

    // A boot that fails changes nothing: a lead's id that is taken.
    let taken = VisitorBoot {
        new_contact_id: other.contact.id,
        ..boot(anonymous(), None, None, 6, 60)
    };
    assert!(s.boot_visitor(taken).await.is_err());
    assert!(not_found(s.widget_session([6; 32], at(61)).await));
}
