//! The fallback email: the unread messages of one conversation with their
//! authors, a few earlier messages for context, rendered from the same
//! Markdown the widget shows, in HTML and plain text, with headers that
//! thread it in mail clients and let the contact reply or unsubscribe.

use std::sync::LazyLock;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{MultiPart, SinglePart};
use minijinja::{Environment, Value, context};
use pulldown_cmark::{CowStr, Event, Options, Parser, Tag};
use rapport_core::Timestamp;
use rapport_core::model::agent::Agent;
use rapport_core::model::contact::Contact;
use rapport_core::model::conversation::{Author, Message, PartKind};
use rapport_core::model::email::{attachment_token, reply_token, unsubscribe_token};
use rapport_core::model::ids::{ConversationId, MessageId};
use rapport_core::model::validation::breaks_a_line;
use rapport_core::model::workspace::Workspace;

use super::{EmailService, mailbox};

/// Earlier messages shown above the unread ones.
const CONTEXT_MESSAGES: usize = 3;

/// What one fallback email is made from.
pub struct EmailContent<'a> {
    pub workspace: &'a Workspace,
    pub contact: &'a Contact,
    pub conversation_id: ConversationId,
    /// The conversation's parts, oldest first.
    pub parts: &'a [Message],
    /// The messages this email carries.
    pub unread: &'a [MessageId],
    pub agents: &'a [Agent],
}

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("the contact has no email address")]
    NoAddress,
    #[error("{0} is not a usable address: {1}")]
    Address(String, String),
    #[error("no message to email")]
    Empty,
    #[error("the email could not be built: {0}")]
    Build(String),
}

/// Builds the email, addressed and threaded.
pub fn compose(
    service: &EmailService,
    c: &EmailContent<'_>,
) -> Result<lettre::Message, ComposeError> {
    let to_address = c.contact.email.as_ref().ok_or(ComposeError::NoAddress)?;
    // An address a visitor typed is a claim: it may be someone else's, so
    // the business's mail server must not carry the visitor's own words
    // (their messages, their name) to it. Only the team's messages go.
    let vouched = c.contact.email_verified;
    let comments: Vec<&Message> = c
        .parts
        .iter()
        .filter(|m| m.kind == PartKind::Comment)
        .filter(|m| vouched || !matches!(m.author, Author::Contact(_)))
        .collect();
    let contact_name = c
        .contact
        .name
        .as_deref()
        .filter(|_| vouched)
        .map(header_text);
    let first = comments
        .iter()
        .position(|m| c.unread.contains(&m.id))
        .ok_or(ComposeError::Empty)?;
    let shown = &comments[first.saturating_sub(CONTEXT_MESSAGES)..];
    let items: Vec<Value> = shown
        .iter()
        .map(|m| item(m, c, c.unread.contains(&m.id), &service.public_url))
        .collect();
    let unread_count = shown.iter().filter(|m| c.unread.contains(&m.id)).count();
    let sender = comments
        .iter()
        .rev()
        .find(|m| c.unread.contains(&m.id))
        .map_or_else(|| c.workspace.name.clone(), |m| author_name(m, c));

    let workspace_name = header_text(&c.workspace.name);
    let subject = if unread_count == 1 {
        format!("New message from {workspace_name}")
    } else {
        format!("{unread_count} new messages from {workspace_name}")
    };
    let unsubscribe_url = format!(
        "{}/email/unsubscribe/{}/{}",
        service.public_url,
        c.workspace.id,
        unsubscribe_token(&c.workspace.identity_secret, c.contact.id)
    );
    let reply_to = format!(
        "reply+{}@{}",
        reply_token(&c.workspace.identity_secret, c.conversation_id),
        service.reply_domain
    );
    let from_address = service.sender_address(c.workspace);
    let from_name = if sender == c.workspace.name {
        workspace_name.clone()
    } else {
        format!("{} from {workspace_name}", header_text(&sender))
    };

    let vars = context! {
        workspace => &c.workspace.name,
        contact_name => contact_name.as_deref().unwrap_or(""),
        items => items,
        unread_count => unread_count,
        unsubscribe_url => &unsubscribe_url,
    };
    let render = |name: &str| {
        TEMPLATES
            .get_template(name)
            .and_then(|t| t.render(&vars))
            .map_err(|e| ComposeError::Build(e.to_string()))
    };
    let html = render("email.html")?;
    let text = render("email.txt")?;

    let mailbox = |name: Option<String>, address: &str| {
        mailbox(name, address).map_err(|e| ComposeError::Address(address.to_owned(), e.to_string()))
    };
    // The first carried message names the email, so a resend after a crash
    // has the same Message-ID and clients collapse the two.
    let message_id = format!("<message-{}@{}>", c.unread[0], service.reply_domain);
    let thread = format!(
        "<conversation-{}@{}>",
        c.conversation_id, service.reply_domain
    );
    lettre::Message::builder()
        .from(mailbox(Some(from_name), &from_address)?)
        .reply_to(mailbox(Some(workspace_name), &reply_to)?)
        .to(mailbox(contact_name.clone(), to_address.as_str())?)
        .subject(subject)
        .message_id(Some(message_id))
        .in_reply_to(thread.clone())
        .references(thread)
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe"),
            format!("<{unsubscribe_url}>"),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click".into(),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".into(),
        ))
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(text),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(html),
                ),
        )
        .map_err(|e| ComposeError::Build(e.to_string()))
}

