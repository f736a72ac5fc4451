//! Workspaces and their teams: bootstrap and first-run setup, members,
//! API tokens, member removal, durability across reopening, and `ping`.

use crate::fixtures::*;

rapport_store::both_backends!(
    bootstrap_creates_a_workspace_its_owner_and_a_working_token,
    an_email_owns_at_most_one_workspace,
    agents_are_unique_per_workspace_and_invisible_to_others,
    revoked_tokens_stop_working,
    removed_members_and_their_tokens_stop_at_once,
    only_one_first_run_setup_creates_a_workspace,
    acknowledged_writes_survive_reopening,
);

async fn bootstrap_creates_a_workspace_its_owner_and_a_working_token(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    // A fresh store answers, and holds nothing.
    f.store.ping().await.unwrap();
    assert_eq!(f.store.workspace_count().await.unwrap(), 0);
    let team = team(&*f.store, "owner@acme.test").await;
    let ws = f.store.workspace(team.workspace).await.unwrap();
    assert_eq!(
        (ws.name.as_str(), ws.identity_secret.as_str()),
        ("Acme", "secret")
    );
    let principal = f.store.authenticate_token(team.secret_hash).await.unwrap();
    assert_eq!(
        (principal.workspace_id, principal.agent_id, principal.role),
        (team.workspace, team.owner, Role::Owner)
    );
    assert!(not_found(f.store.authenticate_token([7; 32]).await));
    let agents = f.store.list_agents(team.workspace).await.unwrap();
    assert_eq!(agents.len(), 1);
    assert_eq!(agents[0].email.as_str(), "owner@acme.test");
}

async fn an_email_owns_at_most_one_workspace(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    team(&*f.store, "owner@acme.test").await;
    let (again, second) = new_workspace("owner@acme.test");
    assert!(conflict(f.store.bootstrap_workspace(again).await));
    // The refused bootstrap left nothing behind.
    assert!(not_found(f.store.workspace(second.workspace).await));
}

async fn agents_are_unique_per_workspace_and_invisible_to_others(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let other = team(&*f.store, "owner@other.test").await;
    let id = AgentId::generate();
    let created = f
        .store
        .create_agent(new_agent(acme.workspace, id, "ada@acme.test", Role::Agent))
        .await
        .unwrap();
    assert_eq!(created.id, id);
    let dup = new_agent(
        acme.workspace,
        AgentId::generate(),
        "ada@acme.test",
        Role::Admin,
    );
    assert!(conflict(f.store.create_agent(dup).await));
    // The same email may belong to another workspace's team.
    member(&*f.store, other.workspace, "ada@acme.test", Role::Agent).await;
    assert_eq!(
        f.store.agent(acme.workspace, id).await.unwrap().role,
        Role::Agent
    );
    assert!(not_found(f.store.agent(other.workspace, id).await));
    assert_eq!(f.store.list_agents(acme.workspace).await.unwrap().len(), 2);
}

async fn revoked_tokens_stop_working(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let other = team(&*f.store, "owner@other.test").await;
    let second = token(acme.workspace, acme.owner, [9; 32]);
    let id = second.token.id;
    f.store.create_token(second).await.unwrap();
    assert_eq!(f.store.list_tokens(acme.workspace).await.unwrap().len(), 2);
    // A token for another workspace's agent is refused.
    assert!(not_found(
        f.store
            .create_token(token(acme.workspace, other.owner, [8; 32]))
            .await
    ));
    assert!(not_found(
        f.store.revoke_token(other.workspace, id, at(5)).await
    ));
    f.store.authenticate_token([9; 32]).await.unwrap();
    let revoked = f
        .store
        .revoke_token(acme.workspace, id, at(5))
        .await
        .unwrap();
    assert_eq!(revoked.revoked_at, Some(at(5)));
    assert!(not_found(f.store.authenticate_token([9; 32]).await));
    // Revoking twice keeps the first time.
    assert_eq!(
        f.store
            .revoke_token(acme.workspace, id, at(9))
            .await
            .unwrap()
            .revoked_at,
        Some(at(5))
    );
}

async fn removed_members_and_their_tokens_stop_at_once(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let ws = acme.workspace;
    let ann = member(&*f.store, ws, "ann@acme.test", Role::Agent).await;
    // Ann makes a token acting as the owner (the API refuses this; the
    // store still caps it at Ann's role).
    let mut minted = token(ws, acme.owner, [9; 32]);
    minted.token.created_by = ann;
    f.store.create_token(minted).await.unwrap();
    assert_eq!(
        f.store.authenticate_token([9; 32]).await.unwrap().role,
        Role::Agent
    );
    f.store
        .create_token(token(ws, ann, [10; 32]))
        .await
        .unwrap();
    f.store
        .create_agent_session(agent_session([11; 32], ws, ann, 1_000))
        .await
        .unwrap();
    // The owner is never removed.
    assert!(conflict(f.store.remove_agent(ws, acme.owner, at(1)).await));
    f.store.remove_agent(ws, ann, at(2)).await.unwrap();
    for hash in [[9; 32], [10; 32]] {
        assert!(not_found(f.store.authenticate_token(hash).await));
    }
    assert!(not_found(f.store.agent_session([11; 32], at(3)).await));
    assert!(
        f.store
            .login_candidates("ann@acme.test")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        f.store
            .list_agents(ws)
            .await
            .unwrap()
            .iter()
            .all(|a| a.id != ann)
    );
    // Her email is free to be invited again; removing twice is NotFound.
    member(&*f.store, ws, "ann@acme.test", Role::Agent).await;
    assert!(not_found(f.store.remove_agent(ws, ann, at(3)).await));
    // A password change ends every other session of that member.
    for hash in [[12; 32], [13; 32]] {
        f.store
            .create_agent_session(agent_session(hash, ws, acme.owner, 1_000))
            .await
            .unwrap();
    }
    f.store
        .set_password_hash(ws, acme.owner, "$argon2id$new".into(), Some([12; 32]))
        .await
        .unwrap();
    assert!(f.store.agent_session([12; 32], at(4)).await.is_ok());
    assert!(not_found(f.store.agent_session([13; 32], at(4)).await));
    assert_eq!(
        f.store.password_hash(ws, acme.owner).await.unwrap(),
        "$argon2id$new"
    );
}

async fn only_one_first_run_setup_creates_a_workspace(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let setups: Vec<_> = (0..8)
        .map(|i| {
            let store = f.store.clone();
            let (new, _) = new_workspace(&format!("owner{i}@acme.test"));
            tokio::spawn(async move { store.set_up_first_workspace(new).await })
        })
        .collect();
    let mut created = 0;
    for setup in setups {
        match setup.await.unwrap() {
            Ok(()) => created += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(f.store.workspace_count().await.unwrap(), 1);
    // The CLI may add more; the setup page never again.
    team(&*f.store, "second@acme.test").await;
    let (late, _) = new_workspace("late@acme.test");
    assert!(conflict(f.store.set_up_first_workspace(late).await));
    assert_eq!(f.store.workspace_count().await.unwrap(), 2);
}

async fn acknowledged_writes_survive_reopening(backend: Backend) {
    let Some(db) = TestDatabase::create(backend).await else {
        return;
    };
    let (workspace, ada) = {
        let store = db.open().await;
        let acme = team(&*store, "owner@acme.test").await;
        (
            acme.workspace,
            contact(&*store, acme.workspace, "ada").await,
        )
    };
    let store = db.open().await;
    assert_eq!(
        store
            .contact(workspace, ada)
            .await
            .unwrap()
            .user_id
            .as_deref(),
        Some("ada")
    );
}
