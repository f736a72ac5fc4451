//! Secrets: API tokens (random, stored as SHA-256), passwords (argon2id,
//! hashed off the async threads), and the workspace's public app id and
//! identity-verification key.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Every API token starts with this, so leaked ones are easy to scan for.
pub const TOKEN_PREFIX: &str = "rpt_";

/// A new API token and the hash that is stored in its place.
pub fn new_api_token() -> (String, [u8; 32]) {
    new_secret(TOKEN_PREFIX)
}

/// A new random secret with a recognisable prefix (`rpt_` API tokens,
/// `rps_` Inbox sessions, `wst_` widget sessions) and its stored hash.
pub fn new_secret(prefix: &str) -> (String, [u8; 32]) {
    let secret = format!(
        "{prefix}{}",
        URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
    );
    let hash = hash_token(&secret);
    (secret, hash)
}

/// Checks `password` against a hash that matches nothing, taking as long
/// as a real check: signing in with an unknown email is not faster.
pub async fn check_against_decoy(password: String) {
    decoy_with(None, password).await;
}

async fn decoy_with(turn: Option<OwnedSemaphorePermit>, password: String) {
    static DECOY: LazyLock<String> = LazyLock::new(|| {
        Argon2::default()
            .hash_password(&rand::random::<[u8; 16]>())
            .map(|hash| hash.to_string())
            .unwrap_or_default()
    });
    let _ = tokio::task::spawn_blocking(move || {
        let _turn = turn;
        if let Ok(hash) = PasswordHash::new(&DECOY) {
            let _ = Argon2::default().verify_password(password.as_bytes(), &hash);
        }
    })
    .await;
}

/// Password hashing for requests, bounded: each argon2 run takes 19 MiB
/// and most of a CPU, so at most `concurrency` run at once, whoever asks.
/// The others queue for up to `wait`, then are told the server is busy,
/// so a flood of sign-ins costs a fixed amount of memory.
pub struct PasswordHashing {
    permits: Arc<Semaphore>,
    wait: Duration,
}

/// Too many password checks are queued: try again later (503).
#[derive(Debug, thiserror::Error)]
#[error("too many password checks are waiting; try again in a few seconds")]
pub struct Busy;

impl PasswordHashing {
    pub fn new(concurrency: usize, wait: Duration) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            wait,
        }
    }

    /// A turn to hash; held by the blocking task, so a request dropped
    /// while its hash runs still counts until the hash ends.
    async fn turn(&self) -> Result<OwnedSemaphorePermit, Busy> {
        tokio::time::timeout(self.wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| Busy)?
            .map_err(|_| Busy)
    }

    pub async fn hash(&self, password: String) -> Result<anyhow::Result<String>, Busy> {
        let turn = self.turn().await?;
        Ok(hash_with(Some(turn), password).await)
    }

    pub async fn verify(&self, password: String, phc: String) -> Result<bool, Busy> {
        let turn = self.turn().await?;
        Ok(verify_with(Some(turn), password, phc).await)
    }

    /// As [`check_against_decoy`], in turn.
    pub async fn check_against_decoy(&self, password: String) -> Result<(), Busy> {
        let turn = self.turn().await?;
        decoy_with(Some(turn), password).await;
        Ok(())
    }
}

/// Tokens carry 256 random bits, so a fast hash is enough to store them.
pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The public id the widget snippet carries: 12 lowercase letters/digits.
pub fn new_app_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    rand::random::<[u8; 12]>()
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

/// The HMAC key for identity verification, as 64 hex digits.
pub fn new_identity_secret() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

pub fn check_password_strength(password: &str) -> Result<(), String> {
    match password.chars().count() {
        0..8 => Err("must be at least 8 characters".into()),
        8..=1024 => Ok(()),
        _ => Err("must be at most 1024 characters".into()),
    }
}

/// An argon2id PHC string for `password`. Unbounded: for the CLI; requests
/// use [`PasswordHashing`].
pub async fn hash_password(password: String) -> anyhow::Result<String> {
    hash_with(None, password).await
}

async fn hash_with(turn: Option<OwnedSemaphorePermit>, password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let _turn = turn;
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|err| anyhow::anyhow!("hashing a password: {err}"))
    })
    .await?
}

/// Whether `password` matches the stored PHC string.
pub async fn verify_password(password: String, phc: String) -> bool {
    verify_with(None, password, phc).await
}

async fn verify_with(turn: Option<OwnedSemaphorePermit>, password: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || {
        let _turn = turn;
        PasswordHash::new(&phc).is_ok_and(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hash_to_what_is_stored() {
        let (a, hash_a) = new_api_token();
        let (b, _) = new_api_token();
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() > 40);
        assert_ne!(a, b);
        assert_eq!(hash_token(&a), hash_a);
    }

    #[test]
    fn app_ids_and_secrets_have_their_shapes() {
        let app = new_app_id();
        assert!(
            app.len() == 12
                && app
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
        assert_eq!(new_identity_secret().len(), 64);
    }

    #[tokio::test]
    async fn passwords_verify_only_against_their_hash() {
        let phc = hash_password("correct horse".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse".into(), phc.clone()).await);
        assert!(!verify_password("wrong horse".into(), phc).await);
        assert!(!verify_password("x".into(), "not a hash".into()).await);
    }

    #[tokio::test]
    async fn hashing_waits_for_a_turn_and_gives_up_when_the_queue_is_long() {
        let hashing = PasswordHashing::new(1, Duration::from_millis(50));
        let held = hashing.turn().await.unwrap();
        assert!(
            hashing
                .verify("x".into(), "not a hash".into())
                .await
                .is_err()
        );
        drop(held);
        assert_eq!(
            hashing.verify("x".into(), "not a hash".into()).await.ok(),
            Some(false)
        );
        let phc = hashing.hash("correct horse".into()).await.unwrap().unwrap();
        assert_eq!(
            hashing.verify("correct horse".into(), phc).await.ok(),
            Some(true)
        );
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(check_password_strength("short").is_err());
        assert!(check_password_strength("long enough").is_ok());
    }
}
