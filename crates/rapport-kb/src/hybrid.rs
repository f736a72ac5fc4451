//! Ranking by keywords, by meaning, or both fused. BM25 finds the words a
//! question shares with an article; sentence vectors find the paraphrases
//! BM25 misses ("my customers get two texts" for duplicated reminders).
//! Hybrid ranking fuses the two lists by reciprocal rank (each list's
//! scales differ, ranks do not), and a passage's confidence is the better
//! of its two: the share of the question's words it holds, or its
//! similarity to the question mapped onto the same 0-to-1 scale.

use std::sync::Arc;

use crate::Built;
use crate::bm25::same_language;
use crate::embed::cosine;

/// How a search ranks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// BM25 alone.
    Keywords,
    /// Sentence vectors alone.
    Embeddings,
    /// Both, fused by rank.
    Hybrid,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Keywords => "BM25 alone",
            Mode::Embeddings => "embeddings alone",
            Mode::Hybrid => "hybrid (reciprocal rank fusion)",
        }
    }
}

/// Each list's depth read for the fusion.
const DEPTH: usize = 30;
/// Reciprocal rank fusion's constant (the usual 60).
const RRF_K: f64 = 60.0;
/// Cosine similarities mapped onto 0 to 1: below `FLOOR` nothing, `FULL`
/// and above everything.
const FLOOR: f64 = 0.35;
const FULL: f64 = 0.85;

/// A cosine on the confidence scale.
fn calibrated(cos: f32) -> f64 {
    ((f64::from(cos) - FLOOR) / (FULL - FLOOR)).clamp(0.0, 1.0)
}

/// How sure a hybrid search is of a passage: its similarity to the
/// question, raised by the share of the question's words it holds.
fn confidence(coverage: f64, cos: f32) -> f64 {
    coverage.max(calibrated(cos))
}

/// Passages by BM25, with their coverage as confidence.
pub(crate) fn keywords(
    built: &Built,
    query: &str,
    languages: &[String],
    limit: usize,
) -> Vec<(usize, f64)> {
    built
        .bm25
        .search(query, languages, limit)
        .into_iter()
        .map(|f| (f.passage, f.coverage))
        .collect()
}

/// Passages by vector, or fused with BM25's.
pub(crate) fn search(
    built: &Built,
    vectors: &[Arc<[f32]>],
    q: &[f32],
    mode: Mode,
    query: &str,
    languages: &[String],
    limit: usize,
) -> Vec<(usize, f64)> {
    let mut dense: Vec<(usize, f32)> = vectors
        .iter()
        .enumerate()
        .filter(|(i, v)| {
            !v.is_empty()
                && (languages.is_empty()
                    || languages
                        .iter()
                        .any(|l| same_language(l, &built.passages[*i].language)))
        })
        .map(|(i, v)| (i, cosine(q, v)))
        .collect();
    let depth = DEPTH.max(limit);
    if dense.len() > depth {
        dense.select_nth_unstable_by(depth, |a, b| b.1.total_cmp(&a.1));
        dense.truncate(depth);
    }
    dense.sort_by(|a, b| b.1.total_cmp(&a.1));
    if mode == Mode::Embeddings {
        return dense
            .into_iter()
            .take(limit)
            .map(|(i, cos)| (i, calibrated(cos)))
            .collect();
    }
    let sparse = built.bm25.search(query, languages, depth);
    let mut fused: Vec<(usize, f64, f64)> = Vec::new();
    let mut add = |i: usize, rank: usize, weight: f64, confidence: f64| {
        let score = weight / (RRF_K + rank as f64 + 1.0);
        match fused.iter_mut().find(|(p, _, _)| *p == i) {
            Some(entry) => {
                entry.1 += score;
                entry.2 = entry.2.max(confidence);
            }
            None => fused.push((i, score, confidence)),
        }
    };
    // A BM25 match counts by the share of the question it holds: one
    // shared common word ("booking") says little, and must not outrank
    // what the vectors found.
    for (rank, f) in sparse.iter().enumerate() {
        let cos = vectors.get(f.passage).map_or(0.0, |v| cosine(q, v));
        add(
            f.passage,
            rank,
            f.coverage.powi(3),
            confidence(f.coverage, cos),
        );
    }
    for (rank, (i, cos)) in dense.iter().enumerate() {
        let coverage = sparse
            .iter()
            .find(|f| f.passage == *i)
            .map_or(0.0, |f| f.coverage);
        add(*i, rank, 1.0, confidence(coverage, *cos));
    }
    fused.sort_by(|a, b| b.1.total_cmp(&a.1));
    fused
        .into_iter()
        .take(limit)
        .map(|(i, _, confidence)| (i, confidence))
        .collect()
}
