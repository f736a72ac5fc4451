//! Sentence embeddings with all-MiniLM-L6-v2 (384 dimensions), computed in
//! process with candle: token states from the BERT model, averaged over
//! the tokens (not the padding) and scaled to unit length, so a dot product
//! is a cosine. The model directory is what `scripts/fetch-model` makes:
//! `config.json`, `model.safetensors` and `tokenizer.json`.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingStrategy, Tokenizer, TruncationParams};

/// Tokens read of one text: the model reads up to 256, but on the
/// labelled sample 128 finds the same articles at half the cost (a passage
/// is rarely longer, and its start says what it is about).
const MAX_TOKENS: usize = 128;
/// Texts embedded in one forward pass.
const BATCH: usize = 16;
/// The vectors' length.
pub const DIMENSIONS: usize = 384;
/// The model's name, as the settings page shows it.
pub const MODEL_NAME: &str = "all-MiniLM-L6-v2";

pub struct Embedder {
    model: BertModel,
    tokenizer: Tokenizer,
    /// One forward pass at a time: each uses every core already.
    running: std::sync::Mutex<()>,
}

/// Why the model could not be loaded or run.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct EmbedError(String);

fn err(e: impl std::fmt::Display) -> EmbedError {
    EmbedError(e.to_string())
}

impl Embedder {
    /// Loads the model from its directory; the weights are read into
    /// memory (about 90 MB).
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        let read = |name: &str| {
            std::fs::read(dir.join(name)).map_err(|e| EmbedError(format!("{name}: {e}")))
        };
        let config: Config = serde_json::from_slice(&read("config.json")?).map_err(err)?;
        let device = Device::Cpu;
        let weights =
            VarBuilder::from_buffered_safetensors(read("model.safetensors")?, DType::F32, &device)
                .map_err(err)?;
        let model = BertModel::load(weights, &config).map_err(err)?;
        let mut tokenizer = Tokenizer::from_bytes(read("tokenizer.json")?).map_err(err)?;
        // The file pads every text to 128 tokens: pad to the batch's
        // longest instead.
        let mut padding = tokenizer.get_padding().cloned().unwrap_or_default();
        padding.strategy = PaddingStrategy::BatchLongest;
        tokenizer.with_padding(Some(padding));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(err)?;
        Ok(Self {
            model,
            tokenizer,
            running: std::sync::Mutex::new(()),
        })
    }

    /// One unit vector per text, in order.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(BATCH) {
            out.extend(self.embed_batch(chunk)?);
        }
        Ok(out)
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(err)?;
        let n = encodings.len();
        let len = encodings.first().map_or(0, |e| e.get_ids().len());
        let column = |pick: fn(&tokenizers::Encoding) -> &[u32]| -> Vec<u32> {
            encodings
                .iter()
                .flat_map(|e| pick(e).iter().copied())
                .collect()
        };
        let device = Device::Cpu;
        let ids = Tensor::from_vec(column(|e| e.get_ids()), (n, len), &device).map_err(err)?;
        let types =
            Tensor::from_vec(column(|e| e.get_type_ids()), (n, len), &device).map_err(err)?;
        let mask =
            Tensor::from_vec(column(|e| e.get_attention_mask()), (n, len), &device).map_err(err)?;
        let _one = self.running.lock().unwrap_or_else(|e| e.into_inner());
        let pooled = (|| {
            let states = self.model.forward(&ids, &types, Some(&mask))?;
            let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
            let sum = states.broadcast_mul(&mask)?.sum(1)?;
            let mean = sum.broadcast_div(&mask.sum(1)?.clamp(1e-9f32, f32::MAX)?)?;
            let norm = mean
                .sqr()?
                .sum_keepdim(1)?
                .sqrt()?
                .clamp(1e-12f32, f32::MAX)?;
            mean.broadcast_div(&norm)?.to_vec2::<f32>()
        })()
        .map_err(err)?;
        Ok(pooled)
    }
}

/// The cosine of two unit vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
