//! Writing an answer from retrieved passages with a language model: an
//! OpenAI-compatible chat endpoint in `rapport-server` (llama.cpp's server,
//! vLLM, Ollama). Optional: without one the bot answers with the passage
//! itself.

use async_trait::async_trait;

use crate::ports::knowledge::SearchHit;

/// What the model wrote: the answer, and which passages (their positions
/// in the list it was given, from 0) it says it used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    pub text: String,
    pub cited: Vec<usize>,
}

#[async_trait]
pub trait AnswerWriter: Send + Sync {
    /// An answer to `question` from `passages` only; none when the model
    /// says they do not answer it. An error (unreachable, too slow, a
    /// reply that is not the agreed JSON) makes the bot fall back to the
    /// passage.
    async fn write(&self, question: &str, passages: &[SearchHit]) -> Result<Option<Draft>, String>;

    /// The model's name, for the settings page.
    fn model(&self) -> &str;
}
