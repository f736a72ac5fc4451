//! The email fallback in the domain's terms: which team messages wait for an
//! email, what the job decides when it comes due, the reply and unsubscribe
//! addresses that carry a signed id, and the text of a reply once the
//! quoted history is gone. Sending and receiving mail is the server's.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

use crate::Timestamp;
use crate::model::contact::Contact;
use crate::model::conversation::{Conversation, Message, PartKind};
use crate::model::ids::{ContactId, ConversationId, MessageId};
use crate::model::job::{Job, NewJob};
use crate::model::workspace::Workspace;

/// Why a message was not emailed. Shown on the timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// The contact read it in the widget first.
    Read,
    /// The contact had the website open.
    Online,
    NoEmailAddress,
    /// Turned off for the workspace, the message, or the contact.
    FallbackOff,
    /// The mail server kept refusing it until the retries ran out.
    Failed,
    /// This server has no SMTP server configured.
    NotConfigured,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Read => "read",
            SkipReason::Online => "online",
            SkipReason::NoEmailAddress => "no_email_address",
            SkipReason::FallbackOff => "fallback_off",
            SkipReason::Failed => "failed",
            SkipReason::NotConfigured => "not_configured",
        }
    }
}

/// What sending a team message arranges for its email, decided when it is
/// stored (the store writes it in the same transaction).
#[derive(Clone, Debug, PartialEq)]
pub enum EmailPlan {
    /// Wait for the conversation's email job (inserted unless one is
    /// already pending for the conversation).
    Schedule(NewJob),
    /// Never emailed; the timeline says why.
    Skip(SkipReason),
}

/// The plan for a stored message: `None` for what is never emailed (notes
/// and the contact's own messages).
pub fn plan(
    message: &Message,
    workspace: &Workspace,
    contact: &Contact,
    requested: bool,
) -> Option<EmailPlan> {
    if message.kind != PartKind::Comment || !message.author.is_team() {
        return None;
    }
    if !requested || !workspace.email.fallback_enabled || contact.unsubscribed_at.is_some() {
        return Some(EmailPlan::Skip(SkipReason::FallbackOff));
    }
    Some(EmailPlan::Schedule(NewJob::new(
        message.workspace_id,
        Job::EmailFallback {
            conversation_id: message.conversation_id,
        },
        Timestamp::from_millis(message.created_at.as_millis() + workspace.email.delay_millis()),
    )))
}

/// What the job does with a conversation's pending messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Email the unread ones; the read ones are settled without an email.
    Send {
        unread: Vec<MessageId>,
        read: Vec<MessageId>,
    },
    Skip(SkipReason),
}

/// What the job knows when it comes due.
pub struct Situation<'a> {
    pub workspace: &'a Workspace,
    pub contact: &'a Contact,
    pub conversation: &'a Conversation,
    /// The conversation's messages still waiting for an email.
    pub pending: &'a [Message],
    /// An open widget, or one closed within the presence grace period.
    pub online: bool,
    /// Whether the server can send mail at all.
    pub configured: bool,
}

/// Decides, in this order: turned off, read, online, no address, no mail
/// server; otherwise send the unread ones.
pub fn decide(s: &Situation<'_>) -> Decision {
    if !s.workspace.email.fallback_enabled || s.contact.unsubscribed_at.is_some() {
        return Decision::Skip(SkipReason::FallbackOff);
    }
    let read_at = s.conversation.contact_read_at;
    let (read, unread): (Vec<&Message>, Vec<&Message>) = s
        .pending
        .iter()
        .partition(|m| read_at.is_some_and(|at| m.created_at <= at));
    if unread.is_empty() {
        return Decision::Skip(SkipReason::Read);
    }
    if s.online {
        return Decision::Skip(SkipReason::Online);
    }
    if s.contact.email.is_none() {
        return Decision::Skip(SkipReason::NoEmailAddress);
    }
    if !s.configured {
        return Decision::Skip(SkipReason::NotConfigured);
    }
    Decision::Send {
        unread: unread.iter().map(|m| m.id).collect(),
        read: read.iter().map(|m| m.id).collect(),
    }
}

