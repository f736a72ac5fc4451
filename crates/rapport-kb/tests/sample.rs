//! Search on the labelled sample knowledge base: BM25 alone always; with
//! the embedding model when `RAPPORT_TEST_EMBEDDING_MODEL` names its directory
//! (scripts/test fetches it and sets `RAPPORT_REQUIRE_EMBEDDING_MODEL`, so
//! the suite never skips it silently).

use std::sync::Arc;

use rapport_core::model::bot::DEFAULT_THRESHOLD;
use rapport_kb::sample::{self, Question};
use rapport_kb::{Built, Embedder, Mode};

/// Share of `questions` whose article is among the first three found.
fn recall_at_3(built: &Built, mode: Mode, questions: &[&Question]) -> f64 {
    let found = questions
        .iter()
        .filter(|q| {
            let hits = built.search_with(mode, &q.text, &[], 10);
            let mut slugs: Vec<&str> = Vec::new();
            for h in &hits {
                if !slugs.contains(&h.slug.as_str()) {
                    slugs.push(&h.slug);
                }
            }
            slugs
                .iter()
                .take(3)
                .any(|s| Some(*s) == q.article.as_deref())
        })
        .count();
    found as f64 / questions.len() as f64
}

fn of_kind<'a>(questions: &'a [Question], kinds: &[&str]) -> Vec<&'a Question> {
    questions
        .iter()
        .filter(|q| kinds.contains(&q.kind.as_str()))
        .collect()
}

fn refused(built: &Built, mode: Mode, questions: &[&Question]) -> f64 {
    let n = questions
        .iter()
        .filter(|q| {
            built
                .search_with(mode, &q.text, &[], 3)
                .first()
                .is_none_or(|h| h.confidence < DEFAULT_THRESHOLD)
        })
        .count();
    n as f64 / questions.len() as f64
}

#[test]
fn bm25_finds_worded_and_misspelt_questions_and_refuses_most_it_cannot_answer() {
    let dir = sample::dir();
    let built = Built::new(1, &sample::published(&dir).unwrap(), None).unwrap();
    let questions = sample::questions(&dir).unwrap();
    let worded = of_kind(&questions, &["keyword", "typo", "german"]);
    let r = recall_at_3(&built, Mode::Keywords, &worded);
    assert!(r >= 0.95, "recall@3 {r:.2} on {} questions", worded.len());
    let unanswerable = of_kind(&questions, &["unanswerable"]);
    let refusals = refused(&built, Mode::Keywords, &unanswerable);
    assert!(
        refusals >= 0.85,
        "refused {refusals:.2} of the unanswerable"
    );
}

#[test]
fn with_the_model_hybrid_search_also_finds_paraphrases() {
    let Some(dir) = std::env::var_os("RAPPORT_TEST_EMBEDDING_MODEL") else {
        assert!(
            std::env::var_os("RAPPORT_REQUIRE_EMBEDDING_MODEL").is_none(),
            "RAPPORT_REQUIRE_EMBEDDING_MODEL is set but RAPPORT_TEST_EMBEDDING_MODEL is not (run scripts/fetch-model)"
        );
        eprintln!("skipped: set RAPPORT_TEST_EMBEDDING_MODEL (scripts/fetch-model) to run it");
        return;
    };
    let embedder = Arc::new(Embedder::load(std::path::Path::new(&dir)).unwrap());
    let sample_dir = sample::dir();
    let built = Built::new(1, &sample::published(&sample_dir).unwrap(), Some(embedder)).unwrap();
    let questions = sample::questions(&sample_dir).unwrap();
    let paraphrases = of_kind(&questions, &["paraphrase"]);
    let keywords = recall_at_3(&built, Mode::Keywords, &paraphrases);
    let hybrid = recall_at_3(&built, Mode::Hybrid, &paraphrases);
    assert!(
        hybrid >= keywords + 0.3,
        "paraphrases: BM25 {keywords:.2}, hybrid {hybrid:.2}"
    );
    let answerable = of_kind(&questions, &["keyword", "typo", "german", "paraphrase"]);
    let all = recall_at_3(&built, Mode::Hybrid, &answerable);
    assert!(all >= 0.85, "hybrid recall@3 {all:.2}");
    assert_eq!(built.mode(), Mode::Hybrid);
}
