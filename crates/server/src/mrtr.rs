//! Integrity-protected `requestState` for 2026-07-28 multi round-trip requests.
//!
//! The state is `base64url(json) "." base64url(HMAC-SHA256(key, json))`. It binds the answers
//! gathered so far to the method, the target (tool, prompt or resource) and a digest of the
//! arguments, and expires, so a client can neither forge answers nor replay them elsewhere.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// How long a `requestState` stays valid. Long enough for a person to answer a form.
pub const REQUEST_STATE_TTL_SECS: u64 = 15 * 60;

/// Largest `requestState` accepted, so a client cannot make the server MAC megabytes.
pub const MAX_REQUEST_STATE_BYTES: usize = 256 * 1024;

/// Why a `requestState` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// Not of the `payload.mac` form, or not decodable.
    #[error("requestState is malformed")]
    Malformed,
    /// The MAC does not verify: the state was altered or minted elsewhere.
    #[error("requestState failed its integrity check")]
    BadMac,
    /// Past its lifetime.
    #[error("requestState has expired")]
    Expired,
    /// Minted for another method, target or arguments.
    #[error("requestState belongs to a different request")]
    WrongRequest,
    /// Too large.
    #[error("requestState is larger than {MAX_REQUEST_STATE_BYTES} bytes")]
    TooLarge,
}

#[derive(Serialize, Deserialize)]
struct Payload {
    m: String,
    t: String,
    a: String,
    exp: u64,
    r: Map<String, Value>,
}

/// Seals and opens `requestState` values with one server secret.
#[derive(Clone)]
pub struct StateSealer {
    key: [u8; 32],
}

impl std::fmt::Debug for StateSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateSealer { key: <redacted> }")
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Digest of the request arguments a state is bound to.
pub fn args_digest(args: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(args.as_bytes()))
}

impl StateSealer {
    /// A sealer with a given 32-byte key (share it across replicas).
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// A sealer with a fresh random key.
    pub fn random() -> Self {
        Self {
            key: rand::random(),
        }
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        <HmacSha256 as Mac>::new_from_slice(&self.key).expect("HMAC takes any key length")
    }

    /// Seals the answers gathered so far for `method` on `target` with arguments digest `args`.
    pub fn seal(
        &self,
        method: &str,
        target: &str,
        args: &str,
        answers: Map<String, Value>,
    ) -> String {
        let p = Payload {
            m: method.to_owned(),
            t: target.to_owned(),
            a: args.to_owned(),
            exp: now() + REQUEST_STATE_TTL_SECS,
            r: answers,
        };
        let json = serde_json::to_vec(&p).unwrap_or_default();
        let mut mac = self.mac();
        mac.update(&json);
        let tag = mac.finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&json),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// Opens a state, checking integrity, expiry and that it belongs to this request.
    pub fn open(
        &self,
        state: &str,
        method: &str,
        target: &str,
        args: &str,
    ) -> Result<Map<String, Value>, StateError> {
        if state.len() > MAX_REQUEST_STATE_BYTES {
            return Err(StateError::TooLarge);
        }
        let (body, tag) = state.split_once('.').ok_or(StateError::Malformed)?;
        let json = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| StateError::Malformed)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| StateError::Malformed)?;
        let mut mac = self.mac();
        mac.update(&json);
        mac.verify_slice(&tag).map_err(|_| StateError::BadMac)?;
        let p: Payload = serde_json::from_slice(&json).map_err(|_| StateError::Malformed)?;
        if p.exp < now() {
            return Err(StateError::Expired);
        }
        if p.m != method || p.t != target || p.a != args {
            return Err(StateError::WrongRequest);
        }
        Ok(p.r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers() -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("k".into(), serde_json::json!({"action":"accept"}));
        m
    }

    #[test]
    fn sealed_state_opens_for_the_same_request() {
        let s = StateSealer::random();
        let st = s.seal("tools/call", "t", "d", answers());
        assert_eq!(s.open(&st, "tools/call", "t", "d").unwrap(), answers());
    }

    #[test]
    fn tampered_state_is_refused() {
        let s = StateSealer::random();
        let st = s.seal("tools/call", "t", "d", answers());
        let (body, tag) = st.split_once('.').unwrap();
        let mut json = URL_SAFE_NO_PAD.decode(body).unwrap();
        let i = json.iter().position(|&b| b == b'a').unwrap();
        json[i] = b'b';
        let forged = format!("{}.{}", URL_SAFE_NO_PAD.encode(json), tag);
        assert_eq!(
            s.open(&forged, "tools/call", "t", "d"),
            Err(StateError::BadMac)
        );
        assert_eq!(
            s.open("garbage", "tools/call", "t", "d"),
            Err(StateError::Malformed)
        );
    }

    #[test]
    fn state_from_another_key_or_request_is_refused() {
        let a = StateSealer::random();
        let b = StateSealer::random();
        let st = a.seal("tools/call", "t", "d", answers());
        assert_eq!(b.open(&st, "tools/call", "t", "d"), Err(StateError::BadMac));
        assert_eq!(
            a.open(&st, "tools/call", "other", "d"),
            Err(StateError::WrongRequest)
        );
        assert_eq!(
            a.open(&st, "tools/call", "t", "changed-args"),
            Err(StateError::WrongRequest)
        );
    }
}