// ---- signed addresses --------------------------------------------------------

/// Bytes of HMAC kept in an address: 96 bits cannot be guessed.
const TAG_BYTES: usize = 12;

fn tag(secret: &str, purpose: &str, id: Uuid) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(purpose.as_bytes());
    mac.update(id.as_bytes());
    Some(mac)
}

fn sign(secret: &str, purpose: &str, id: Uuid) -> String {
    let mac = tag(secret, purpose, id).map(|m| m.finalize().into_bytes());
    let bytes = mac.as_ref().map_or(&[][..], |b| &b[..TAG_BYTES]);
    format!("{}.{}", id.simple(), hex::encode(bytes))
}

/// Splits `<uuid>.<tag>` into the id and the tag, unchecked.
fn split_signed(token: &str) -> Option<(Uuid, Vec<u8>)> {
    let (id, tag) = token.split_once('.')?;
    let tag = hex::decode(tag).ok().filter(|t| t.len() == TAG_BYTES)?;
    Some((Uuid::parse_str(id).ok()?, tag))
}

fn verify(secret: &str, purpose: &str, id: Uuid, claimed: &[u8]) -> bool {
    tag(secret, purpose, id).is_some_and(|mac| mac.verify_truncated_left(claimed).is_ok())
}

const REPLY: &str = "rapport-reply:";
const UNSUBSCRIBE: &str = "rapport-unsubscribe:";

/// The token in a conversation's reply address (`reply+<token>@domain`),
/// signed with the workspace's secret.
pub fn reply_token(secret: &str, conversation: ConversationId) -> String {
    sign(secret, REPLY, conversation.as_uuid())
}

/// The conversation a reply address names, before its signature is checked
/// (the signature needs the conversation's workspace secret).
pub fn parse_reply_address(address: &str) -> Option<SignedId<ConversationId>> {
    let local = address.trim().trim_matches(['<', '>']).split('@').next()?;
    let token = local.strip_prefix("reply+")?;
    let (id, tag) = split_signed(token)?;
    Some(SignedId {
        id: ConversationId::from_uuid(id),
        tag,
    })
}

/// The token in a contact's unsubscribe link.
/// The token of an emailed link to an attachment (`/files/...`): who has
/// the email may read the file, nobody can guess another.
pub fn attachment_token(secret: &str, id: crate::model::ids::AttachmentId) -> String {
    sign(secret, "attachment", id.as_uuid())
}

pub fn unsubscribe_token(secret: &str, contact: ContactId) -> String {
    sign(secret, UNSUBSCRIBE, contact.as_uuid())
}

pub fn parse_unsubscribe_token(token: &str) -> Option<SignedId<ContactId>> {
    let (id, tag) = split_signed(token)?;
    Some(SignedId {
        id: ContactId::from_uuid(id),
        tag,
    })
}

/// An id read from an address or link, with the signature that came with it.
#[derive(Clone, Debug)]
pub struct SignedId<T> {
    pub id: T,
    tag: Vec<u8>,
}

impl SignedId<ConversationId> {
    pub fn is_signed_by(&self, secret: &str) -> bool {
        verify(secret, REPLY, self.id.as_uuid(), &self.tag)
    }
}

impl SignedId<ContactId> {
    pub fn is_signed_by(&self, secret: &str) -> bool {
        verify(secret, UNSUBSCRIBE, self.id.as_uuid(), &self.tag)
    }
}

// ---- replies ------------------------------------------------------------------

