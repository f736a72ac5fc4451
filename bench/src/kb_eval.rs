//! `kb-eval`: how well the knowledge base's search finds the right article
//! for the labelled questions of `samples/knowledge-base`, and how fast it
//! is on larger knowledge bases. Prints recall@1, recall@3 and MRR per
//! retrieval mode and per kind of question, the refusals on the questions
//! the knowledge base cannot answer at each threshold, and search latency
//! with 1,000 and 10,000 articles.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use rapport_core::model::knowledge::Article;
use rapport_core::ports::knowledge::SearchHit;
use rapport_kb::sample::{self, Question};
use rapport_kb::{Built, Embedder, Mode};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The sample: `articles/*.md` and `questions.jsonl`.
    #[arg(long, default_value = "samples/knowledge-base")]
    sample: PathBuf,
    /// The embedding model's directory (what scripts/fetch-model made);
    /// without it, only BM25 is measured.
    #[arg(long, env = "RAPPORT_EMBEDDING_MODEL")]
    model: Option<PathBuf>,
    /// The threshold the refusal figures are headlined at.
    #[arg(long, default_value_t = rapport_core::model::bot::DEFAULT_THRESHOLD)]
    threshold: f64,
    /// Skip the latency runs.
    #[arg(long)]
    no_latency: bool,
}

/// The distinct articles of the hits, best first.
fn ranked(hits: &[SearchHit]) -> Vec<&str> {
    let mut slugs: Vec<&str> = Vec::new();
    for hit in hits {
        if !slugs.contains(&hit.slug.as_str()) {
            slugs.push(&hit.slug);
        }
    }
    slugs
}

#[derive(Default, Clone, Copy)]
struct Tally {
    n: u32,
    at1: u32,
    at3: u32,
    rr: f64,
}

impl Tally {
    fn add(&mut self, rank: Option<usize>) {
        self.n += 1;
        if let Some(r) = rank {
            if r == 0 {
                self.at1 += 1;
            }
            if r < 3 {
                self.at3 += 1;
            }
            self.rr += 1.0 / (r as f64 + 1.0);
        }
    }

