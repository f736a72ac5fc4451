//! Reading a contact's answer to a bot: which button they chose, and
//! whether a typed answer fits the question.

use serde_json::Value as Json;

use super::flow::AnswerType;
use crate::model::agent::Email;

/// The longest answer kept.
pub const MAX_ANSWER: usize = 1_000;

/// The button an answer names: its label (case and spaces aside) or its
/// number from 1, as typed.
pub fn chosen_button(buttons: &[String], answer: &str) -> Option<usize> {
    let answer = answer.trim();
    if let Some(i) = buttons
        .iter()
        .position(|b| b.trim().eq_ignore_ascii_case(answer))
    {
        return Some(i);
    }
    answer
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=buttons.len()).contains(n))
        .map(|n| n - 1)
}

/// The value to save for an answer, or why it does not fit.
pub fn read_answer(answer: AnswerType, choices: &[String], text: &str) -> Result<Json, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("the answer is empty".into());
    }
    if text.len() > MAX_ANSWER {
        return Err(format!("the answer is over {MAX_ANSWER} bytes"));
    }
    match answer {
        AnswerType::Text => Ok(Json::String(text.to_owned())),
        AnswerType::Email => Email::parse(text)
            .map(|e| Json::String(e.as_str().to_owned()))
            .map_err(|_| "that does not look like an email address".into()),
        AnswerType::Phone => {
            let digits = text.chars().filter(char::is_ascii_digit).count();
            let allowed = text
                .chars()
                .all(|c| c.is_ascii_digit() || " +-().".contains(c));
            if allowed && (6..=15).contains(&digits) {
                Ok(Json::String(text.to_owned()))
            } else {
                Err("that does not look like a phone number".into())
            }
        }
        AnswerType::Number => text
            .replace(',', ".")
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .and_then(|n| serde_json::Number::from_f64(n).map(Json::Number))
            .ok_or_else(|| "that is not a number".into()),
        AnswerType::Choice => chosen_button(choices, text)
            .map(|i| Json::String(choices[i].clone()))
            .ok_or_else(|| format!("please choose one of: {}", choices.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buttons_are_chosen_by_label_or_number() {
        let buttons = vec!["Pricing".to_owned(), "Talk to sales".to_owned()];
        assert_eq!(chosen_button(&buttons, " talk TO sales "), Some(1));
        assert_eq!(chosen_button(&buttons, "1"), Some(0));
        assert_eq!(chosen_button(&buttons, "3"), None);
        assert_eq!(chosen_button(&buttons, "something else"), None);
    }

    #[test]
    fn answers_are_checked_by_type() {
        assert_eq!(
            read_answer(AnswerType::Email, &[], " Ann@Example.com "),
            Ok(Json::String("ann@example.com".into()))
        );
        assert!(read_answer(AnswerType::Email, &[], "not an email").is_err());
        assert!(read_answer(AnswerType::Phone, &[], "+44 (20) 7946-0958").is_ok());
        assert!(read_answer(AnswerType::Phone, &[], "call me").is_err());
        assert_eq!(
            read_answer(AnswerType::Number, &[], "12,5"),
            Ok(serde_json::json!(12.5))
        );
        assert!(read_answer(AnswerType::Number, &[], "NaN").is_err());
        let choices = vec!["1-10".to_owned(), "11-50".to_owned()];
        assert_eq!(
            read_answer(AnswerType::Choice, &choices, "11-50"),
            Ok(Json::String("11-50".into()))
        );
        assert!(read_answer(AnswerType::Text, &[], "   ").is_err());
    }
}
