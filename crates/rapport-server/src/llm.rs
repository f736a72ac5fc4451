//! Answers written by a language model behind an OpenAI-compatible chat
//! endpoint (`POST {llm_base_url}/chat/completions`: llama.cpp's server,
//! vLLM and Ollama all speak it). The model gets the question and the
//! numbered passages only, and must reply with JSON naming the passages it
//! used; the bot then checks the answer against them
//! (`model::bot::supported`) and falls back to the passage when it cannot.

use std::time::Duration;

use async_trait::async_trait;
use rapport_core::ports::knowledge::SearchHit;
use rapport_core::ports::writer::{AnswerWriter, Draft};
use serde_json::{Value, json};

use crate::config::Config;

/// The most of a reply read.
const MAX_REPLY_BYTES: usize = 256 * 1024;

const INSTRUCTIONS: &str = "You answer a customer's question for a support team, using only the numbered help-center passages you are given. \
Reply with one JSON object and nothing else: {\"answer\": \"...\", \"citations\": [1]} where citations are the numbers of the passages the answer comes from, \
or {\"answer\": null, \"citations\": []} when the passages do not answer the question. \
Say nothing the passages do not say; do not invent steps, prices, times or policies. Answer in the question's language, in at most four sentences.";

pub struct ChatWriter {
    client: reqwest::Client,
    url: String,
    model: String,
    api_key: Option<String>,
}

impl ChatWriter {
    /// The writer the configuration names, if it names one.
    pub fn from_config(config: &Config) -> anyhow::Result<Option<Self>> {
        let (Some(base), Some(model)) = (&config.llm_base_url, &config.llm_model) else {
            return Ok(None);
        };
        let url = format!("{}/chat/completions", base.trim_end_matches('/'));
        reqwest::Url::parse(&url).map_err(|e| anyhow::anyhow!("llm_base_url: {e}"))?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.llm_timeout_seconds.max(1)))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Some(Self {
            client,
            url,
            model: model.clone(),
            api_key: config.llm_api_key.as_ref().map(|k| k.expose().to_owned()),
        }))
    }
}

/// The user's turn: the passages, numbered from 1, then the question.
fn prompt(question: &str, passages: &[SearchHit]) -> String {
    let mut text = String::from("Passages:\n");
    for (i, p) in passages.iter().enumerate() {
        let heading = p
            .heading
            .as_deref()
            .map(|h| format!(" — {h}"))
            .unwrap_or_default();
        text.push_str(&format!(
            "\n[{}] {}{heading}\n{}\n",
            i + 1,
            p.title,
            p.text.trim()
        ));
    }
    text.push_str(&format!("\nQuestion: {question}"));
    text
}

/// Reads the model's JSON (fenced in ``` or not).
fn draft(content: &str, passages: usize) -> Result<Option<Draft>, String> {
    let trimmed = content.trim();
    let inner = trimmed
        .strip_prefix("```json")
        .or_else(|| trimmed.strip_prefix("```"))
        .and_then(|t| t.strip_suffix("```"))
        .unwrap_or(trimmed);
    let reply: Value = serde_json::from_str(inner.trim())
        .map_err(|e| format!("the model's reply is not the JSON asked for: {e}"))?;
    let Some(answer) = reply.get("answer").and_then(Value::as_str) else {
        return Ok(None);
    };
    if answer.trim().is_empty() {
        return Ok(None);
    }
    let cited = reply
        .get("citations")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_u64)
                .filter(|n| *n >= 1 && (*n as usize) <= passages)
                .map(|n| n as usize - 1)
                .collect()
        })
        .unwrap_or_default();
    Ok(Some(Draft {
        text: answer.chars().take(4_000).collect(),
        cited,
    }))
}

#[async_trait]
impl AnswerWriter for ChatWriter {
    async fn write(&self, question: &str, passages: &[SearchHit]) -> Result<Option<Draft>, String> {
        let body = json!({
            "model": self.model,
            "temperature": 0,
            "response_format": {"type": "json_object"},
            "messages": [
                {"role": "system", "content": INSTRUCTIONS},
                {"role": "user", "content": prompt(question, passages)},
            ],
        });
        let mut request = self.client.post(&self.url).json(&body);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| format!("the model did not answer: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("the model's server answered {}", response.status()));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
            if bytes.len() + chunk.len() > MAX_REPLY_BYTES {
                return Err("the model's reply is too long".into());
            }
            bytes.extend_from_slice(&chunk);
        }
        let reply: Value =
            serde_json::from_slice(&bytes).map_err(|e| format!("not a chat reply: {e}"))?;
        let content = reply["choices"][0]["message"]["content"]
            .as_str()
            .ok_or("the chat reply has no message")?;
        draft(content, passages.len())
    }

    fn model(&self) -> &str {
        &self.model
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_read_fenced_or_not_and_citations_kept_in_range() {
        let d = draft(
            "```json\n{\"answer\": \"Do X.\", \"citations\": [2, 9, 0]}\n```",
            3,
        )
        .unwrap()
        .unwrap();
        assert_eq!(d.cited, [1]);
        assert_eq!(
            draft("{\"answer\": null, \"citations\": []}", 3).unwrap(),
            None
        );
        assert!(draft("Sure! Do X.", 3).is_err());
    }
}
