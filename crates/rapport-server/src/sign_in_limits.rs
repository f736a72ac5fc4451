//! Throttles on signing in (and the first-run setup): attempts per account
//! (the email tried) and per client IP, each a `governor` quota per
//! minute. Over either is a 429 with `Retry-After`. Password hashes are
//! bounded separately (`credentials::PasswordHashing`).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Weak};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::client_addr::rate_key;
use crate::config::Config;

pub struct SignInLimits {
    per_account: Option<DefaultKeyedRateLimiter<String>>,
    per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

impl SignInLimits {
    /// The limits the configuration asks for (0 turns one off).
    pub fn from_config(config: &Config) -> Arc<Self> {
        let quota = |per_minute: u32| NonZeroU32::new(per_minute).map(Quota::per_minute);
        let limits = Arc::new(Self {
            per_account: quota(config.sign_in_attempts_per_minute_per_account)
                .map(DefaultKeyedRateLimiter::keyed),
            per_ip: quota(config.sign_in_attempts_per_minute_per_ip)
                .map(DefaultKeyedRateLimiter::keyed),
        });
        forget_idle_keys(Arc::downgrade(&limits));
        limits
    }

    /// Counts one attempt from the client at `ip` (keyed as every
    /// per-client limit is, `client_addr::rate_key`) on `account`, when one
    /// is named; `Err(wait)` when either is over its limit.
    pub fn check(&self, ip: IpAddr, account: Option<&str>) -> Result<(), Duration> {
        let now = DefaultClock::default().now();
        if let Some(limiter) = &self.per_ip {
            limiter
                .check_key(&rate_key(ip))
                .map_err(|over| over.wait_time_from(now))?;
        }
        if let (Some(limiter), Some(account)) = (&self.per_account, account) {
            limiter
                .check_key(&account.trim().to_lowercase())
                .map_err(|over| over.wait_time_from(now))?;
        }
        Ok(())
    }
}

/// Drops the state of keys that have been quiet, so memory stays bounded
/// however many emails or addresses are tried.
fn forget_idle_keys(limits: Weak<SignInLimits>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            every.tick().await;
            let Some(limits) = limits.upgrade() else {
                return;
            };
            if let Some(l) = &limits.per_account {
                l.retain_recent();
            }
            if let Some(l) = &limits.per_ip {
                l.retain_recent();
            }
        }
    });
}