/// Text for a header (a display name, the subject). Names are refused with
/// line breaks or control characters at input, but older rows may hold
/// them, and in a header a line break would start a header of the
/// sender's choosing (lettre panics on some): each run of them is one
/// space here.
fn header_text(text: &str) -> String {
    text.split(breaks_a_line)
        .filter(|part| !part.trim().is_empty())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
}

fn author_name(m: &Message, c: &EmailContent<'_>) -> String {
    match m.author {
        Author::Agent(id) => c
            .agents
            .iter()
            .find(|a| a.id == id)
            .map_or_else(|| c.workspace.name.clone(), |a| a.name.clone()),
        Author::Bot => format!("{} bot", c.workspace.name),
        Author::Contact(_) => c.contact.name.clone().unwrap_or_else(|| "You".into()),
    }
}

/// Up to two capital letters for an email's avatar: "Grace Hopper" is "GH".
/// (The Inbox and the messenger make theirs in web/shared/avatar.js; an
/// email runs no script, so it gets them from here.)
fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .flat_map(char::to_uppercase)
        .collect()
}

/// One message as the templates show it; its HTML is already safe.
fn item(m: &Message, c: &EmailContent<'_>, unread: bool, public_url: &str) -> Value {
    let author = author_name(m, c);
    // Files as links (never attached): each signed for this email's reader.
    let files: Vec<Value> = m
        .attachments
        .iter()
        .map(|file| {
            context! {
                name => &file.name,
                size => human_size(file.size),
                url => format!(
                    "{public_url}/files/{}/{}/{}",
                    c.workspace.id,
                    file.id,
                    attachment_token(&c.workspace.identity_secret, file.id)
                ),
            }
        })
        .collect();
    context! {
        files => files,
        initials => initials(&author),
        color => avatar_color(&author),
        html => Value::from_safe_string(markdown_html(&m.body)),
        text => &m.body,
        time => format_time(m.created_at),
        unread => unread,
        author => author,
    }
}

/// A file's size as people read it: "512 bytes", "12 KB", "1.5 MB".
fn human_size(bytes: u64) -> String {
    match bytes {
        0..1024 => format!("{bytes} bytes"),
        1024..1_048_576 => format!("{} KB", bytes.div_ceil(1024)),
        _ => format!("{:.1} MB", bytes as f64 / 1_048_576.0),
    }
}

/// A stable colour per name, as the Inbox's avatars.
fn avatar_color(name: &str) -> &'static str {
    const COLORS: [&str; 6] = [
        "#4f46e5", "#0891b2", "#059669", "#d97706", "#db2777", "#7c3aed",
    ];
    let sum: usize = name.bytes().map(usize::from).sum();
    COLORS[sum % COLORS.len()]
}

fn format_time(at: Timestamp) -> String {
    let format = time::macros::format_description!(
        "[day padding:none] [month repr:short] [year], [hour]:[minute] UTC"
    );
    at.to_offset_datetime()
        .format(&format)
        .unwrap_or_else(|_| at.to_string())
}

