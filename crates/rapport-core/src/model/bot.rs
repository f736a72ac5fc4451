//! The AI bot: its settings, what it keeps per conversation, and the
//! outcomes it records (defined as Intercom defines Fin's, so the figures
//! compare: resolved when the contact says so or asks nothing more within
//! 24 hours, handed over with a reason, or unanswered).

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::model::automation::flow::Assignee;
use crate::model::ids::{ArticleId, ConversationId, WorkspaceId};
use crate::model::knowledge::language_tag;
use crate::model::validation::{ValidationError, Validator, single_line_text};

/// How long after an answer with no further request it counts as resolved.
pub const ASSUMED_RESOLVED_AFTER_MILLIS: i64 = 24 * 3_600_000;
/// Unhelpful turns after which the bot offers a person.
pub const UNHELPFUL_TURNS_BEFORE_OFFER: u32 = 2;
/// The longest question the bot reads; the rest is ignored.
pub const MAX_QUESTION_CHARS: usize = 1_000;

/// The buttons the bot offers.
pub const YES: &str = "Yes, thanks";
pub const NO: &str = "No";
pub const PERSON: &str = "Talk to a person";

/// When the bot takes a new conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AnswersWhen {
    /// Every new conversation, before the team.
    #[default]
    Always,
    /// Only when no team member is available.
    NoAgentAvailable,
    /// Only outside business hours.
    OutsideHours,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BotSettings {
    pub enabled: bool,
    #[serde(default)]
    pub answers_when: AnswersWhen,
    /// Shown above its messages.
    pub name: String,
    /// An https address of an image, or none for the initials.
    #[serde(default)]
    pub avatar_url: Option<String>,
    /// The least confidence (0 to 1) at which it answers; below it, it
    /// says it does not know and offers a person.
    pub threshold: f64,
    /// The article languages it answers from (empty: all).
    #[serde(default)]
    pub languages: Vec<String>,
    /// Who a handover assigns the conversation to.
    #[serde(default = "round_robin")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub handover_to: Assignee,
}

fn round_robin() -> Assignee {
    Assignee::RoundRobin
}

impl Default for BotSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            answers_when: AnswersWhen::Always,
            name: "Rapport bot".into(),
            avatar_url: None,
            threshold: DEFAULT_THRESHOLD,
            languages: Vec::new(),
            handover_to: Assignee::RoundRobin,
        }
    }
}

/// The confidence the bot answers at unless told otherwise (chosen on
/// the labelled questions: see docs/ai-bot.md).
pub const DEFAULT_THRESHOLD: f64 = 0.5;

impl BotSettings {
    /// Checks each field; errors name it.
    pub fn check(mut self) -> Result<Self, ValidationError> {
        let mut v = Validator::default();
        if let Some(name) = v.check("name", single_line_text(&self.name, 60)) {
            self.name = name;
        }
        if let Some(url) = &self.avatar_url {
            let ok = url.len() <= 500
                && url::Url::parse(url).is_ok_and(|u| u.scheme() == "https" && u.host().is_some());
            if !ok {
                v.push(
                    "avatar_url",
                    "must be an https address of at most 500 characters",
                );
            }
        }
        if !(0.0..=1.0).contains(&self.threshold) || !self.threshold.is_finite() {
            v.push("threshold", "must be between 0 and 1");
        }
        if self.languages.len() > 20 {
            v.push("languages", "at most 20 languages");
        }
        let mut languages = Vec::new();
        for (i, tag) in self.languages.iter().enumerate() {
            if let Some(tag) = v.check(&format!("languages[{i}]"), language_tag(tag))
                && !languages.contains(&tag)
            {
                languages.push(tag);
            }
        }
        self.languages = languages;
        v.finish()?;
        Ok(self)
    }
}

/// Where a conversation stands with the bot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BotPhase {
    /// It answers the contact's questions.
    Answering,
    /// It answered and asked whether that helped.
    AwaitingFeedback,
    /// A person has the conversation; the bot stays out.
    HandedOver,
    /// It did not take the conversation (its settings said not to, or a
    /// person was already in it).
    Out,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The contact said the answer helped.
    ResolvedConfirmed,
    /// The contact asked nothing more within 24 hours of an answer.
    ResolvedAssumed,
    HandedOver,
    /// The bot could not answer, and no person took over.
    Unanswered,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::ResolvedConfirmed => "resolved_confirmed",
            Outcome::ResolvedAssumed => "resolved_assumed",
            Outcome::HandedOver => "handed_over",
            Outcome::Unanswered => "unanswered",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Outcome::ResolvedConfirmed,
            Outcome::ResolvedAssumed,
            Outcome::HandedOver,
            Outcome::Unanswered,
        ]
        .into_iter()
        .find(|o| o.as_str() == text)
    }
}

/// What the bot keeps about one conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BotConversation {
    pub conversation_id: ConversationId,
    pub workspace_id: WorkspaceId,
    pub phase: BotPhase,
    /// The log position of the last contact message the bot has dealt
    /// with: a turn is written only if this has not moved meanwhile.
    pub handled_seq: i64,
    /// Answers that did not help, and questions it could not answer.
    pub unhelpful: u32,
    pub answers: u32,
    /// Whether it has offered a person (it does so once unless asked).
    pub offered_person: bool,
    pub last_answer_at: Option<Timestamp>,
    pub outcome: Option<Outcome>,
    /// Why it handed over, or what it could not answer.
    pub outcome_reason: Option<String>,
    pub updated_at: Timestamp,
}