/// The new text of an emailed reply: what comes before the quoted history
/// ("On ... wrote:", "-----Original Message-----", an Outlook header block,
/// `>` lines) and the signature ("-- ", "Sent from my ...").
pub fn strip_quoted(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let lines: Vec<&str> = text.lines().collect();
    let mut kept: Vec<&str> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim();
        let next = lines.get(i + 1).map_or("", |l| l.trim());
        if starts_history(trimmed, next) || is_signature(line) {
            break;
        }
        if trimmed.starts_with('>') {
            continue;
        }
        kept.push(line.trim_end());
    }
    while kept.last().is_some_and(|l| l.trim().is_empty()) {
        kept.pop();
    }
    while kept.first().is_some_and(|l| l.trim().is_empty()) {
        kept.remove(0);
    }
    kept.join("\n")
}

fn starts_history(line: &str, next: &str) -> bool {
    let attribution = |l: &str| l.ends_with("wrote:") || l.ends_with("a écrit :");
    let on = line.starts_with("On ") || line.starts_with("Le ") || line.starts_with("Am ");
    (on && (attribution(line) || attribution(&format!("{line} {next}"))))
        || (line.starts_with("-----") && line.to_ascii_lowercase().contains("original message"))
        || (line.starts_with("From:") && (next.starts_with("Sent:") || next.starts_with("Date:")))
        || line.starts_with("________________________________")
}

fn is_signature(line: &str) -> bool {
    line == "-- " || line == "--" || {
        let l = line.trim();
        l.starts_with("Sent from my ") || l.starts_with("Get Outlook for ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_addresses_are_signed_per_workspace() {
        let conversation = ConversationId::generate();
        let token = reply_token("secret-a", conversation);
        let address = format!("Reply <reply+{token}@in.example>");
        let parsed = parse_reply_address(address.split('<').nth(1).unwrap()).unwrap();
        assert_eq!(parsed.id, conversation);
        assert!(parsed.is_signed_by("secret-a"));
        assert!(!parsed.is_signed_by("secret-b"));
        // A tag for another conversation does not carry over.
        let other = reply_token("secret-a", ConversationId::generate());
        let forged = format!(
            "reply+{}.{}@in.example",
            conversation.as_uuid().simple(),
            other.split('.').nth(1).unwrap()
        );
        assert!(
            !parse_reply_address(&forged)
                .unwrap()
                .is_signed_by("secret-a")
        );
        assert!(parse_reply_address("support@in.example").is_none());
        assert!(parse_reply_address("reply+nonsense@in.example").is_none());
    }

    #[test]
    fn unsubscribe_tokens_name_the_contact() {
        let contact = ContactId::generate();
        let token = unsubscribe_token("s", contact);
        let parsed = parse_unsubscribe_token(&token).unwrap();
        assert_eq!(parsed.id, contact);
        assert!(parsed.is_signed_by("s"));
        // A reply tag is not an unsubscribe tag for the same id.
        let reply = sign("s", REPLY, contact.as_uuid());
        assert!(!parse_unsubscribe_token(&reply).unwrap().is_signed_by("s"));
    }

    #[test]
    fn quoted_history_and_signatures_are_stripped() {
        let gmail = "Thanks, that fixed it!\r\n\r\nOn Tue, 24 Nov 2026 at 10:02, Ann from Shop <reply+x@in.example>\r\nwrote:\r\n> Try turning it off and on.\r\n";
        assert_eq!(strip_quoted(gmail), "Thanks, that fixed it!");
        let outlook = "Yes please.\n\nFrom: Shop <support@shop.example>\nSent: Tuesday\nSubject: Re\n\nOld text";
        assert_eq!(strip_quoted(outlook), "Yes please.");
        let signed = "Line one\nline two\n-- \nBob\nCEO";
        assert_eq!(strip_quoted(signed), "Line one\nline two");
        let inline = "> quoted\nmy answer\n> more quoted\nsecond answer\n\nSent from my iPhone";
        assert_eq!(strip_quoted(inline), "my answer\nsecond answer");
        let original = "Sure\n-----Original Message-----\nFrom: x";
        assert_eq!(strip_quoted(original), "Sure");
    }
}
