//! The identity step: who is the user? A trait, so an upstream login (OIDC, LDAP, …) can
//! replace the built-in user store, plus that store's administration (`switchyard user
//! add|remove|list` calls these functions).

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::Argon2;
use async_trait::async_trait;
use rand::RngCore as _;
use switchyard_store::{AuthStore, UserRecord};

use super::error::{err, ErrorCode, ServerError};
use super::unix_now;

/// Longest accepted user name, in bytes.
pub const MAX_USERNAME_LEN: usize = 128;
/// Longest accepted password, in bytes: bounds argon2 work per attempt.
pub const MAX_PASSWORD_LEN: usize = 1024;

/// How the browser signs in for a pending authorization request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoginStep {
    /// Show this server's user-name/password form ([`IdentityProvider::authenticate`]).
    Form,
    /// Send the browser to an upstream identity provider (an OIDC authorization request, for
    /// instance); it comes back to the `callback` URL given to [`IdentityProvider::begin`],
    /// where [`IdentityProvider::complete`] finishes the sign-in.
    Redirect(String),
}

/// The identity step: who is the user?
///
/// The built-in [`StoreIdentityProvider`] checks a user name and password. An upstream login
/// (OIDC and the like) overrides [`begin`](Self::begin) to redirect and
/// [`complete`](Self::complete) to read the upstream's answer at `{issuer}/login/callback`.
/// Password checks must take comparable time for unknown users and wrong passwords.
#[async_trait]
pub trait IdentityProvider: Send + Sync + 'static {
    /// The user's stable identifier if `username`/`password` are valid, `None` if not.
    async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<String>, ServerError>;

    /// How to sign in for the pending request `pending` (an opaque handle). `callback` is this
    /// server's `{issuer}/login/callback`. The default shows the password form.
    fn begin(&self, pending: &str, callback: &str) -> LoginStep {
        let _ = (pending, callback);
        LoginStep::Form
    }

    /// Handles the upstream's redirect to the callback: returns the user and the pending
    /// handle passed to [`begin`](Self::begin), or `None` if the sign-in failed. The provider
    /// must verify that the response belongs to a request it started (its own `state`, PKCE).
    async fn complete(
        &self,
        query: &std::collections::HashMap<String, String>,
    ) -> Result<Option<(String, String)>, ServerError> {
        let _ = query;
        Ok(None)
    }
}

/// The built-in provider: users in the [`AuthStore`], passwords hashed with argon2id.
#[derive(Clone)]
pub struct StoreIdentityProvider {
    store: Arc<dyn AuthStore>,
}

impl StoreIdentityProvider {
    /// A provider over `store`.
    pub fn new(store: Arc<dyn AuthStore>) -> Self {
        Self { store }
    }
}

impl std::fmt::Debug for StoreIdentityProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreIdentityProvider")
    }
}

/// A valid argon2id hash of a random password, verified against when the user does not exist
/// so both failure paths cost one argon2 run.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c3dpdGNoeWFyZGR1bW15$0B5tPhYBTPXKBhAv1cJrb8kRZ+2tk1SyNsX8WHbJrjs";

#[async_trait]
impl IdentityProvider for StoreIdentityProvider {
    async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<String>, ServerError> {
        if username.len() > MAX_USERNAME_LEN || password.len() > MAX_PASSWORD_LEN {
            return Ok(None);
        }
        let user = self.store.user(username).await?;
        let (hash, known) = match &user {
            Some(u) => (u.password_hash.clone(), true),
            None => (DUMMY_HASH.to_owned(), false),
        };
        let password = password.to_owned();
        let ok = tokio::task::spawn_blocking(move || verify_password(&hash, &password))
            .await
            .map_err(|e| ServerError::Password(e.to_string()))?;
        Ok((ok && known).then(|| username.to_owned()))
    }
}

/// Hashes a password with argon2id (default parameters: 19 MiB, 2 passes) and a random salt.
pub fn hash_password(password: &str) -> Result<String, ServerError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| ServerError::Password(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServerError::Password(e.to_string()))
}

/// Verifies a password against a PHC string; malformed hashes never verify.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

fn valid_username(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_USERNAME_LEN
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+'))
}

/// Adds (or replaces the password of) a user in the built-in store.
pub async fn add_user(
    store: &dyn AuthStore,
    username: &str,
    password: &str,
) -> Result<(), ServerError> {
    if !valid_username(username) {
        return Err(err(
            ErrorCode::InvalidRequest,
            "user names are 1-128 letters, digits or . _ - @ +",
        ));
    }
    if password.len() < 8 || password.len() > MAX_PASSWORD_LEN {
        return Err(err(ErrorCode::InvalidRequest, "passwords are 8-1024 bytes"));
    }
    let pw = password.to_owned();
    let password_hash = tokio::task::spawn_blocking(move || hash_password(&pw))
        .await
        .map_err(|e| ServerError::Password(e.to_string()))??;
    store
        .put_user(&UserRecord {
            username: username.to_owned(),
            password_hash,
            created_at: unix_now(),
        })
        .await?;
    Ok(())
}

/// Removes a user and their remembered consents; `true` if they existed.
pub async fn remove_user(store: &dyn AuthStore, username: &str) -> Result<bool, ServerError> {
    Ok(store.delete_user(username).await?)
}

/// All user names, sorted.
pub async fn list_users(store: &dyn AuthStore) -> Result<Vec<String>, ServerError> {
    Ok(store.list_users().await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let h = hash_password("correct horse").unwrap_or_default();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password(&h, "correct horse"));
        assert!(!verify_password(&h, "correct horsE"));
        assert!(!verify_password("not a hash", "x"));
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn usernames_are_restricted() {
        assert!(valid_username("alice@example.com"));
        assert!(!valid_username(""));
        assert!(!valid_username("a b"));
        assert!(!valid_username("<script>"));
    }
}