    fn line(&self, label: &str) -> String {
        let n = f64::from(self.n.max(1));
        format!(
            "| {label} | {} | {:.2} | {:.2} | {:.2} |",
            self.n,
            f64::from(self.at1) / n,
            f64::from(self.at3) / n,
            self.rr / n
        )
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let published = sample::published(&args.sample).map_err(anyhow::Error::msg)?;
    let questions = sample::questions(&args.sample).map_err(anyhow::Error::msg)?;
    if published.is_empty() || questions.is_empty() {
        bail!("no articles or questions under {}", args.sample.display());
    }
    let embedder = match &args.model {
        Some(dir) => Some(std::sync::Arc::new(
            Embedder::load(dir)
                .with_context(|| format!("loading the model from {}", dir.display()))?,
        )),
        None => None,
    };
    let started = Instant::now();
    let built = Built::new(1, &published, embedder.clone()).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "{} published articles, {} passages, indexed in {:.1} s; {} questions",
        published.len(),
        built.passages.len(),
        started.elapsed().as_secs_f64(),
        questions.len()
    );
    let mut modes = vec![Mode::Keywords];
    if embedder.is_some() {
        modes.extend([Mode::Embeddings, Mode::Hybrid]);
    }
    let kinds = ["keyword", "paraphrase", "typo", "german"];
    for mode in modes {
        println!("\n### {}\n", mode.name());
        println!("| questions | n | recall@1 | recall@3 | MRR |\n|---|---|---|---|---|");
        let mut all = Tally::default();
        let mut by_kind = vec![Tally::default(); kinds.len()];
        // (confidence of the best hit, answerable?, the best hit's article
        // right?) for the refusal sweep.
        let mut best: Vec<(f64, bool, bool)> = Vec::new();
        for q in &questions {
            let hits = built.search_with(mode, &q.text, &[], 10);
            let top = hits.first().map_or(0.0, |h| h.confidence);
            if q.kind == "human" {
                continue;
            }
            let right = q
                .article
                .as_deref()
                .is_some_and(|a| ranked(&hits).first() == Some(&a));
            best.push((top, q.article.is_some(), right));
            let Some(expected) = &q.article else { continue };
            let rank = ranked(&hits).iter().position(|s| s == expected);
            all.add(rank);
            if let Some(i) = kinds.iter().position(|k| *k == q.kind) {
                by_kind[i].add(rank);
            }
        }
        println!("{}", all.line("all answerable"));
        for (kind, tally) in kinds.iter().zip(&by_kind) {
            println!("{}", tally.line(kind));
        }
        println!(
            "\n| threshold | unanswerable refused | refusal precision | answerable refused | answers from the right article |\n|---|---|---|---|---|"
        );
        let mut thresholds: Vec<f64> = (2..=9).map(|t| f64::from(t) / 10.0).collect();
        if !thresholds.iter().any(|t| (t - args.threshold).abs() < 1e-9) {
            thresholds.push(args.threshold);
            thresholds.sort_by(f64::total_cmp);
        }
        for t in thresholds {
            let unanswerable = best.iter().filter(|(_, a, _)| !a).count();
            let answerable = best.len() - unanswerable;
            let refused_u = best.iter().filter(|(c, a, _)| !a && *c < t).count();
            let refused_a = best.iter().filter(|(c, a, _)| *a && *c < t).count();
            let answered = best.iter().filter(|(c, _, _)| *c >= t).count();
            let answered_right = best.iter().filter(|(c, _, r)| *c >= t && *r).count();
            let precision = if refused_u + refused_a == 0 {
                1.0
            } else {
                refused_u as f64 / (refused_u + refused_a) as f64
            };
            println!(
                "| {t:.2}{} | {:.2} | {:.2} | {:.2} | {:.2} |",
                if (t - args.threshold).abs() < 1e-9 {
                    " (default)"
                } else {
                    ""
                },
                refused_u as f64 / unanswerable.max(1) as f64,
                precision,
                refused_a as f64 / answerable.max(1) as f64,
                answered_right as f64 / answered.max(1) as f64
            );
        }
    }
    if !args.no_latency {
        latency(&published, &questions, embedder)?;
    }
    Ok(())
}

/// Search latency over knowledge bases of 1,000 and 10,000 articles:
/// copies of the sample's articles under new slugs (so each distinct
/// passage is embedded once, and the index holds as many passages as a
/// knowledge base that size would).
fn latency(
    sample: &[Article],
    questions: &[Question],
    embedder: Option<std::sync::Arc<Embedder>>,
) -> anyhow::Result<()> {
    println!("\n### Latency (each question searched once per round, three rounds)\n");
    println!(
        "| articles | passages | mode | p50 | p99 | index built in |\n|---|---|---|---|---|---|"
    );
    let cache = rapport_kb::VectorCache::default();
    for size in [1_000usize, 10_000] {
        let mut corpus: Vec<Article> = sample.to_vec();
        while corpus.len() < size {
            let n = corpus.len();
            let original = &sample[n % sample.len()];
            let mut fields = original.fields.clone();
            fields.slug = format!("{}-{n}", fields.slug.chars().take(80).collect::<String>());
            corpus.push(sample::article(fields));
        }
        let started = Instant::now();
        let built = Built::with_cache(1, &corpus, embedder.clone(), &cache)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let build = started.elapsed();
        let mut modes = vec![Mode::Keywords];
        if embedder.is_some() {
            modes.push(Mode::Hybrid);
        }
        for mode in modes {
            let mut times: Vec<f64> = Vec::new();
            for _ in 0..3 {
                for q in questions {
                    let t = Instant::now();
                    let hits = built.search_with(mode, &q.text, &[], 10);
                    times.push(t.elapsed().as_secs_f64() * 1000.0);
                    std::hint::black_box(hits);
                }
            }
            times.sort_by(f64::total_cmp);
            let at = |p: f64| times[((times.len() as f64 - 1.0) * p).round() as usize];
            println!(
                "| {size} | {} | {} | {:.2} ms | {:.2} ms | {:.1} s |",
                built.passages.len(),
                mode.name(),
                at(0.5),
                at(0.99),
                build.as_secs_f64()
            );
        }
    }
    Ok(())
}
