//! The knowledge base's articles and the AI bot's turns: revisions kept
//! and pruned, the knowledge version moving with every write, imports by
//! slug, and a bot turn written once, fenced by its state.

use rapport_core::model::bot::{BotConversation, BotPhase, BotSettings, Outcome};
use rapport_core::model::ids::ArticleId;
use rapport_core::model::knowledge::{Article, ArticleFields, ArticleStatus, MAX_REVISIONS};

use crate::fixtures::*;

rapport_store::both_backends!(
    articles_keep_their_revisions_and_move_the_knowledge_version,
    an_import_creates_updates_or_leaves_each_article_by_slug,
    a_bot_turn_is_written_once_and_fenced_by_its_state,
);

fn fields(slug: &str, body: &str, status: ArticleStatus) -> ArticleFields {
    ArticleFields::new(
        Some(slug),
        &format!("About {slug}"),
        "General",
        "en",
        status,
        body,
    )
    .unwrap()
}

fn article(team: &Team, slug: &str, ms: i64) -> Article {
    Article {
        id: ArticleId::generate(),
        workspace_id: team.workspace,
        fields: fields(slug, "First words.", ArticleStatus::Published),
        author_id: Some(team.owner),
        revision: 1,
        created_at: at(ms),
        updated_at: at(ms),
    }
}

async fn articles_keep_their_revisions_and_move_the_knowledge_version(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let other = team(s, "owner@other.test").await;
    assert_eq!(s.knowledge_version(acme.workspace).await.unwrap(), 0);
    let a = s
        .create_article(article(&acme, "refunds", 10))
        .await
        .unwrap();
    let v1 = s.knowledge_version(acme.workspace).await.unwrap();
    assert!(v1 > 0);
    let taken = s.create_article(article(&acme, "refunds", 11)).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    // The same slug in another workspace is another article.
    s.create_article(article(&other, "refunds", 12))
        .await
        .unwrap();
    assert_eq!(s.knowledge_version(acme.workspace).await.unwrap(), v1);

    for i in 0..MAX_REVISIONS + 2 {
        let body = format!("Words, take {i}.");
        s.update_article(
            acme.workspace,
            a.id,
            fields("refunds", &body, ArticleStatus::Published),
            None,
            at(100 + i64::from(i)),
        )
        .await
        .unwrap();
    }
    let revisions = s.article_revisions(acme.workspace, a.id).await.unwrap();
    assert_eq!(
        revisions.len(),
        MAX_REVISIONS as usize,
        "the oldest are dropped"
    );
    assert_eq!(revisions[0].revision, MAX_REVISIONS + 3);
    assert_eq!(
        revisions[0].fields.body,
        format!("Words, take {}.", MAX_REVISIONS + 1)
    );
    assert!(s.knowledge_version(acme.workspace).await.unwrap() > v1);

    // Drafts are not published; another workspace's articles do not exist.
    s.update_article(
        acme.workspace,
        a.id,
        fields("refunds", "Later.", ArticleStatus::Draft),
        None,
        at(500),
    )
    .await
    .unwrap();
    assert!(
        s.published_articles(acme.workspace)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        s.article(other.workspace, a.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.delete_article(other.workspace, a.id).await,
        Err(StoreError::NotFound)
    ));
    let before = s.knowledge_version(acme.workspace).await.unwrap();
    s.delete_article(acme.workspace, a.id).await.unwrap();
    assert!(s.knowledge_version(acme.workspace).await.unwrap() > before);
    assert!(matches!(
        s.article_revisions(acme.workspace, a.id).await,
        Err(StoreError::NotFound)
    ));
}

async fn an_import_creates_updates_or_leaves_each_article_by_slug(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let done = s
        .import_articles(
            acme.workspace,
            vec![
                fields("a", "One.", ArticleStatus::Published),
                fields("b", "Two.", ArticleStatus::Draft),
            ],
            None,
            at(10),
        )
        .await
        .unwrap();
    assert_eq!((done.created, done.updated, done.unchanged), (2, 0, 0));
    let again = s
        .import_articles(
            acme.workspace,
            vec![
                fields("a", "One.", ArticleStatus::Published),
                fields("b", "Two, changed.", ArticleStatus::Draft),
            ],
            None,
            at(20),
        )
        .await
        .unwrap();
    assert_eq!((again.created, again.updated, again.unchanged), (0, 1, 1));
    // A slug twice in one import: the later file wins, as a revision.
    let twice = s
        .import_articles(
            acme.workspace,
            vec![
                fields("c", "Three.", ArticleStatus::Published),
                fields("c", "Three, again.", ArticleStatus::Published),
            ],
            None,
            at(30),
        )
        .await
        .unwrap();
    assert_eq!((twice.created, twice.updated), (1, 1));
    let c = s.article_by_slug(acme.workspace, "c").await.unwrap();
    assert_eq!((c.revision, c.fields.body.as_str()), (2, "Three, again."));
    assert_eq!(
        s.articles(
            acme.workspace,
            ArticleQuery {
                limit: 50,
                ..ArticleQuery::default()
            }
        )
        .await
        .unwrap()
        .len(),
        3
    );
}

async fn a_bot_turn_is_written_once_and_fenced_by_its_state(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let settings = BotSettings {
        enabled: true,
        ..BotSettings::default()
    };
    s.save_bot_settings(acme.workspace, settings.clone(), at(1))
        .await
        .unwrap();
    assert_eq!(s.bot_settings(acme.workspace).await.unwrap(), settings);
    let ada = contact(s, acme.workspace, "ada").await;
    let chat = start(s, &acme, ada, 10).await;
    let turn = |from: Option<i64>, handled: i64, body: &str, ms: i64| {
        let mut next = BotConversation::new(acme.workspace, chat.id, at(ms));
        next.handled_seq = handled;
        next.phase = BotPhase::AwaitingFeedback;
        next.last_answer_at = Some(at(ms));
        BotTurn {
            workspace_id: acme.workspace,
            contact_id: ada,
            from_seq: from,
            next,
            messages: vec![follow_up(
                ada,
                message(acme.workspace, chat.id, Author::Bot, body, ms),
            )],
            change: None,
            jobs: Vec::new(),
            answer: None,
        }
    };
    s.bot_turn(turn(None, 5, "An answer.", 20)).await.unwrap();
    // The same turn again (a job run twice), or one worked out from a
    // state that has moved: refused, nothing written.
    assert!(matches!(
        s.bot_turn(turn(None, 5, "Again.", 21)).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        s.bot_turn(turn(Some(4), 6, "Stale.", 22)).await,
        Err(StoreError::Conflict(_))
    ));
    let bodies: Vec<String> = s
        .conversation_parts(acme.workspace, chat.id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(bodies, ["Hi", "An answer."]);
    assert_eq!(
        s.bot_engaged(acme.workspace, &[chat.id]).await.unwrap(),
        [chat.id]
    );
    // 24 hours on, the answer is still the last: resolved (once).
    assert!(
        s.settle_bot_outcome(
            acme.workspace,
            chat.id,
            at(20),
            Outcome::ResolvedAssumed,
            at(90_000_000)
        )
        .await
        .unwrap()
    );
    assert!(
        !s.settle_bot_outcome(
            acme.workspace,
            chat.id,
            at(20),
            Outcome::ResolvedAssumed,
            at(90_000_001)
        )
        .await
        .unwrap()
    );
    let state = s
        .bot_conversation(acme.workspace, chat.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.outcome, Some(Outcome::ResolvedAssumed));
    assert_eq!(state.handled_seq, 5);
}