/// Markdown to HTML the way the widget shows it: raw HTML is shown as
/// text, and only web and mail links are kept.
pub fn markdown_html(text: &str) -> String {
    let safe = |url: &str| {
        let lower = url.trim().to_ascii_lowercase();
        lower.starts_with("https://")
            || lower.starts_with("http://")
            || lower.starts_with("mailto:")
    };
    let events = Parser::new_ext(text, Options::ENABLE_STRIKETHROUGH).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        // Images become links too: remote images in mail track the reader.
        Event::Start(
            Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }
            | Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            },
        ) => Event::Start(Tag::Link {
            link_type,
            dest_url: if safe(&dest_url) {
                dest_url
            } else {
                CowStr::Borrowed("")
            },
            title,
            id,
        }),
        Event::End(pulldown_cmark::TagEnd::Image) => Event::End(pulldown_cmark::TagEnd::Link),
        other => other,
    });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

/// The email's templates, parsed once.
static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // `.html` templates escape what they print; `.txt` ones do not.
    env.add_template("email.html", HTML)
        .expect("the email template parses");
    env.add_template("email.txt", TEXT)
        .expect("the email template parses");
    env
});

const HTML: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{ workspace }}</title></head>
<body style="margin:0;padding:24px;background:#f4f4f7;font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;color:#1f2430">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:560px;margin:0 auto;background:#ffffff;border-radius:10px">
<tr><td style="padding:20px 24px 4px;font-size:14px;color:#5b6270">
{% if contact_name %}Hi {{ contact_name }}, y{% else %}Y{% endif %}ou have {% if unread_count == 1 %}a new message{% else %}{{ unread_count }} new messages{% endif %} from {{ workspace }}.
</td></tr>
{% for item in items %}
<tr><td style="padding:12px 24px;{% if not item.unread %}opacity:0.6;{% endif %}">
<table role="presentation" cellpadding="0" cellspacing="0"><tr>
<td valign="top" style="padding-right:12px"><div style="width:32px;height:32px;border-radius:16px;background:{{ item.color }};color:#fff;font-size:13px;line-height:32px;text-align:center;font-weight:600">{{ item.initials }}</div></td>
<td valign="top" style="font-size:15px;line-height:1.5">
<div style="font-size:13px;color:#5b6270"><strong style="color:#1f2430">{{ item.author }}</strong> &middot; {{ item.time }}</div>
{{ item.html }}
{% for file in item.files %}<div style="font-size:14px;margin-top:4px">&#128206; <a href="{{ file.url }}" style="color:#4f46e5">{{ file.name }}</a> <span style="color:#5b6270">({{ file.size }})</span></div>
{% endfor %}</td></tr></table>
</td></tr>
{% endfor %}
<tr><td style="padding:16px 24px 24px;font-size:13px;color:#5b6270;border-top:1px solid #ececf1">
Reply to this email to answer in the chat.<br>
<a href="{{ unsubscribe_url }}" style="color:#5b6270">Stop emailing me chat messages</a>
</td></tr>
</table>
</body></html>
"#;

const TEXT: &str = r#"{% if contact_name %}Hi {{ contact_name }}, y{% else %}Y{% endif %}ou have {% if unread_count == 1 %}a new message{% else %}{{ unread_count }} new messages{% endif %} from {{ workspace }}.
{% for item in items %}
{{ item.author }} ({{ item.time }}){% if not item.unread %} [earlier]{% endif %}:
{{ item.text }}
{% for file in item.files %}[file] {{ file.name }} ({{ file.size }}): {{ file.url }}
{% endfor %}{% endfor %}
--
Reply to this email to answer in the chat.
Stop emailing me chat messages: {{ unsubscribe_url }}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_keeps_formatting_and_drops_what_is_unsafe() {
        let html = markdown_html(
            "**Hi** <script>x</script> [a](javascript:alert(1)) [b](https://ok.example)",
        );
        assert!(html.contains("<strong>Hi</strong>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains(r#"href="https://ok.example""#), "{html}");
    }

    #[test]
    fn header_text_is_one_line() {
        assert_eq!(header_text("Ann\nBcc: all@x.test"), "Ann Bcc: all@x.test");
        assert_eq!(header_text(" Ann\r\n\r\n\tLee\u{2028}"), "Ann Lee");
        assert_eq!(header_text("Zoë Lee"), "Zoë Lee");
    }

    #[test]
    fn initials_take_the_first_letters_of_two_words() {
        assert_eq!(initials("grace brewster hopper"), "GB");
        assert_eq!(initials("Ann"), "A");
    }
}
