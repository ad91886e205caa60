//! Accepted tokens, remembered by their SHA-256 until a deadline, so a client that sends the same
//! token on every request pays for its signature (or introspection) once.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use super::Principal;

/// Most remembered tokens. Beyond it expired entries are dropped, and if that is not enough the
/// cache starts over, so a flood of distinct tokens cannot grow memory without bound.
const MAX_ENTRIES: usize = 10_000;

/// SHA-256 of a token: the cache never holds tokens themselves.
pub(crate) type TokenHash = [u8; 32];

/// Remembered principals keyed by token hash, each with the instant it stops being valid.
#[derive(Default)]
pub(crate) struct TokenCache {
    map: RwLock<HashMap<TokenHash, (Principal, Instant)>>,
}

impl TokenCache {
    pub(crate) fn hash(token: &str) -> TokenHash {
        Sha256::digest(token.as_bytes()).into()
    }

    /// The remembered principal, if its deadline has not passed.
    pub(crate) fn get(&self, key: &TokenHash) -> Option<Principal> {
        let map = self.map.read().unwrap_or_else(|p| p.into_inner());
        match map.get(key) {
            Some((p, until)) if *until > Instant::now() => Some(p.clone()),
            _ => None,
        }
    }

    /// Remembers `p` for at most `ttl`, and never past the token's `exp` (unix seconds).
    pub(crate) fn insert(&self, key: TokenHash, p: &Principal, ttl: Duration, exp: Option<u64>) {
        let ttl = match exp {
            Some(exp) => ttl.min(Duration::from_secs(exp.saturating_sub(unix_now()))),
            None => ttl,
        };
        if ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, (_, until)| *until > now);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(key, (p.clone(), now + ttl));
    }
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal() -> Principal {
        Principal {
            subject: "u".into(),
            client_id: None,
            scopes: vec![],
            claims: serde_json::Value::Null,
        }
    }

    #[test]
    fn entry_never_outlives_the_token_exp() {
        let c = TokenCache::default();
        let k = TokenCache::hash("t");
        c.insert(k, &principal(), Duration::from_secs(60), Some(unix_now()));
        assert_eq!(c.get(&k), None);
        c.insert(
            k,
            &principal(),
            Duration::from_secs(60),
            Some(unix_now() + 30),
        );
        assert_eq!(c.get(&k), Some(principal()));
    }

    #[test]
    fn zero_ttl_disables_the_cache() {
        let c = TokenCache::default();
        let k = TokenCache::hash("t");
        c.insert(k, &principal(), Duration::ZERO, None);
        assert_eq!(c.get(&k), None);
    }
}
