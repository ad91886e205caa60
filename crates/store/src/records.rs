//! The rows the store keeps, as plain types.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest as _, Sha256};

/// The SHA-256 of a high-entropy secret (client secret, authorization code, refresh token),
/// base64url without padding. The only form in which such secrets reach the database.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SecretHash(String);

impl SecretHash {
    /// Hashes a secret.
    pub fn of(secret: &str) -> Self {
        Self(URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes())))
    }

    /// Wraps a hash read back from storage.
    pub fn from_stored(hash: String) -> Self {
        Self(hash)
    }

    /// The encoded hash.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Compares with the hash of `secret` in time independent of where they differ.
    pub fn matches(&self, secret: &str) -> bool {
        let other = Self::of(secret);
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash(<redacted>)")
    }
}

/// A registered OAuth client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientRecord {
    /// The `client_id`.
    pub client_id: String,
    /// Hash of the client secret; `None` for public clients.
    pub secret_hash: Option<SecretHash>,
    /// Human-readable name shown on the consent page.
    pub client_name: String,
    /// Registered redirect URIs, matched exactly (loopback ports aside).
    pub redirect_uris: Vec<String>,
    /// Grant types the client may use.
    pub grant_types: Vec<String>,
    /// Space-separated scopes the client may request; `None` means any supported scope.
    pub scope: Option<String>,
    /// `none`, `client_secret_basic` or `client_secret_post`.
    pub token_endpoint_auth_method: String,
    /// How the client came to exist: `dynamic` (RFC 7591) or `static` (configuration).
    pub origin: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// An authorization code awaiting redemption. Stored under the hash of the code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeRecord {
    /// Hash of the code.
    pub code_hash: SecretHash,
    /// The client it was issued to.
    pub client_id: String,
    /// The user who approved it.
    pub user_id: String,
    /// The redirect URI used in the authorization request.
    pub redirect_uri: String,
    /// The PKCE S256 challenge.
    pub code_challenge: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// The RFC 8707 resource (token audience).
    pub resource: String,
    /// Unix seconds after which the code is void.
    pub expires_at: i64,
    /// The refresh family issued when the code was redeemed (revoked on replay).
    pub issued_family: Option<String>,
}

/// What happened when a code was presented.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodeRedemption {
    /// First use: the code is now spent.
    Fresh(CodeRecord),
    /// The code had been redeemed before: a replay.
    Replayed(CodeRecord),
    /// No such code.
    Unknown,
}

/// A refresh token. Stored under the hash of the token; tokens rotated from one another share
/// a family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshRecord {
    /// Hash of the token.
    pub token_hash: SecretHash,
    /// The rotation family.
    pub family_id: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The user it acts for.
    pub user_id: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// The audience of the access tokens it yields.
    pub resource: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// What happened when a refresh token was presented for rotation.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefreshUse {
    /// First use: the token is now spent and may be replaced.
    Fresh(RefreshRecord),
    /// Already used once: reuse (the caller revokes the family).
    Reused(RefreshRecord),
    /// Its family was revoked.
    Revoked(RefreshRecord),
    /// No such token.
    Unknown,
}

/// A user of the built-in identity provider.
#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Login name, unique.
    pub username: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Unix seconds.
    pub created_at: i64,
}

impl fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserRecord")
            .field("username", &self.username)
            .field("password_hash", &"<redacted>")
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// A JWT signing key.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    /// Key ID (`kid`).
    pub kid: String,
    /// Algorithm, e.g. `ES256`.
    pub alg: String,
    /// PKCS#8 DER of the private key, base64.
    pub private_pkcs8: String,
    /// The public JWK, JSON.
    pub public_jwk: String,
    /// Unix seconds.
    pub created_at: i64,
    /// When it stopped signing; it stays published for verification until removed.
    pub retired_at: Option<i64>,
}

impl fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyRecord")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("private_pkcs8", &"<redacted>")
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_hash_matches_only_its_secret_and_hides_in_debug() {
        let h = SecretHash::of("s3cret");
        assert!(h.matches("s3cret"));
        assert!(!h.matches("s3creT"));
        assert_eq!(h.as_str().len(), 43);
        assert!(!format!("{h:?}").contains(h.as_str()));
    }
}
