//! BM25 over the passages' titles, headings and text, in memory, one set
//! of fields per article language (each with its language's stemmer and
//! stop words). Query words the index does not know are mapped to the
//! nearest word it knows (one edit for short words, two for long ones), so
//! "cancle" finds "cancel".

use std::collections::{HashMap, HashSet};

use rapport_core::model::knowledge::Passage;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
    TokenStream,
};
use tantivy::{Index, IndexReader, TantivyDocument, Term, doc};

/// How much a word in the title and in the heading counts beside one in
/// the text.
const TITLE_BOOST: f32 = 2.0;
const HEADING_BOOST: f32 = 1.5;
/// The most words of a query that are read.
const MAX_QUERY_TERMS: usize = 32;

struct Fields {
    title: Field,
    heading: Field,
    body: Field,
}

/// One language's analyzer and what the index holds in it.
struct Lang {
    fields: Fields,
    analyzer: TextAnalyzer,
    /// Each word's document frequency (passages containing it).
    vocabulary: HashMap<String, u32>,
}

pub struct Bm25 {
    reader: IndexReader,
    passage: Field,
    langs: HashMap<String, Lang>,
    /// Each passage's words (title, heading and text), in its language.
    words: Vec<HashSet<String>>,
    languages: Vec<String>,
    passages: usize,
}

/// A passage found: its position in the list the index was built from,
/// its BM25 score and the share of the query's weight it covers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Found {
    pub passage: usize,
    pub score: f32,
    pub coverage: f64,
}

fn language(tag: &str) -> Option<Language> {
    let primary = tag.split('-').next().unwrap_or(tag);
    Some(match primary {
        "en" => Language::English,
        "de" => Language::German,
        "fr" => Language::French,
        "es" => Language::Spanish,
        "it" => Language::Italian,
        "pt" => Language::Portuguese,
        "nl" => Language::Dutch,
        "sv" => Language::Swedish,
        "da" => Language::Danish,
        "fi" => Language::Finnish,
        "no" | "nb" | "nn" => Language::Norwegian,
        "ru" => Language::Russian,
        "hu" => Language::Hungarian,
        "ro" => Language::Romanian,
        "tr" => Language::Turkish,
        _ => return None,
    })
}

/// Words of a question that say nothing of its subject ("how do I …"):
/// dropped beside the language's own stop words, which list only the
/// commonest function words.
fn question_words(tag: &str) -> &'static [&'static str] {
    match tag.split('-').next().unwrap_or(tag) {
        "en" => &[
            "how", "what", "why", "when", "where", "who", "which", "can", "could", "do", "does",
            "did", "i", "im", "i'm", "me", "my", "we", "our", "you", "your", "is", "are", "am",
            "should", "would", "will", "want", "need", "please", "hi", "hello", "hey", "thanks",
            "thank", "there", "way", "get", "any", "have", "has", "it", "its", "so", "just", "was",
            "were", "be", "been", "about", "from", "some", "with", "the", "a", "an", "to", "of",
            "in", "on", "for", "and", "or", "if", "this", "that", "not", "no", "yes",
        ],
        "de" => &[
            "wie", "was", "warum", "wann", "wo", "wer", "welche", "welcher", "kann", "können",
            "ich", "mein", "meine", "meinen", "mir", "mich", "wir", "unser", "sie", "ihr", "ist",
            "sind", "bitte", "hallo", "danke", "man", "es", "gibt", "habe", "hat", "der", "die",
            "das", "ein", "eine", "einen", "und", "oder", "zu", "mit", "von", "für", "auf",
        ],
        _ => &[],
    }
}

/// The analyzer of a language: words, lowercased, stop words (and question
/// words) dropped and stemmed where the language is known; plain words
/// otherwise.
pub fn analyzer(tag: &str) -> TextAnalyzer {
    let asks: Vec<String> = question_words(tag)
        .iter()
        .map(|w| (*w).to_owned())
        .collect();
    let base = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(StopWordFilter::remove(asks));
    match language(tag) {
        Some(lang) => match StopWordFilter::new(lang) {
            Some(stop) => base.filter(stop).filter(Stemmer::new(lang)).build(),
            None => base.filter(Stemmer::new(lang)).build(),
        },
        None => base.build(),
    }
}