impl BotConversation {
    pub fn new(workspace_id: WorkspaceId, conversation_id: ConversationId, at: Timestamp) -> Self {
        Self {
            conversation_id,
            workspace_id,
            phase: BotPhase::Answering,
            handled_seq: 0,
            unhelpful: 0,
            answers: 0,
            offered_person: false,
            last_answer_at: None,
            outcome: None,
            outcome_reason: None,
            updated_at: at,
        }
    }
}

/// An article an answer was taken from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Source {
    pub article_id: ArticleId,
    pub title: String,
    /// The help center page of the article.
    pub url: String,
}

/// One question the bot was asked, for the report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BotAnswer {
    pub conversation_id: ConversationId,
    pub question: String,
    /// The article it answered from; none when it did not answer.
    pub article_id: Option<ArticleId>,
    pub confidence: f64,
    pub at: Timestamp,
}

/// What the contact's words ask of the bot, beside a question.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intent {
    /// A person, in so many words or with the button.
    Person,
    /// "Yes", the answer helped.
    Helped,
    /// "No", it did not.
    NotHelped,
    /// Anything else: a question.
    Question,
}

/// Reads what a contact wrote. Feedback words count only as feedback
/// (`awaiting_feedback`); asking for a person counts at any time.
pub fn intent(text: &str, awaiting_feedback: bool) -> Intent {
    let lower = text.trim().to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .collect();
    if lower == PERSON.to_lowercase() || asks_for_a_person(&lower, &words) {
        return Intent::Person;
    }
    if awaiting_feedback && words.len() <= 6 {
        let first = words.first().copied().unwrap_or_default();
        const YES_WORDS: [&str; 10] = [
            "yes", "yep", "yeah", "ja", "thanks", "thank", "great", "perfect", "helped", "ok",
        ];
        const NO_WORDS: [&str; 6] = ["no", "nope", "nein", "not", "didn't", "didnt"];
        if lower == NO.to_lowercase() || NO_WORDS.contains(&first) {
            return Intent::NotHelped;
        }
        if lower == YES.to_lowercase() || YES_WORDS.contains(&first) {
            return Intent::Helped;
        }
    }
    Intent::Question
}

fn asks_for_a_person(lower: &str, words: &[&str]) -> bool {
    const PHRASES: [&str; 14] = [
        "talk to a human",
        "speak to a human",
        "talk to a person",
        "speak to a person",
        "talk to someone",
        "speak to someone",
        "real person",
        "human please",
        "live agent",
        "talk to an agent",
        "speak to an agent",
        "customer service representative",
        "mit einem menschen",
        "mit einem mitarbeiter",
    ];
    if PHRASES.iter().any(|p| lower.contains(p)) {
        return true;
    }
    // Short messages that are just the ask: "human", "agent please".
    const WORDS: [&str; 7] = [
        "human",
        "person",
        "agent",
        "operator",
        "representative",
        "someone",
        "mensch",
    ];
    words.len() <= 3 && words.iter().any(|w| WORDS.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asking_for_a_person_is_heard_at_any_time_and_feedback_only_when_asked() {
        for text in [
            "Talk to a person",
            "I want to talk to a human",
            "human",
            "agent please",
            "Can I speak to someone?",
            "Ich möchte mit einem Menschen sprechen",
        ] {
            assert_eq!(intent(text, false), Intent::Person, "{text}");
        }
        assert_eq!(intent("Yes, thanks", true), Intent::Helped);
        assert_eq!(intent("yes", false), Intent::Question);
        assert_eq!(intent("No", true), Intent::NotHelped);
        assert_eq!(intent("not really", true), Intent::NotHelped);
        assert_eq!(
            intent("How do I add a person to my team?", false),
            Intent::Question
        );
        assert_eq!(
            intent(
                "no, how do I change my plan to yearly billing instead of monthly?",
                true
            ),
            Intent::Question
        );
    }

    #[test]
    fn settings_are_checked_field_by_field() {
        let bad = BotSettings {
            name: " ".into(),
            avatar_url: Some("http://x.test/a.png".into()),
            threshold: 1.5,
            languages: vec!["en".into(), "xx_y".into()],
            ..BotSettings::default()
        };
        let err = bad.check().unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "avatar_url", "threshold", "languages[1]"]);
        assert!(BotSettings::default().check().is_ok());
    }
}

/// Whether a written answer says only what its cited passages say: it
/// cites at least one of them, and each of its sentences has at least half
/// of its content words (four letters or more) in the cited passages. A
/// sentence of the model's own ("our support team is available 24/7")
/// fails. Returns why not.
pub fn supported(answer: &str, cited: &[&str]) -> Result<(), String> {
    if cited.is_empty() {
        return Err("it cites no passage".into());
    }
    let words = |text: &str| -> Vec<String> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().count() >= 4)
            .map(str::to_lowercase)
            .collect()
    };
    let known: std::collections::HashSet<String> = cited.iter().flat_map(|t| words(t)).collect();
    let sentences = answer
        .split(['.', '!', '?', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty());
    for sentence in sentences {
        let content = words(sentence);
        if content.is_empty() {
            continue;
        }
        let found = content.iter().filter(|w| known.contains(*w)).count();
        if found * 2 < content.len() {
            return Err(format!("\"{sentence}\" is not in the passages it cites"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod supported_tests {
    use super::supported;

    #[test]
    fn an_answer_must_stay_within_what_it_cites() {
        let passage = "Go to Settings, then Billing, and choose Cancel subscription. The paid plan stays active until the end of the billing period.";
        assert!(supported("Choose Cancel subscription under Settings, Billing. Your paid plan stays active until the period ends.", &[passage]).is_ok());
        let invented = supported(
            "Choose Cancel subscription under Settings. We also refund unused months immediately.",
            &[passage],
        );
        assert!(invented.unwrap_err().contains("refund unused months"));
        assert!(supported("Anything.", &[]).is_err());
    }
}
