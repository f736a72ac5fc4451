//! Field-level validation errors, produced where input becomes a domain type
//! and shown to API callers as the `errors` of a problem+json response.

use serde::Serialize;

/// What is wrong with one field of the input, named by its JSON path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// One or more invalid fields. Nothing was changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid input: {}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
pub struct ValidationError(pub Vec<FieldError>);

impl ValidationError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }
}

/// Collects field errors while parsing a request, so a caller hears about
/// every bad field at once instead of one per attempt.
#[derive(Debug, Default)]
pub struct Validator(Vec<FieldError>);

impl Validator {
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(message) => {
                self.0.push(FieldError {
                    field: field.to_owned(),
                    message,
                });
                None
            }
        }
    }

    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    pub fn finish(self) -> Result<(), ValidationError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ValidationError(self.0))
        }
    }
}

/// Trims `text` and checks it is between 1 and `max` characters.
pub fn non_empty_text(text: &str, max: usize) -> Result<String, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("must not be empty".into());
    }
    if trimmed.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    Ok(trimmed.to_owned())
}

/// As [`non_empty_text`], on one line: no control characters (line breaks,
/// tabs, NUL, escapes) and no Unicode line or paragraph separators. For
/// names and other text that may reach an email header, where a line
/// break would start a header of the sender's choosing.
pub fn single_line_text(text: &str, max: usize) -> Result<String, String> {
    let text = non_empty_text(text, max)?;
    if text.chars().any(breaks_a_line) {
        return Err("must be one line, without line breaks or control characters".into());
    }
    Ok(text)
}

/// Control characters, and the separators some readers treat as newlines.
pub fn breaks_a_line(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_line_text_refuses_breaks_and_controls_but_keeps_the_rest() {
        assert_eq!(single_line_text("  Ann Lee ", 20).unwrap(), "Ann Lee");
        assert_eq!(single_line_text("Zoë 李", 20).unwrap(), "Zoë 李");
        for bad in [
            "Ann\nBcc: all@x.test",
            "Ann\r\nX: y",
            "a\tb",
            "a\0b",
            "a\u{2028}b",
            "a\u{1b}[31m",
        ] {
            assert!(single_line_text(bad, 100).is_err(), "{bad:?}");
        }
        // Surrounding whitespace (a trailing newline too) is trimmed, not refused.
        assert_eq!(single_line_text("Ann\n", 20).unwrap(), "Ann");
        assert!(single_line_text(" ", 20).is_err());
    }
}