fn words(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

impl Bm25 {
    /// Indexes the passages (their positions in `passages` are what
    /// [`Found::passage`] gives back).
    pub fn build(passages: &[Passage]) -> tantivy::Result<Self> {
        let mut languages: Vec<String> = passages.iter().map(|p| p.language.clone()).collect();
        languages.sort();
        languages.dedup();
        let mut builder = Schema::builder();
        let passage = builder.add_u64_field("passage", NumericOptions::default().set_stored());
        let mut fields = Vec::new();
        for tag in &languages {
            let options = TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(&format!("rk_{tag}"))
                    .set_index_option(IndexRecordOption::WithFreqs),
            );
            fields.push(Fields {
                title: builder.add_text_field(&format!("title_{tag}"), options.clone()),
                heading: builder.add_text_field(&format!("heading_{tag}"), options.clone()),
                body: builder.add_text_field(&format!("body_{tag}"), options),
            });
        }
        let index = Index::create_in_ram(builder.build());
        let mut langs: HashMap<String, Lang> = HashMap::new();
        for (tag, fields) in languages.iter().zip(fields) {
            index
                .tokenizers()
                .register(&format!("rk_{tag}"), analyzer(tag));
            langs.insert(
                tag.clone(),
                Lang {
                    fields,
                    analyzer: analyzer(tag),
                    vocabulary: HashMap::new(),
                },
            );
        }
        let mut writer = index.writer_with_num_threads(1, 50_000_000)?;
        let mut all_words = Vec::with_capacity(passages.len());
        for (i, p) in passages.iter().enumerate() {
            let Some(lang) = langs.get_mut(&p.language) else {
                all_words.push(HashSet::new());
                continue;
            };
            let heading = p.heading.as_deref().unwrap_or_default();
            let mut seen: HashSet<String> = HashSet::new();
            for text in [p.title.as_str(), heading, p.text.as_str()] {
                seen.extend(words(&mut lang.analyzer, text));
            }
            for word in &seen {
                *lang.vocabulary.entry(word.clone()).or_default() += 1;
            }
            all_words.push(seen);
            let f = &lang.fields;
            writer.add_document(doc!(
                passage => i as u64,
                f.title => p.title.as_str(),
                f.heading => heading,
                f.body => p.text.as_str(),
            ))?;
        }
        writer.commit()?;
        let reader = index.reader()?;
        Ok(Self {
            reader,
            passage,
            langs,
            words: all_words,
            languages,
            passages: passages.len(),
        })
    }

    /// The language tags the index holds.
    pub fn languages(&self) -> &[String] {
        &self.languages
    }

    /// The inverse document frequency of a word (as BM25 weighs it).
    fn idf(&self, df: u32) -> f64 {
        let n = self.passages as f64;
        let df = f64::from(df);
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }

    /// The query's words in one language, each mapped to the index's word
    /// and weighted: (word, weight, whether it was corrected).
    fn query_words(&self, lang: &Lang, query: &str) -> Vec<(String, f64, bool)> {
        let mut analyzer = lang.analyzer.clone();
        let mut out: Vec<(String, f64, bool)> = Vec::new();
        for word in words(&mut analyzer, query)
            .into_iter()
            .take(MAX_QUERY_TERMS)
        {
            let (word, df, corrected) = match lang.vocabulary.get(&word) {
                Some(df) => (word, *df, false),
                None => match nearest(&lang.vocabulary, &word) {
                    Some((known, df)) => (known, df, true),
                    None => (word, 0, false),
                },
            };
            if !out.iter().any(|(w, _, _)| *w == word) {
                out.push((word, self.idf(df), corrected));
            }
        }
        out
    }

    /// The best passages for `query`, in `languages` (all when empty).
    pub fn search(&self, query: &str, languages: &[String], limit: usize) -> Vec<Found> {
        let searcher = self.reader.searcher();
        let mut found: Vec<Found> = Vec::new();
        for (tag, lang) in &self.langs {
            if !languages.is_empty() && !languages.iter().any(|l| same_language(l, tag)) {
                continue;
            }
            let terms = self.query_words(lang, query);
            let total: f64 = terms.iter().map(|(_, w, _)| w).sum();
            if terms.is_empty() || total <= 0.0 {
                continue;
            }
            let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for (word, _, _) in terms
                .iter()
                .filter(|(w, _, _)| lang.vocabulary.contains_key(w))
            {
                for (field, boost) in [
                    (lang.fields.title, TITLE_BOOST),
                    (lang.fields.heading, HEADING_BOOST),
                    (lang.fields.body, 1.0),
                ] {
                    let term = TermQuery::new(
                        Term::from_field_text(field, word),
                        IndexRecordOption::WithFreqs,
                    );
                    clauses.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(Box::new(term), boost)),
                    ));
                }
            }
            if clauses.is_empty() {
                continue;
            }
            let query = BooleanQuery::new(clauses);
            let Ok(top) =
                searcher.search(&query, &TopDocs::with_limit(limit.max(1)).order_by_score())
            else {
                continue;
            };
            for (score, address) in top {
                let Ok(doc) = searcher.doc::<TantivyDocument>(address) else {
                    continue;
                };
                let Some(passage) = doc.get_first(self.passage).and_then(|v| v.as_u64()) else {
                    continue;
                };
                let passage = passage as usize;
                let have = &self.words[passage];
                let covered: f64 = terms
                    .iter()
                    .filter(|(w, _, _)| have.contains(w))
                    .map(|(_, weight, corrected)| if *corrected { weight * 0.8 } else { *weight })
                    .sum();
                found.push(Found {
                    passage,
                    score,
                    coverage: covered / total,
                });
            }
        }
        // BM25 alone favours a passage repeating one of the words; weighing
        // it by the share of the question it covers prefers the passage
        // that answers all of it.
        found.sort_by(|a, b| rank(b).total_cmp(&rank(a)));
        found.truncate(limit);
        found
    }
}

/// The order passages are given in.
fn rank(found: &Found) -> f64 {
    f64::from(found.score) * (0.25 + found.coverage)
}

/// Whether two language tags name the same language (`pt-br` and `pt`).
pub fn same_language(a: &str, b: &str) -> bool {
    a.split('-').next() == b.split('-').next()
}

/// The known word nearest `word` within one edit (two for words of eight
/// letters or more), the more frequent on a tie; none for short words.
fn nearest(vocabulary: &HashMap<String, u32>, word: &str) -> Option<(String, u32)> {
    let len = word.chars().count();
    if len < 4 {
        return None;
    }
    let most = if len >= 8 { 2 } else { 1 };
    let mut best: Option<(usize, u32, &String)> = None;
    for (known, df) in vocabulary {
        let known_len = known.chars().count();
        if known_len.abs_diff(len) > most {
            continue;
        }
        let distance = strsim::damerau_levenshtein(word, known);
        if distance == 0 || distance > most {
            continue;
        }
        let better = match best {
            None => true,
            Some((d, f, _)) => distance < d || (distance == d && *df > f),
        };
        if better {
            best = Some((distance, *df, known));
        }
    }
    best.map(|(_, df, known)| (known.clone(), df))
}
