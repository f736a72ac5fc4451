//! API tokens remembered for a few seconds: a script calling the API sends
//! its token with every request, and looking it up is three joined reads.
//!
//! Revoking a token or removing a team member (the only writes that end a
//! token's rights; roles do not change) forgets every remembered token once
//! the write has committed, so a revocation takes effect at once in this
//! process. A look-up that began before such a write is not remembered
//! (the epoch it began in is over), so it cannot bring a revoked token
//! back. Another server process sharing the database learns of a
//! revocation when its entry expires, within [`TokenCache::TTL`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rapport_core::model::agent::Principal;

pub(crate) struct TokenCache {
    entries: Mutex<HashMap<[u8; 32], (Principal, Instant)>>,
    /// Bumped by every forget; a look-up remembers its result only if no
    /// forget happened while it ran.
    epoch: AtomicU64,
}

impl TokenCache {
    /// How long a look-up is remembered.
    pub(crate) const TTL: Duration = Duration::from_secs(5);
    /// The most tokens remembered; past it, the expired ones are dropped,
    /// and if none is, everything is.
    const CAP: usize = 10_000;

    pub(crate) fn new() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            epoch: AtomicU64::new(0),
        }
    }

    /// The principal remembered for `hash`, if still fresh.
    pub(crate) fn get(&self, hash: &[u8; 32]) -> Option<Principal> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(hash)
            .filter(|(_, at)| at.elapsed() < Self::TTL)
            .map(|(principal, _)| principal.clone())
    }

    /// The epoch a look-up begins in: pass it to [`TokenCache::put`].
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Remembers a look-up's result, unless something was forgotten since
    /// `epoch` (the look-up may have read what is no longer true).
    pub(crate) fn put(&self, hash: [u8; 32], principal: Principal, epoch: u64) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if self.epoch.load(Ordering::Acquire) != epoch {
            return;
        }
        if entries.len() >= Self::CAP {
            entries.retain(|_, (_, at)| at.elapsed() < Self::TTL);
            if entries.len() >= Self::CAP {
                entries.clear();
            }
        }
        entries.insert(hash, (principal, Instant::now()));
    }

    /// Forgets every token: call after a write that may end a token's
    /// rights has committed.
    pub(crate) fn forget_all(&self) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        self.epoch.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use rapport_core::model::agent::Role;
    use rapport_core::model::ids::{AgentId, WorkspaceId};

    use super::*;

    fn principal() -> Principal {
        Principal {
            workspace_id: WorkspaceId::generate(),
            agent_id: AgentId::generate(),
            role: Role::Agent,
        }
    }

    #[test]
    fn a_look_up_is_remembered_until_forgotten() {
        let cache = TokenCache::new();
        let who = principal();
        assert_eq!(cache.get(&[1; 32]), None);
        cache.put([1; 32], who.clone(), cache.epoch());
        assert_eq!(cache.get(&[1; 32]), Some(who));
        assert_eq!(cache.get(&[2; 32]), None);
        cache.forget_all();
        assert_eq!(cache.get(&[1; 32]), None);
    }

    #[test]
    fn a_look_up_that_overlapped_a_forget_is_not_remembered() {
        let cache = TokenCache::new();
        let began = cache.epoch();
        cache.forget_all();
        cache.put([1; 32], principal(), began);
        assert_eq!(cache.get(&[1; 32]), None);
        cache.put([1; 32], principal(), cache.epoch());
        assert!(cache.get(&[1; 32]).is_some());
    }

    #[test]
    fn the_cache_stays_under_its_cap() {
        let cache = TokenCache::new();
        for i in 0..(TokenCache::CAP + 10) {
            let mut hash = [0u8; 32];
            hash[..8].copy_from_slice(&(i as u64).to_le_bytes());
            cache.put(hash, principal(), cache.epoch());
        }
        let held = cache.entries.lock().unwrap().len();
        assert!(held <= TokenCache::CAP, "{held} entries");
    }
}
