//! The storage trait the authorization server is written against.

use async_trait::async_trait;

use crate::error::StoreError;
use crate::records::{
    ClientRecord, CodeRecord, CodeRedemption, RefreshRecord, RefreshUse, SecretHash,
    SigningKeyRecord, UserRecord,
};

/// Every persistent operation of the authorization server. Implementations must make the
/// "spend once" operations ([`take_code`](Self::take_code), [`use_refresh`](Self::use_refresh))
/// atomic: of two concurrent callers exactly one sees the fresh record.
#[async_trait]
pub trait AuthStore: Send + Sync + 'static {
    // --- clients
    /// Inserts or replaces a client.
    async fn put_client(&self, client: &ClientRecord) -> Result<(), StoreError>;
    /// Looks a client up.
    async fn client(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError>;
    /// Deletes a client; `true` if it existed.
    async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError>;

    // --- authorization codes
    /// Stores a fresh code.
    async fn put_code(&self, code: &CodeRecord) -> Result<(), StoreError>;
    /// Spends a code: the first call returns [`CodeRedemption::Fresh`], later ones `Replayed`.
    async fn take_code(
        &self,
        code_hash: &SecretHash,
        now: i64,
    ) -> Result<CodeRedemption, StoreError>;
    /// Records which refresh family a redeemed code produced.
    async fn set_code_family(
        &self,
        code_hash: &SecretHash,
        family_id: &str,
    ) -> Result<(), StoreError>;

    // --- refresh tokens and families
    /// Stores a refresh token (creating its family if new).
    async fn put_refresh(&self, token: &RefreshRecord, now: i64) -> Result<(), StoreError>;
    /// Spends a refresh token for rotation.
    async fn use_refresh(
        &self,
        token_hash: &SecretHash,
        now: i64,
    ) -> Result<RefreshUse, StoreError>;
    /// Reads a refresh token without spending it: the record, whether it was used, and whether
    /// its family is revoked.
    async fn refresh(
        &self,
        token_hash: &SecretHash,
    ) -> Result<Option<(RefreshRecord, bool, bool)>, StoreError>;
    /// Revokes a whole family: its refresh tokens and the access tokens issued from it.
    async fn revoke_family(&self, family_id: &str, now: i64) -> Result<(), StoreError>;

    // --- access tokens (JWTs are self-contained; the store tracks revocation)
    /// Records an issued access token by `jti`.
    async fn record_access_token(
        &self,
        jti: &str,
        family_id: Option<&str>,
        client_id: &str,
        expires_at: i64,
    ) -> Result<(), StoreError>;
    /// Revokes one access token.
    async fn revoke_access_token(&self, jti: &str, now: i64) -> Result<(), StoreError>;
    /// Whether an access token was revoked, directly or through its family. Unknown `jti`s
    /// count as revoked.
    async fn access_token_revoked(&self, jti: &str) -> Result<bool, StoreError>;

    // --- users
    /// Inserts or replaces a user.
    async fn put_user(&self, user: &UserRecord) -> Result<(), StoreError>;
    /// Looks a user up by name.
    async fn user(&self, username: &str) -> Result<Option<UserRecord>, StoreError>;
    /// Deletes a user and their consents; `true` if they existed.
    async fn delete_user(&self, username: &str) -> Result<bool, StoreError>;
    /// All user names, sorted.
    async fn list_users(&self) -> Result<Vec<String>, StoreError>;

    // --- consents
    /// Remembers that `username` approved `client_id` for `scope` (space-separated).
    async fn put_consent(
        &self,
        username: &str,
        client_id: &str,
        scope: &str,
        now: i64,
    ) -> Result<(), StoreError>;
    /// The scopes `username` approved for `client_id`, if any.
    async fn consent(&self, username: &str, client_id: &str) -> Result<Option<String>, StoreError>;

    // --- signing keys
    /// Stores a signing key.
    async fn put_signing_key(&self, key: &SigningKeyRecord) -> Result<(), StoreError>;
    /// All signing keys, newest first.
    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError>;
    /// Marks a key retired (still published, no longer used to sign).
    async fn retire_signing_key(&self, kid: &str, now: i64) -> Result<(), StoreError>;
    /// Deletes a key.
    async fn delete_signing_key(&self, kid: &str) -> Result<(), StoreError>;

    // --- housekeeping
    /// Deletes expired codes, refresh tokens and access-token records; returns rows removed.
    async fn purge_expired(&self, now: i64) -> Result<u64, StoreError>;
}
