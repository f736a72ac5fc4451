//! Email: the fallback that mails unread chat messages to offline contacts
//! (its job runs in `jobs::email`), the email it sends ([`compose`]), and
//! the replies that come back ([`inbound`], received over SMTP by
//! [`listener`]).
//!
//! How a message becomes an email: `send_chat_message` stores a team
//! message with `email_status = 'pending'` and, in the same transaction,
//! one `email_fallback` job per conversation due after the workspace's
//! delay. The job runner claims due jobs, decides (off, read, online, no
//! address), sends one email for the conversation's unread burst and
//! settles the messages and the timeline in one transaction.

pub mod compose;
pub mod inbound;
pub mod listener;
pub mod smtp;

use std::time::Duration;

use lettre::address::AddressError;
use lettre::message::Mailbox;
use rapport_core::model::workspace::Workspace;

use crate::config::Config;

/// What sending mail needs: the SMTP connection (when configured) and the
/// addresses and links the emails carry.
pub struct EmailService {
    transport: Option<smtp::SmtpPool>,
    /// The sender address for workspaces that set none.
    pub default_from: String,
    /// The domain of reply addresses: `reply+<token>@<reply_domain>`.
    pub reply_domain: String,
    /// This server's address as people reach it, for links in emails.
    pub public_url: String,
    /// Email jobs run at the same time.
    pub concurrency: usize,
}

/// Why an email was not sent.
#[derive(Debug, thiserror::Error)]
pub enum SendFailure {
    /// The server refused it for good (a 5xx answer): retrying cannot help.
    #[error("the mail server refused the email: {0}")]
    Permanent(String),
    /// Connection trouble or a 4xx answer: worth trying again later.
    #[error("the mail server could not take the email: {0}")]
    Transient(String),
    #[error("no SMTP server is configured (set RAPPORT_SMTP_URL)")]
    NotConfigured,
}

impl EmailService {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let transport = match &config.smtp_url {
            Some(url) => Some(smtp::SmtpPool::new(
                smtp::SmtpServer::from_url(url.expose())
                    .map_err(|e| anyhow::anyhow!("smtp_url: {e}"))?,
                config.email_concurrency,
                Duration::from_secs(30),
            )),
            None => None,
        };
        let reply_domain = config.email_reply_domain.clone().unwrap_or_else(|| {
            domain_of(&config.email_from)
                .unwrap_or("localhost")
                .to_owned()
        });
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", config.listen))
            .trim_end_matches('/')
            .to_owned();
        Ok(Self {
            transport,
            default_from: config.email_from.clone(),
            reply_domain,
            public_url,
            concurrency: config.email_concurrency.max(1),
        })
    }

    /// The address a workspace's emails come from.
    pub fn sender_address(&self, workspace: &Workspace) -> String {
        workspace
            .email
            .from_address
            .clone()
            .unwrap_or_else(|| self.default_from.clone())
    }

    pub fn is_configured(&self) -> bool {
        self.transport.is_some()
    }

    pub async fn send(&self, email: lettre::Message) -> Result<(), SendFailure> {
        let transport = self.transport.as_ref().ok_or(SendFailure::NotConfigured)?;
        match transport.send(&email).await {
            Ok(_) => Ok(()),
            Err(err) if err.is_permanent() => Err(SendFailure::Permanent(err.to_string())),
            Err(err) => Err(SendFailure::Transient(err.to_string())),
        }
    }
}

/// A named mailbox, or why `address` is not one.
pub fn mailbox(name: Option<String>, address: &str) -> Result<Mailbox, AddressError> {
    address.parse().map(|email| Mailbox::new(name, email))
}

/// The part of an address after `@`.
fn domain_of(address: &str) -> Option<&str> {
    address
        .trim()
        .trim_end_matches('>')
        .rsplit_once('@')
        .map(|(_, domain)| domain)
}
