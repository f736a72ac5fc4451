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

use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota};
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
    /// The pace of sends (`email_rate_per_second`), when limited.
    pace: Option<Pace>,
}

/// The fallback's pace: a quota, and a queue for the senders waiting on it.
struct Pace {
    per_second: NonZeroU32,
    quota: DefaultDirectRateLimiter,
    turn: tokio::sync::Mutex<()>,
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
            pace: NonZeroU32::new(config.email_rate_per_second).map(|rate| {
                // A tenth of a second's emails at once at most: a drain
                // starts at its pace instead of with a second's worth.
                let burst = NonZeroU32::new(rate.get() / 10).unwrap_or(NonZeroU32::MIN);
                Pace {
                    per_second: rate,
                    quota: DefaultDirectRateLimiter::direct(
                        Quota::per_second(rate).allow_burst(burst),
                    ),
                    turn: tokio::sync::Mutex::new(()),
                }
            }),
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
        self.paced().await;
        match transport.send(&email).await {
            Ok(_) => Ok(()),
            Err(err) if err.is_permanent() => Err(SendFailure::Permanent(err.to_string())),
            Err(err) => Err(SendFailure::Transient(err.to_string())),
        }
    }

    /// How many email jobs a round claims, at most `most`: no more than a
    /// minute's worth at the pace, so that a round's last email is sent
    /// long before its claim (five minutes) runs out.
    pub fn round_size(&self, most: u32) -> u32 {
        match &self.pace {
            Some(pace) => most.min(pace.per_second.get().saturating_mul(60)),
            None => most,
        }
    }

    /// Waits for the pace's next free slot, when sends are limited.
    async fn paced(&self) {
        let Some(pace) = &self.pace else { return };
        // One sender at a time waits for the quota, the rest for their
        // turn in arrival order: each slot wakes one task, not every
        // sender in flight at once.
        let _turn = pace.turn.lock().await;
        pace.quota.until_ready().await;
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

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    fn service(rate: u32) -> EmailService {
        EmailService::from_config(&Config {
            email_rate_per_second: rate,
            ..Config::default()
        })
        .expect("the default configuration builds")
    }

    #[tokio::test]
    async fn sends_keep_the_configured_pace_after_a_tenth_of_a_second_at_once() {
        // 50 a second: 5 at once, then one each 20 ms.
        let email = service(50);
        let pace = email.pace.as_ref().expect("a pace");
        let started = Instant::now();
        for n in 0..5 {
            assert!(
                pace.quota.check().is_ok(),
                "send {n} of the burst had to wait"
            );
        }
        // Ten senders at once, as the fallback's concurrent jobs wait.
        futures::future::join_all((0..10).map(|_| email.paced())).await;
        // Ten more slots, 20 ms apart; less the clock's rounding.
        assert!(
            started.elapsed() >= Duration::from_millis(180),
            "15 sends at 50 a second took {:?}",
            started.elapsed()
        );
    }

    #[test]
    fn no_pace_when_the_rate_is_zero() {
        assert!(service(0).pace.is_none());
        assert_eq!(service(0).round_size(256), 256);
    }

    #[test]
    fn a_slow_pace_claims_a_minute_of_emails_a_round() {
        assert_eq!(service(1).round_size(256), 60);
        assert_eq!(service(3).round_size(256), 180);
        assert_eq!(service(1200).round_size(256), 256);
    }
}
